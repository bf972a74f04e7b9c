"""Many short videos on 1, 2, 4 Ray workers of this machine: videos/s, frames/s, and the per-video
scheduling overhead of the worker pool; prints JSON.

    python benchmarks/many_videos.py [--videos 16] [--frames 12] [--workers 1 2 4]
        [--model hrnet-w8-128x96] [--device cpu] [--gpus-per-worker 0.25] [--null-items 200]

The videos are the synthetic crossing scene with its person boxes given as a detections file
(``detector: file``), DIS flow and a top-down pose network with random weights (speed does not
depend on them); no rendering. One local Ray instance serves every run; each run starts its own
workers, so the wall time includes the workers' start and model load ("wall_s"), reported apart
from the steady part ("run_s": first video started to last finished, over all workers).

The scheduling overhead is measured with a job that does nothing, through one worker: the wall
time of 1 + N items minus that of 1 item (worker start included in both), over N.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path


class NullJob:
    """A job whose items cost nothing: what is left is the pool's own cost per item."""

    config = type("C", (), {"device": "cpu"})()

    def build(self, device):
        return None

    def run(self, state, item, on_frame):
        return {"frames": 0, "seconds": 0.0}

    def outputs(self, item):
        return []


def make_videos(folder: Path, n: int, frames: int) -> tuple[list[Path], Path]:
    from posetrack.synthetic import crossing_scene, write_video

    scene = crossing_scene(num_frames=frames).frames()
    dets = [{"image_id": f.index, "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
             "score": 0.99, "category_id": 1} for f in scene for b in f.boxes]  # fmt: skip
    boxes = folder / "boxes.json"
    boxes.write_text(json.dumps(dets))
    first = write_video([f.image for f in scene], folder / "v00.mp4")
    videos = [first]
    for i in range(1, n):  # the same clip under other names: equal work per video
        videos.append(folder / f"v{i:02d}.mp4")
        os.link(first, videos[-1])
    return videos, boxes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=16)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--model", default="hrnet-w8-128x96")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--gpus-per-worker", type=float, default=None)
    ap.add_argument("--null-items", type=int, default=200)
    args = ap.parse_args()

    import ray

    from posetrack.config import load_config
    from posetrack.distributed import run_many
    from posetrack.distributed.cluster import _loopback_only
    from posetrack.distributed.scheduler import run_items

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    tmp = Path(tempfile.mkdtemp(prefix="ptbench-"))
    videos, boxes = make_videos(tmp, args.videos, args.frames)
    config = load_config("default", {
        "device": args.device, "detector.name": "file", "detector.file": str(boxes), "flow.name": "dis",
        "pose.model": args.model, "pose.weights": None, "pose.flip_test": False, "output.render": False,
        "output.formats": ["posetrack", "csv"],
    })  # fmt: skip
    t0 = time.perf_counter()
    _loopback_only(ray)
    cpus = max(args.workers)  # logical CPUs for Ray: one per worker, whatever the cores
    ray.init(num_cpus=cpus, include_dashboard=False, _node_ip_address="127.0.0.1", _temp_dir=str(tmp / "ray"),
             log_to_driver=False, logging_level="ERROR")  # fmt: skip
    out = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "ray": ray.__version__},
           "videos": args.videos, "frames_per_video": args.frames, "model": args.model, "device": args.device,
           "ray_start_s": round(time.perf_counter() - t0, 2), "runs": []}  # fmt: skip
    try:
        for n in args.workers:
            starts: list[float] = []

            def note(p, starts=starts):
                if p.running and not starts:
                    starts.append(time.perf_counter())

            t = time.perf_counter()
            report = run_many(videos, config, tmp / f"out{n}", workers=n, on_progress=note, summary=False,
                              gpus_per_worker=args.gpus_per_worker)  # fmt: skip
            wall = time.perf_counter() - t
            assert all(r.status == "done" for r in report.results), report.results
            run_s = wall - (starts[0] - t if starts else 0.0)
            frames = report.frames
            out["runs"].append({
                "workers": n, "wall_s": round(wall, 2), "run_s": round(run_s, 2),
                "videos_per_s": round(len(videos) / run_s, 3), "frames_per_s": round(frames / run_s, 2),
                "videos_per_s_wall": round(len(videos) / wall, 3),
                "per_video_s_mean": round(sum(r.seconds for r in report.results) / len(videos), 3),
            })  # fmt: skip
            print(json.dumps(out["runs"][-1]), flush=True)
        # the pool's own cost per item: a 1-item run (worker start + 1 round trip) vs a (1+N)-item run
        walls = []
        for count in (1, 1 + args.null_items):
            t = time.perf_counter()
            run_items(ray, NullJob(), [f"item{i}" for i in range(count)], workers=1)
            walls.append(time.perf_counter() - t)
        out["null_job"] = {
            "items": args.null_items,
            "wall_1_item_s": round(walls[0], 2),
            "wall_s": round(walls[1], 2),
            "overhead_ms_per_item": round(1000 * (walls[1] - walls[0]) / args.null_items, 2),
        }
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
