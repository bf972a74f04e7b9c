"""Per-frame cost of tracking (propagation + association) for many people, on one CPU core.

Writes a PoseTrack 2018 poses file of synthetic walkers (--frames 2000, --people 19 of whom ~15 are in
the 1280x720 frame at a time;
joint positions from posetrack.synthetic, no rendering), then measures:

* ``posetrack track POSES -o OUT`` as a command (one process, one thread): wall time, including
  reading and writing the JSON;
* in process, per frame, over the same poses: (a) what ``posetrack track`` does without a video
  (move + associate), (b) with a flow field (tracks moved by a dense (H, W, 2) flow, as with
  ``--video``; the flow itself is not computed here), (c) the top-down loop's tracker work:
  propagate (move, boxes from joints, merge with detections of which 30 % are missing) and
  associate.

    python benchmarks/track_overhead.py [--frames 2000] [--people 15]

Prints one JSON object; the goal (issue 12) is <= 1 ms per frame for 15 people.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, set before numpy loads

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from posetrack.keypoints import COCO17  # noqa: E402
from posetrack.synthetic import SyntheticScene  # noqa: E402
from posetrack.tracker import TrackerConfig, build_tracker  # noqa: E402
from posetrack.tracker.posefile import read_poses_file  # noqa: E402
from posetrack.types import Detections  # noqa: E402


def write_poses_file(path: Path, frames: int, people: int, width: int, height: int, seed: int = 0) -> None:
    scene = SyntheticScene.random(seed, num_people=people, num_frames=frames, width=width, height=height,
                                  speed=4.0)
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for t in range(frames):
        kp = scene.keypoints_at(t)  # (P, 17, 2)
        inside = (kp[..., 0] >= 0) & (kp[..., 0] < width) & (kp[..., 1] >= 0) & (kp[..., 1] < height)
        images.append({"id": 10000 + t, "file_name": f"{t:06d}.jpg", "frame_id": 10000 + t, "vid_id": 1})
        for p in np.flatnonzero(inside.sum(1) >= 4):
            xy = kp[p] + rng.normal(0, 1.0, kp[p].shape)
            score = np.where(inside[p], rng.uniform(0.6, 1.0, 17), 0.05)
            x1, y1 = xy.min(0)
            x2, y2 = xy.max(0)
            flat = np.concatenate([xy, score[:, None]], 1).round(2).ravel().tolist()
            anns.append({"image_id": 10000 + t, "keypoints": flat, "scores": score.round(3).tolist(),
                         "bbox": [round(float(v), 2) for v in (x1, y1, x2 - x1, y2 - y1)],
                         "score": float(score.mean()), "category_id": 1})
    cats = [{"id": 1, "name": "person", "keypoints": list(COCO17.joints)}]
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))


def per_frame_ms(frames, run) -> float:
    t0 = time.perf_counter()
    for f in frames:
        run(f)
    return 1000 * (time.perf_counter() - t0) / len(frames)


def small_op_us() -> float:
    """Microseconds per small numpy add (100 floats): a yardstick for how loaded the machine is
    (about 0.5 us on an idle modern core); the tracker's cost is mostly such small operations."""
    a = np.ones(100)
    t0 = time.perf_counter()
    for _ in range(20000):
        a + a
    return 1e6 * (time.perf_counter() - t0) / 20000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--people", type=int, default=19, help="walkers in the scene (~15 in the frame at a time)")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        poses_path = Path(tmp) / "poses.json"
        write_poses_file(poses_path, args.frames, args.people, args.width, args.height)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "posetrack.cli", "track", str(poses_path), "-o",
                        str(Path(tmp) / "out.json")], check=True, env=env, capture_output=True)
        command_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        frames, layout = read_poses_file(poses_path)
        read_s = time.perf_counter() - t0

    people = float(np.mean([len(f.poses) for f in frames]))
    config = TrackerConfig()
    results = {}

    tracker = build_tracker(config, layout)
    results["poses_only"] = per_frame_ms(frames, lambda f: tracker.update(f.poses, None))

    flow = np.zeros((args.height, args.width, 2), np.float32)
    flow[..., 0] = 1.5  # a pan; its value does not change the cost
    tracker = build_tracker(config, layout)
    results["with_flow"] = per_frame_ms(frames, lambda f: tracker.update(f.poses, flow))

    rng = np.random.default_rng(1)
    tracker = build_tracker(config, layout)

    def top_down(f):
        keep = rng.random(len(f.poses)) >= 0.3  # the detector missed 30 %
        dets = Detections(f.poses.boxes[keep], f.poses.scores[keep])
        boxes = tracker.propagate(dets, flow)
        # the pose estimator's part (not timed in spirit, cheap here): the detections' poses and
        # the propagated boxes' sources
        poses = f.poses.select(np.flatnonzero(keep))
        tracker.associate(poses)
        return boxes

    results["top_down_propagate_merge_associate"] = per_frame_ms(frames, top_down)
    print(json.dumps({
        "frames": len(frames), "people_per_frame": round(people, 2), "threads": 1,
        "posetrack_track_command_seconds": round(command_s, 2),
        "posetrack_track_ms_per_frame_incl_json_io": round(1000 * command_s / len(frames), 3),
        "read_poses_file_seconds": round(read_s, 2),
        "tracker_ms_per_frame": {k: round(v, 3) for k, v in results.items()},
        "goal_ms_per_frame": 1.0,
        "numpy_small_op_us": round(small_op_us(), 2),
    }, indent=1))


if __name__ == "__main__":
    main()
