"""Decode throughput and peak memory of posetrack's video reader (RGB frames out, as the pipeline
gets them) for 720p and 1080p H.264; how long reaching ``start`` takes (keyframe jump vs decoding
every frame before it without RGB conversion); and peak RSS for a 1,000- vs a 5,000-frame video (streaming decode: memory
must not grow with length).

Test videos are generated once (libx264 ultrafast, moving textured content so the decoder does real
work) and cached in --cache-dir. Each measurement runs in a fresh subprocess, so its peak RSS
(VmHWM) belongs to that case alone; ``baseline_rss_mb`` is the same process after imports, before
the first frame.

Usage: python benchmarks/video_decode.py [--frames 3000] [--long-frames 5000] [--short-frames 1000]
                                         [--cache-dir DIR] [--video PATH ...]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def _vm(field: str) -> float:
    """A /proc/self/status memory figure in MiB (VmHWM = peak RSS, VmRSS = current)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def generate(path: Path, width: int, height: int, frames: int, fps: int = 30) -> Path:
    """A moving, textured H.264 video (cached: reused if it exists with the right frame count)."""
    import av
    import numpy as np

    if path.exists():
        with av.open(str(path)) as c:
            if c.streams.video[0].frames == frames:
                return path
    rng = np.random.default_rng(0)
    # A large textured canvas panned across: motion and detail like real footage, cheap to make.
    small = rng.integers(0, 256, (height // 8 + 8, width // 8 + 8, 3), dtype=np.uint8)
    import cv2

    canvas = cv2.resize(small, ((width // 8 + 8) * 8, (height // 8 + 8) * 8), interpolation=cv2.INTER_CUBIC)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "23"}
        for i in range(frames):
            dx, dy = (3 * i) % 64, (2 * i) % 64
            img = np.ascontiguousarray(canvas[dy : dy + height, dx : dx + width])
            img[40:120, (i * 7) % (width - 80) :][:, :80] = (255, 255 - i % 256, i % 256)  # a moving block
            for packet in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in s.encode():
            out.mux(packet)
    os.replace(tmp, path)
    return path


def measure(path: str, end_frame: int | None) -> dict:
    """Runs inside the subprocess: decode every frame through posetrack's reader."""
    from posetrack.video import open_source
    from posetrack.video.config import VideoConfig

    baseline = _vm("VmRSS")
    with open_source(path) as probe:
        fps = probe.fps
    config = VideoConfig(end=(end_frame - 0.5) / fps) if end_frame else VideoConfig()
    t0, c0 = time.perf_counter(), time.process_time()
    n, checksum = 0, 0
    with open_source(path, config) as src:
        width, height = src.width, src.height
        for frame in src:
            checksum += int(frame.image[0, 0, 0])  # touch the pixels
            n += 1
    seconds = time.perf_counter() - t0
    cpu_ms = 1000 * (time.process_time() - c0) / max(n, 1)  # all threads: steadier on a shared box
    # Reaching `start` (the last measured frame): by a keyframe jump, and by decoding every frame
    # before it without converting it to RGB (files without a full index, or seek=False).
    start = {}
    for seek in (True, False):
        t1 = time.perf_counter()
        with open_source(path, VideoConfig(start=(n - 1.5) / fps, seek=seek)) as src:
            assert next(src).index == n - 1
        start[seek] = time.perf_counter() - t1
    return {
        "video": Path(path).name,
        "size": f"{width}x{height}",
        "frames": n,
        "seconds": round(seconds, 3),
        "fps": round(n / seconds, 1),
        "cpu_ms_per_frame": round(cpu_ms, 2),
        "reach_last_frame_by_seek_s": round(start[True], 3),
        "reach_last_frame_by_decoding_s": round(start[False], 3),
        "skip_decode_fps": round(n / start[False], 1),
        "peak_rss_mb": round(_vm("VmHWM"), 1),
        "baseline_rss_mb": round(baseline, 1),
        "frame_mb": round(width * height * 3 / 2**20, 2),
    }


def run_case(path: Path, end_frame: int | None = None) -> dict:
    cmd = [sys.executable, __file__, "--measure", str(path)]
    if end_frame:
        cmd += ["--end-frame", str(end_frame)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=3000, help="frames of the 720p and 1080p videos")
    parser.add_argument("--long-frames", type=int, default=5000)
    parser.add_argument("--short-frames", type=int, default=1000)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "posetrack-bench")
    parser.add_argument("--video", type=Path, nargs="*", default=[], help="also measure these files")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--end-frame", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.end_frame)))
        return

    args.cache_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    long_720 = generate(args.cache_dir / f"720p_{args.long_frames}.mp4", *SIZES["720p"], args.long_frames)
    v1080 = generate(args.cache_dir / f"1080p_{args.frames}.mp4", *SIZES["1080p"], args.frames)
    short_720 = generate(args.cache_dir / f"720p_{args.short_frames}.mp4", *SIZES["720p"], args.short_frames)
    generate_seconds = time.perf_counter() - t0

    throughput = {
        "720p": run_case(long_720, args.frames if args.frames < args.long_frames else None),
        "1080p": run_case(v1080),
    }
    for extra in args.video:
        throughput[extra.name] = run_case(extra)
    short, long_ = run_case(short_720), run_case(long_720)
    result = {
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "generate_seconds": round(generate_seconds, 1),
        "decode": throughput,
        "rss_vs_length_720p": {
            f"{short['frames']}_frames_peak_rss_mb": short["peak_rss_mb"],
            f"{long_['frames']}_frames_peak_rss_mb": long_["peak_rss_mb"],
            "growth_mb": round(long_["peak_rss_mb"] - short["peak_rss_mb"], 1),
            "fps": [short["fps"], long_["fps"]],
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
