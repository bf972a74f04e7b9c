"""Tracking quality on synthetic sequences with ground-truth ids: MOTA and id switches.

Each sequence (posetrack.synthetic) has people walking, crossing, occluding each other and leaving /
re-entering the frame under a camera pan. A flaky detector (ground-truth boxes, jittered by 5 % of
the box size, each missed with probability --miss-rate, 0.3 by default) and an oracle pose estimator (ground-truth
joints + 1 px noise; occluded joints get a low score) feed the tracker exactly as the pipeline does:
detect → propagate (flow propagation + NMS) → pose → associate. What is measured is therefore the
tracker alone: propagation, association and lifecycle.

MOTA, id switches, misses and false positives come from motmetrics (CLEAR-MOT), with a GT person and
a pose matched when their OKS (COCO sigmas, area = 0.53 x GT box area, visible GT joints) is >= 0.5.

Usage: python benchmarks/tracking_quality.py [--sequences 8] [--frames 80] [--people 6] [--miss-rate 0.3]
Prints one JSON object: per variant the totals over all sequences.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posetrack.flow import FlowConfig, build_flow  # noqa: E402
from posetrack.keypoints import COCO17  # noqa: E402
from posetrack.synthetic import SyntheticScene, crossing_scene  # noqa: E402
from posetrack.testing import FlakyDetector, OraclePoseEstimator, mot_metrics, run_tracking  # noqa: E402
from posetrack.tracker import TrackerConfig, build_tracker  # noqa: E402


class CachedFlow:
    """Flow fields computed once per sequence and replayed for every tracker variant."""

    def __init__(self, estimator, images):
        self.fields = {}
        for i in range(1, len(images)):
            self.fields[id(images[i])] = estimator(images[i - 1], images[i])

    def __call__(self, previous, current):
        return self.fields[id(current)]


class TimedTracker:
    """Wraps a tracker and adds up the time spent in propagate and associate."""

    def __init__(self, tracker):
        self.tracker, self.seconds = tracker, 0.0

    def propagate(self, *a):
        t = time.perf_counter()
        out = self.tracker.propagate(*a)
        self.seconds += time.perf_counter() - t
        return out

    def associate(self, *a):
        t = time.perf_counter()
        out = self.tracker.associate(*a)
        self.seconds += time.perf_counter() - t
        return out


def evaluate(scenes, flows, config: TrackerConfig, use_flow: bool, miss_rate: float,
             weak_people: float = 0.0, weak_joints: float = 0.85) -> dict:
    total = {"mota_num": 0.0, "num_objects": 0, "num_switches": 0, "num_misses": 0, "num_false_positives": 0}
    for k, scene in enumerate(scenes):
        frames = scene.frames()
        tracker = build_tracker(config, COCO17)
        detector = FlakyDetector(frames, miss_rate=miss_rate, jitter=0.05, seed=100 + k)
        estimator = OraclePoseEstimator(frames, noise=1.0, seed=200 + k, weak_people=weak_people,
                                        weak_joints=weak_joints)
        results = run_tracking(frames, tracker, estimator, detector, flows[k] if use_flow else None)
        m = mot_metrics(frames, results)
        total["num_objects"] += int(m["num_objects"])
        total["num_switches"] += int(m["num_switches"])
        total["num_misses"] += int(m["num_misses"])
        total["num_false_positives"] += int(m["num_false_positives"])
    errors = total["num_switches"] + total["num_misses"] + total["num_false_positives"]
    total["mota"] = round(1.0 - errors / max(total["num_objects"], 1), 4)
    del total["mota_num"]
    return total


def unreliable_poses(scenes, flows, base: TrackerConfig, args) -> dict:
    """The same sequences with a share of the people's joints mostly at low confidence (positions
    right), with and without the box fallback, against the full-confidence world."""
    out = {}
    for fallback in (False, True):
        cfg = replace(base, box_fallback=fallback)
        tag = "fallback" if fallback else "oks"
        out[f"full/{tag}"] = evaluate(scenes, flows, cfg, True, args.miss_rate)
        out[f"weak/{tag}"] = evaluate(scenes, flows, cfg, True, args.miss_rate, args.weak_people, args.weak_joints)
    for tag in ("oks", "fallback"):
        full, weak = out[f"full/{tag}"], out[f"weak/{tag}"]
        out[f"weak_vs_full/{tag}"] = {
            "switch_ratio": round(weak["num_switches"] / max(full["num_switches"], 1), 2),
            "mota_points": round(100 * (full["mota"] - weak["mota"]), 2),
        }
    out["world"] = {"weak_people": args.weak_people, "weak_joints": args.weak_joints}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=8)
    ap.add_argument("--frames", type=int, default=80)
    ap.add_argument("--people", type=int, default=6)
    ap.add_argument("--miss-rate", type=float, default=0.3)
    ap.add_argument("--speed", type=float, default=3.0, help="walking speed scale, px/frame")
    ap.add_argument("--pan", type=float, default=1.5, help="background pan, px/frame")
    ap.add_argument("--flow", default="dis", help="flow for the 'with flow' variants (dis, farneback)")
    ap.add_argument("--flow-scale", type=float, default=0.5, help="FlowConfig.scale (0.5 is the default)")
    ap.add_argument("--weak-people", type=float, default=0.4, help="unreliable-poses world: share of people")
    ap.add_argument("--weak-joints", type=float, default=0.85, help="... whose joints are this share weak")
    ap.add_argument("--only-unreliable", action="store_true", help="run only the unreliable-poses comparison")
    args = ap.parse_args()

    t0 = time.perf_counter()
    scenes = [crossing_scene(num_frames=args.frames)] + [
        SyntheticScene.random(seed, num_people=args.people, num_frames=args.frames, pan=(args.pan, 0.0),
                              speed=args.speed)
        for seed in range(args.sequences - 1)
    ]
    estimator = build_flow(FlowConfig(name=args.flow, scale=args.flow_scale))
    flows = [CachedFlow(estimator, s.images()) for s in scenes]
    t_setup = time.perf_counter() - t0

    base = TrackerConfig()
    unreliable = unreliable_poses(scenes, flows, base, args)
    if args.only_unreliable:
        print(json.dumps({"sequences": len(scenes), "frames_per_sequence": args.frames, "people": args.people,
                          "unreliable_poses": unreliable}, indent=1))
        return
    variants = {}
    for matching in ("greedy", "hungarian"):
        for use_flow in (True, False):
            for memory in (1, base.memory):
                cfg = replace(base, matching=matching, memory=memory)
                name = f"{matching}/{'flow' if use_flow else 'noflow'}/memory{memory}"
                variants[name] = evaluate(scenes, flows, cfg, use_flow, args.miss_rate)
    # one-factor sweeps around the defaults (greedy matching, with flow)
    sweeps = {
        "memory": (1, 3, 5, 10, 30),
        "similarity_threshold": (0.1, 0.2, 0.3, 0.5),
        "propagate_max_age": (0, 1, 3, 5, 10),
        "matching": ("greedy", "hungarian"),
        "propagate_box_expand": (0.0, 0.15, 0.3),
        "nms_threshold": (0.5, 0.6, 0.7),
        "keypoint_threshold": (0.0, 0.3, 0.6),
        "merge": ("nms", "one-to-one"),
    }
    for key, values in sweeps.items():
        for v in values:
            cfg = replace(base, **{key: v})
            variants[f"greedy/flow/{key}={v}"] = evaluate(scenes, flows, cfg, True, args.miss_rate)
    for name, cfg in (("kalman", replace(base, kalman=True)), ("no-propagation", replace(base, propagate=False))):
        variants[f"greedy/noflow/{name}"] = evaluate(scenes, flows, cfg, False, args.miss_rate)

    # tracker cost per frame (propagate + associate), default config with flow, flow time excluded
    frames = scenes[0].frames()
    timed = TimedTracker(build_tracker(base, COCO17))
    run_tracking(frames, timed, OraclePoseEstimator(frames), FlakyDetector(frames, args.miss_rate), flows[0])
    tracker_ms = 1000 * timed.seconds / len(frames)
    print(json.dumps({
        "sequences": len(scenes), "frames_per_sequence": args.frames, "people": args.people,
        "miss_rate": args.miss_rate, "speed": args.speed, "pan": args.pan, "flow": args.flow,
        "flow_scale": args.flow_scale, "gt_poses": variants[next(iter(variants))]["num_objects"],
        "setup_seconds": round(t_setup, 2), "tracker_ms_per_frame": round(tracker_ms, 3),
        "total_seconds": round(time.perf_counter() - t0, 2),
        "defaults": {k: v for k, v in vars(base).items()},
        "variants": variants,
        "unreliable_poses": unreliable,
    }, indent=1))


if __name__ == "__main__":
    main()
