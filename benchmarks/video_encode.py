"""Annotated-video throughput at 720p: drawing poses + H.264 encoding on the writer's thread.

Frames are a panned texture (so the encoder has real work) with --people moving skeletons drawn on
them. Reported: frames/s of the whole AnnotatedVideoWriter (submit of the first frame to close()
returning, i.e. until the file is complete), and its two parts alone: draw_poses, and VideoWriter
without drawing. Settings are the pipeline defaults (crf 23, preset veryfast) unless given.

Usage: python benchmarks/video_encode.py [--frames 600] [--people 6] [--preset veryfast] [--crf 23]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posetrack.keypoints import COCO17  # noqa: E402
from posetrack.types import Poses  # noqa: E402
from posetrack.video import AnnotatedVideoWriter, VideoInfo, VideoWriter, draw_poses  # noqa: E402

WIDTH, HEIGHT, FPS = 1280, 720, 30.0
# A standing person in COCO-17 order, in units of body height, origin at the hips.
TEMPLATE = np.array([
    [0, -0.9], [-0.03, -0.93], [0.03, -0.93], [-0.07, -0.9], [0.07, -0.9], [-0.15, -0.7], [0.15, -0.7],
    [-0.2, -0.45], [0.2, -0.45], [-0.22, -0.2], [0.22, -0.2], [-0.1, -0.15], [0.1, -0.15],
    [-0.11, 0.2], [0.11, 0.2], [-0.12, 0.55], [0.12, 0.55],
], np.float32)  # fmt: skip


def scene(frames: int, people: int):
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (HEIGHT // 8 + 8, WIDTH // 8 + 8, 3), dtype=np.uint8)
    canvas = cv2.resize(small, (small.shape[1] * 8, small.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    images = []
    for i in range(min(frames, 60)):  # a loop of 60 distinct frames, so making them costs little
        dx, dy = (3 * i) % 64, (2 * i) % 64
        images.append(np.ascontiguousarray(canvas[dy : dy + HEIGHT, dx : dx + WIDTH]))
    poses = []
    scores = rng.uniform(0.1, 1.0, (people, 17))  # per person and joint, steady like a real tracker's
    for i in range(frames):
        kps = []
        for p in range(people):
            h = 250 + 40 * (p % 3)
            cx = (150 + p * 190 + 2 * i) % (WIDTH - 100) + 50  # walking right, 2 px per frame
            kp = np.zeros((17, 3), np.float32)
            kp[:, :2] = TEMPLATE * h + (cx, 400) + rng.normal(0, 0.7, (17, 2))  # keypoint jitter
            kp[:, 2] = scores[p]
            kps.append(kp)
        kps = np.stack(kps)
        boxes = np.concatenate([kps[:, :, :2].min(1) - 10, kps[:, :, :2].max(1) + 10], axis=1)
        poses.append(Poses(kps, boxes, np.ones(people), COCO17, np.arange(people)))
    return [images[i % len(images)] for i in range(frames)], poses


def _cpu() -> float:
    """CPU seconds of this process, all threads (x264's included): steadier than wall time on a
    shared machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--people", type=int, default=6)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--crf", type=int, default=23)
    args = parser.parse_args()
    images, poses = scene(args.frames, args.people)
    info = VideoInfo(WIDTH, HEIGHT, FPS)
    result = {"cpu_count": os.cpu_count(), "size": f"{WIDTH}x{HEIGHT}", "frames": args.frames,
              "people": args.people, "preset": args.preset, "crf": args.crf}

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for image, p in zip(images, poses):
            draw_poses(image, p, 0.3)
        result["draw_only_fps"] = round(args.frames / (time.perf_counter() - t0), 1)

        t0, c0 = time.perf_counter(), _cpu()
        with VideoWriter(Path(tmp) / "plain.mp4", WIDTH, HEIGHT, FPS, crf=args.crf, preset=args.preset) as w:
            for i, image in enumerate(images):
                w.write(image, i / FPS)
        result["encode_only_fps"] = round(args.frames / (time.perf_counter() - t0), 1)
        result["encode_only_cpu_ms_per_frame"] = round(1000 * (_cpu() - c0) / args.frames, 1)

        out = Path(tmp) / "annotated.mp4"
        t0, c0 = time.perf_counter(), _cpu()
        submit_seconds = 0.0
        writer = AnnotatedVideoWriter(out, info, threshold=0.3, crf=args.crf, preset=args.preset)
        for i, (image, p) in enumerate(zip(images, poses)):
            s = time.perf_counter()
            writer.submit(image, p, i / FPS)
            submit_seconds += time.perf_counter() - s
        writer.close()
        total = time.perf_counter() - t0
        result["annotated_fps"] = round(args.frames / total, 1)
        result["annotated_seconds"] = round(total, 2)
        result["annotated_cpu_ms_per_frame"] = round(1000 * (_cpu() - c0) / args.frames, 1)
        result["mean_submit_ms"] = round(1000 * submit_seconds / args.frames, 2)
        result["file_mb"] = round(out.stat().st_size / 2**20, 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
