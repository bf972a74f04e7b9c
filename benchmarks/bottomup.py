"""Bottom-up throughput: images/s split into forward, aggregation and grouping; prints JSON.

    python benchmarks/bottomup.py [--device cpu|cuda|auto] [--models NAME ...] [--people 2 10 30]
    python benchmarks/bottomup.py --device cpu --threads 1 --models higherhrnet-w32-512 \\
        --width 512 --height 512 --repeats 5          # a 512x512 map, as issue 12's goal

Networks have random weights (speed does not depend on them). Forward = the network on the
resized input (batch 2 with flip test). Aggregation = everything else up to the final maps:
resize, normalisation, resizing/averaging of the outputs, flip back, projection to the input
size (timed with the network's outputs replayed, so it excludes the forward). Grouping = NMS,
top-k, tag matching, adjust, refine (official default; ``--no-refine``) and the map back to the image,
compared with the faithful per-person refine loop on the same maps (and checked identical), timed on
*planted* maps with the given number of people (a random network produces no people), at the
final map size of that model and image.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import torch
from torch import nn

from posetrack.keypoints import COCO17
from posetrack.pose.bottomup import AggregatedMaps, BottomUpEstimator, normalise
from posetrack.pose.bottomup_transforms import multi_scale_size, resize_for_scale
from posetrack.pose.config import PoseConfig
from posetrack.pose.grouping import group, top_k
from posetrack.pose.models import build_model, model_spec

DEFAULT_MODELS = [
    "higherhrnet-w32-512",
    "higherhrnet-w48-640",
    "efficienthrnet-h0",
    "efficienthrnet-h-1",
    "efficienthrnet-h-2",
    "efficienthrnet-h-3",
    "efficienthrnet-h-4",
]


class Replay(nn.Module):
    """Returns recorded network outputs, so aggregation can be timed without the forward."""

    def __init__(self, outputs: list[torch.Tensor]) -> None:
        super().__init__()
        self.outputs = outputs
        self.anchor = nn.Parameter(torch.zeros((), device=outputs[0].device))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.outputs


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int, warmup: int) -> float:
    """Median seconds of fn() over repeats, after warmup calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def planted_maps(n: int, size: tuple[int, int], flip: bool, device: torch.device, seed: int = 0):
    """Heatmaps with n people's 17 joints (Gaussian peaks) and per-person constant tags."""
    rng = np.random.default_rng(seed)
    w, h = size
    k = COCO17.num_joints
    heat = np.zeros((k, h, w), np.float32)
    tags = np.zeros((k, h, w), np.float32)
    r = 6
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    blob = np.exp(-(xx**2 + yy**2) / (2 * 2.0**2)).astype(np.float32)
    for p in range(n):
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.15, 0.85) * h
        for j in range(k):
            x = int(np.clip(cx + rng.normal(0, 0.05 * w), r, w - r - 1))
            y = int(np.clip(cy + rng.normal(0, 0.08 * h), r, h - r - 1))
            win = (j, slice(y - r, y + r + 1), slice(x - r, x + r + 1))
            heat[win] = np.maximum(heat[win], rng.uniform(0.4, 1.0) * blob)
            tags[win] = p * 2.0
    tag_t = torch.from_numpy(tags)[..., None]
    if flip:
        tag_t = torch.cat((tag_t, tag_t), dim=3)
    return torch.from_numpy(heat).to(device), tag_t.to(device)


def bench_model(name: str, args, device: torch.device) -> dict:
    spec = model_spec(name)
    model = build_model(name, device=device)
    config = PoseConfig(
        model=name, weights=None, flip_test=not args.no_flip, scales=args.scales,
        precision=args.precision, channels_last=args.channels_last, refine=not args.no_refine,
        optimize=not args.plain,
    )  # fmt: skip
    est = BottomUpEstimator(model, COCO17, config, spec.input_size, device)
    image = np.random.default_rng(0).integers(0, 255, (args.height, args.width, 3), dtype=np.uint8)

    # Forward: the network on exactly the inputs the estimator builds (all scales).
    inputs = []
    for s in est.scales:
        resized, _, _ = resize_for_scale(image, est.input_size, s, min(est.scales))
        x = normalise(resized, device)
        inputs.append(torch.cat((x, torch.flip(x, [3]))) if config.flip_test else x)
    recorded: list[list[torch.Tensor]] = []

    def forward():
        recorded.clear()
        with torch.inference_mode():
            for x in inputs:
                recorded.append(est._forward(x))

    t_forward = timed(forward, device, args.repeats, args.warmup)

    # Aggregation with the forward replayed (one scale's outputs replayed for every scale).
    est.model = Replay(recorded[0]) if len(est.scales) == 1 else est.model
    t_agg = timed(lambda: est.aggregate(image), device, args.repeats, args.warmup)
    if len(est.scales) > 1:  # multi-scale: aggregate includes the forwards; subtract them
        t_agg = max(t_agg - t_forward, 0.0)
    est.model = model

    w, h = image.shape[1], image.shape[0]
    size, center, scale = multi_scale_size(w, h, est.input_size, 1.0, min(est.scales))
    grouping, grouping_old, identical, nms_topk, found, fps, post = {}, {}, {}, {}, {}, {}, {}
    for n in args.people:
        heat, tags = planted_maps(n, size, config.flip_test, device)
        maps = AggregatedMaps(heat, tags, center, scale)
        t_group = timed(lambda: est.group(maps), device, args.repeats, 1)
        # The faithful per-person form (official refine loop), same maps, interleaved with the new one.
        t_old = timed(lambda: group(heat, tags, est.params, per_person_refine=True), device, args.repeats, 1)
        new, old = group(heat, tags, est.params), group(heat, tags, est.params, per_person_refine=True)
        identical[str(n)] = bool(np.array_equal(new[0], old[0]) and np.array_equal(new[1], old[1]))
        thr = config.detection_threshold if device.type == "cpu" else None  # as grouping does
        t_topk = timed(
            lambda: top_k(heat, tags, config.max_people, config.nms_kernel, thr), device, args.repeats, 1
        )
        grouping[str(n)] = round(t_group, 5)
        grouping_old[str(n)] = round(t_old, 5)
        nms_topk[str(n)] = round(t_topk, 5)
        found[str(n)] = len(est.group(maps))
        post[str(n)] = round(t_agg + t_group, 5)
        fps[str(n)] = round(1.0 / (t_forward + t_agg + t_group), 3)
    params = sum(p.numel() for p in model.parameters())
    return {
        "model": name,
        "params": params,
        "input_size": est.input_size,
        "network_input": list(multi_scale_size(w, h, est.input_size, 1.0, 1.0)[0]),
        "map_size": list(size),
        "forward_s": round(t_forward, 5),
        "aggregation_s": round(t_agg, 5),
        "grouping_s": grouping,
        "grouping_per_person_refine_s": grouping_old,  # the faithful per-person refine loop
        "grouping_identical": identical,  # new == per-person: same people, keypoints, scores
        "aggregation_plus_grouping_s": post,
        "grouping_nms_topk_s": nms_topk,  # part of grouping_s; the rest is matching + adjust

        "people_found": found,
        "images_per_s": fps,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    ap.add_argument("--people", nargs="+", type=int, default=[2, 10, 30])
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--scales", nargs="+", type=float, default=[1.0])
    ap.add_argument("--no-flip", action="store_true", help="disable flip test (official: on)")
    ap.add_argument("--no-refine", action="store_true", help="disable refine (official test: on)")
    ap.add_argument("--plain", action="store_true", help="the network as built (pose.optimize=false)")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))  # fmt: skip
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    results = [bench_model(name, args, device) for name in args.models]
    out = {
        "benchmark": "bottomup",
        "device": (
            torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
        ),
        "device_type": device.type,
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "image": [args.width, args.height],
        "flip_test": not args.no_flip,
        "scales": args.scales,
        "precision": args.precision,
        "channels_last": args.channels_last,
        "refine": not args.no_refine,
        "optimized_network": not args.plain,
        "repeats": args.repeats,
        "grouping_input": "planted heatmaps/tags (Gaussian peaks, per-person tags)",
        "results": results,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
