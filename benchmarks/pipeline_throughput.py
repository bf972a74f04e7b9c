"""Throughput of the whole `posetrack run` path, per stage and end to end.

A synthetic 720p video (textured people walking, camera pan) is encoded to H.264, then run through
the real pipeline: PyAV decode, DIS flow, the pose network (random weights: the same arithmetic as
trained ones), OKS tracking, all four result files and the annotated H.264 video. The detector stage
replays the scene's ground-truth boxes (so every frame has its real number of people); the real
torchvision detectors' forward time is measured separately on the same frames.

    python benchmarks/pipeline_throughput.py --frames 100 --model hrnet-w32-256x192
    python benchmarks/pipeline_throughput.py --device cuda --model hrnet-w48-256x192 --precision fp16

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from posetrack import Pipeline, load_config
from posetrack.runner import process_video
from posetrack.synthetic import SyntheticScene, write_video
from posetrack.types import Detections, Frame


class ReplayDetector:
    """The scene's ground-truth boxes by frame index (stands in for a trained detector)."""

    def __init__(self, boxes: list[np.ndarray]) -> None:
        self.boxes = boxes

    def detect(self, frames):
        return [Detections(self.boxes[f.index], np.full(len(self.boxes[f.index]), 0.9)) for f in frames]


def time_detectors(images: list[np.ndarray], device: str, names: list[str]) -> dict[str, float]:
    from posetrack.detectors import build_detector
    from posetrack.detectors.config import DetectorConfig

    out = {}
    for name in names:
        det = build_detector(DetectorConfig(name=name, weights=None, batch_size=1), device)
        frames = [Frame(i, 0.0, img) for i, img in enumerate(images)]
        det.detect(frames[:1])  # warm-up
        t0 = time.perf_counter()
        for frame in frames:
            det.detect([frame])
        out[name] = round(len(images) / (time.perf_counter() - t0), 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--people", type=int, default=4)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--model", default="hrnet-w32-256x192")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--flip", action="store_true", help="flip test on (default off)")
    ap.add_argument("--detector-frames", type=int, default=5, help="frames for the detector timing")
    ap.add_argument("--detectors", default="fasterrcnn-mobilenet-v3-large-fpn,fasterrcnn-r50-fpn-v2")
    args = ap.parse_args()

    scene = SyntheticScene.random(seed=7, num_people=args.people, num_frames=args.frames,
                                  width=args.width, height=args.height, speed=6.0)
    frames = scene.frames()
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video([f.image for f in frames], Path(tmp) / "clip.mp4", crf=23)
        overrides = {"device": args.device, "pose.model": args.model, "pose.weights": None,
                     "pose.flip_test": args.flip, "pose.precision": args.precision}
        config = load_config("default", overrides)
        results = {}
        for render in (False, True):
            config.output.render = render
            pipeline = Pipeline.from_config(config, detector=ReplayDetector([f.boxes for f in frames]))
            t0 = time.perf_counter()
            summary = process_video(pipeline, video, Path(tmp) / f"out{render}", progress=False)
            wall = time.perf_counter() - t0
            results["with_render" if render else "no_render"] = {
                "fps": round(summary.frames / wall, 2),
                "people_per_frame": round(summary.people / summary.frames, 2),
                "stage_ms_per_frame": {k: round(1000 * v / summary.frames, 2)
                                       for k, v in summary.stage_seconds.items()},
            }
        detector_fps = time_detectors([f.image for f in frames[: args.detector_frames]], args.device,
                                      [d for d in args.detectors.split(",") if d])
    print(json.dumps({
        "video": f"{args.width}x{args.height}, {args.frames} frames, {args.people} people (synthetic)",
        "model": args.model, "device": args.device, "precision": args.precision, "flip_test": args.flip,
        "torch_threads": torch.get_num_threads(),
        "pipeline": results,
        "detector_fps_random_weights": detector_fps,
        "note": "stage times overlap (decode and flow run on their own threads, encode on the "
                "writer's thread); detect = replayed GT boxes, see detector_fps for real detectors",
    }, indent=1))


if __name__ == "__main__":
    main()
