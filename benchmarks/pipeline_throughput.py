"""Throughput of the whole `posetrack run` path, per stage and end to end, at batch_frames 1 and 8.

A synthetic 720p video (--people 10 textured walkers, camera pan) is encoded to H.264 and run through
the real pipeline (posetrack.runner.process_video): PyAV decode, the detector (Faster R-CNN
R50-FPN v2), optical flow (DIS, and RAFT with --flows dis,raft-large), HRNet-W48 256x192 with flip
test, OKS tracking, the four result files (and the annotated video with --render). RANDOM WEIGHTS
throughout (the same arithmetic as trained ones, so the same speed): the detector's forward runs
and is timed, but the boxes handed on are the scene's ground truth, so every frame has its real
number of people for the pose network.

    python benchmarks/pipeline_throughput.py --device cuda                  # one command, < 5 min on a GPU
    python benchmarks/pipeline_throughput.py --device cpu --frames 6        # a smoke run on the CPU

Per stage: frames/s = frames / seconds spent in the stage (stages overlap: decode and flow run on
their own threads). On CUDA the GPU utilisation is sampled with nvidia-smi (or torch.cuda) while
each variant runs. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posetrack import Pipeline, load_config  # noqa: E402
from posetrack.runner import process_video  # noqa: E402
from posetrack.synthetic import SyntheticScene, write_video  # noqa: E402
from posetrack.types import Detections  # noqa: E402


class RealForwardGTBoxes:
    """Runs the real (random-weight) detector on every frame for its cost, hands on the GT boxes."""

    def __init__(self, detector, boxes: list[np.ndarray]) -> None:
        self.detector, self.boxes = detector, boxes

    def detect(self, frames):
        self.detector.detect(frames)
        return [Detections(self.boxes[f.index], np.full(len(self.boxes[f.index]), 0.9)) for f in frames]


class GpuSampler:
    """Mean GPU utilisation (%) while running, from nvidia-smi (else torch.cuda.utilization)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.samples, self._stop = enabled, [], threading.Event()

    def _sample(self) -> float | None:
        if shutil.which("nvidia-smi"):
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                                  "-i", str(torch.cuda.current_device())], capture_output=True, text=True, check=False)
            if out.returncode == 0 and out.stdout.strip():
                return float(out.stdout.split()[0])
        try:
            return float(torch.cuda.utilization())
        except Exception:
            return None

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            v = self._sample()
            if v is not None:
                self.samples.append(v)

    def __enter__(self):
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self._stop.set()
            self._thread.join()

    @property
    def mean(self) -> float | None:
        return round(float(np.mean(self.samples)), 1) if self.samples else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--model", default="hrnet-w48-256x192")
    ap.add_argument("--detector", default="fasterrcnn-r50-fpn-v2")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--precision", default="fp16", choices=["fp32", "fp16", "bf16"],
                    help="autocast for detector, pose and RAFT (CUDA only; the CPU runs fp32)")
    ap.add_argument("--flows", default="dis,raft-large", help="flow variants, comma-separated")
    ap.add_argument("--batch-frames", default="1,8")
    ap.add_argument("--flow-workers", type=int, default=4)
    ap.add_argument("--render", action="store_true", help="also encode the annotated video")
    ap.add_argument("--compile", action="store_true", help="pose.compile (torch.compile, padded batches)")
    args = ap.parse_args()

    t_start = time.perf_counter()
    scene = SyntheticScene.random(seed=7, num_people=args.people, num_frames=args.frames,
                                  width=args.width, height=args.height, speed=6.0)
    frames = scene.frames()
    cuda = args.device.startswith("cuda")
    precision = args.precision if cuda else "fp32"
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video([f.image for f in frames], Path(tmp) / "clip.mp4", crf=23)
        boxes = [f.boxes for f in frames]
        for flow in [f for f in args.flows.split(",") if f]:
            for bf in [int(b) for b in args.batch_frames.split(",")]:
                overrides = {
                    "device": args.device, "pose.model": args.model, "pose.weights": None, "pose.flip_test": True,
                    "pose.precision": precision, "pose.compile": args.compile, "detector.name": args.detector,
                    "detector.weights": None, "detector.precision": precision, "detector.batch_size": max(1, bf),
                    "flow.name": flow, "flow.weights": None, "flow.precision": precision,
                    "pipeline.batch_frames": bf, "pipeline.flow_workers": args.flow_workers,
                    "output.render": args.render,
                }
                config = load_config("default", overrides)
                pipeline = Pipeline.from_config(config)
                pipeline.detector = RealForwardGTBoxes(pipeline.detector, boxes)
                # warm-up on the first frames (cuDNN autotuning, torch.compile), not counted
                list(zip(range(min(8, args.frames)), pipeline.run(video)))
                pipeline.times.seconds.clear()
                pipeline.times.frames = pipeline.times.people = 0
                if cuda:
                    torch.cuda.synchronize()
                with GpuSampler(cuda) as gpu:
                    t0 = time.perf_counter()
                    summary = process_video(pipeline, video, Path(tmp) / f"out-{flow}-{bf}", progress=False)
                    if cuda:
                        torch.cuda.synchronize()
                    wall = time.perf_counter() - t0
                runs[f"{flow}/batch_frames={bf}"] = {
                    "end_to_end_fps": round(summary.frames / wall, 2),
                    "people_per_frame": round(summary.people / max(summary.frames, 1), 2),
                    "stage_fps": {k: round(summary.frames / v, 2) if v > 0 else None
                                  for k, v in sorted(summary.stage_seconds.items())},
                    "stage_ms_per_frame": {k: round(1000 * v / summary.frames, 2)
                                           for k, v in sorted(summary.stage_seconds.items())},
                    "gpu_utilisation_percent": gpu.mean,
                }
    print(json.dumps({
        "video": f"{args.width}x{args.height}, {args.frames} frames, {args.people} people (synthetic)",
        "weights": "RANDOM (throughput only: detector forward timed, ground-truth boxes handed on)",
        "model": args.model, "flip_test": True, "detector": args.detector, "device": args.device,
        "gpu": torch.cuda.get_device_name() if cuda else None, "precision": precision, "compile": args.compile,
        "torch_threads": torch.get_num_threads(), "flow_workers": args.flow_workers,
        "runs": runs, "total_seconds": round(time.perf_counter() - t_start, 1),
        "note": "stage times overlap (decode and flow on their own threads); 'pose' includes the "
                "window's batched estimation of detected boxes; 'detect' is the real forward",
    }, indent=1))


if __name__ == "__main__":
    main()
