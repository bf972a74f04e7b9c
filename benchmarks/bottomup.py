"""Bottom-up throughput: images/s split into forward and post-processing; prints JSON.

    python benchmarks/bottomup.py [--device cpu|cuda|auto] [--models NAME ...] [--people 2 10 30]
    python benchmarks/bottomup.py --device cpu --threads 1 --models higherhrnet-w32-512 \\
        --width 512 --height 512 --repeats 5          # a 512x512 map, as issue 12's goal

Networks have random weights (speed does not depend on them). Forward = the network on the
resized input (batch 2 with flip test). Post-processing = everything after it up to people in
image pixels: the official aggregation (resize of the outputs, flip back, projection to the input
size) and grouping (NMS, top-k, tag matching, adjust, refine (official default; ``--no-refine``)),
timed with *planted* network outputs replayed (a random network produces no people): n people
with Gaussian peaks (sigma 2 px at each output's resolution), each pixel's tag that of the person
whose peak dominates there, 10 % of the joints weak (below the detection threshold: refine's work).
It is timed three ways on the same outputs, all checked to give identical people: as the
estimator runs (on a CPU the final maps are computed tile by tile where grouping reads them),
with the full-resolution maps built first (``dense``), and with the faithful per-person refine
loop of the official code on those dense maps (``per_person_refine``).
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

from posetrack.cpu_memory import keep_freed_memory
from posetrack.keypoints import COCO17
from posetrack.pose.bottomup import BottomUpEstimator
from posetrack.pose.bottomup_transforms import multi_scale_size
from posetrack.pose.config import PoseConfig
from posetrack.pose.final_maps import DenseMaps
from posetrack.pose.grouping import group
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


def planted_outputs(n: int, input_wh: tuple[int, int], flip: bool, device: torch.device, seed: int = 0):
    """HigherHRNet-shaped outputs [(B, 2K, h/4, w/4) heatmaps + tags, (B, K, h/2, w/2) heatmaps]
    showing n people; with flip the second image is the mirrored first (joints swapped)."""
    rng = np.random.default_rng(seed)
    k = COCO17.num_joints
    w, h = input_wh
    centre = rng.uniform((0.1 * w, 0.15 * h), (0.9 * w, 0.85 * h), (n, 1, 2))
    joints = centre + rng.normal(0, 1, (n, k, 2)) * (0.05 * w, 0.08 * h)  # input pixels
    vals = rng.uniform(0.4, 1.0, (n, k))
    vals[rng.random((n, k)) < 0.1] = 0.06  # weak joints: found by refine only
    tag_of = 2.0 * np.arange(n) + 1.0

    def render(stride: int) -> tuple[np.ndarray, np.ndarray]:
        yy, xx = np.mgrid[0 : h // stride, 0 : w // stride]
        xy = joints / stride  # (n, k, 2)
        d2 = (xx[None, None] - xy[..., 0, None, None]) ** 2 + (yy[None, None] - xy[..., 1, None, None]) ** 2
        blobs = vals[..., None, None] * np.exp(-d2 / (2 * 2.0**2))  # (n, k, h, w)
        owner = blobs.argmax(axis=0)
        return blobs.max(axis=0).astype(np.float32), tag_of[owner].astype(np.float32)

    heat4, tags4 = render(4)
    heat2, _ = render(2)
    out0 = torch.from_numpy(np.concatenate((heat4, tags4)))[None]
    out1 = torch.from_numpy(heat2)[None]
    if flip:
        perm = torch.as_tensor(COCO17.flip_index)
        out0 = torch.cat((out0, torch.flip(out0[:, torch.cat((perm, perm + k))], [3])))
        out1 = torch.cat((out1, torch.flip(out1[:, perm], [3])))
    return [out0.to(device), out1.to(device)]


def same_people(a, b) -> bool:
    return bool(np.array_equal(a.keypoints, b.keypoints) and np.array_equal(a.scores, b.scores))


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

    # Pre-processing (resize, normalise, mirror) and forward: the network on exactly the inputs
    # the estimator builds (all scales).
    t_pre = timed(lambda: list(est.network_inputs(image)), device, args.repeats, args.warmup)
    inputs = [x for x, _, _ in est.network_inputs(image)]

    def forward():
        with torch.inference_mode():
            for x in inputs:
                est._forward(x)

    t_forward = timed(forward, device, args.repeats, args.warmup)

    w, h = image.shape[1], image.shape[0]
    size, _, _ = multi_scale_size(w, h, est.input_size, 1.0, min(est.scales))
    net_input = multi_scale_size(w, h, est.input_size, 1.0, 1.0)[0]
    placement = [(c, s) for _, c, s in est.network_inputs(image)]
    post, post_dense, per_person, identical, found, fps = {}, {}, {}, {}, {}, {}
    for n in args.people:
        # Post-processing of planted outputs (multi-scale: the same outputs at every scale).
        outputs = planted_outputs(n, net_input, config.flip_test, device)
        est.model = Replay(outputs)  # for est.estimate below: the whole path on the same outputs

        def aggregate(outputs=outputs):
            return est.aggregate_outputs(image.shape[:2], [(outputs, c, s) for c, s in placement])

        def run():
            return est.group(aggregate())

        poses = run()
        t_post = timed(run, device, args.repeats, 1)
        lazy, est.lazy_maps = est.lazy_maps, False
        dense_poses = run()
        t_dense = timed(run, device, args.repeats, 1)
        est.lazy_maps = lazy
        heat, tags = aggregate().maps.dense()
        dense = DenseMaps(heat.clone(), tags.clone())
        reference = group(dense, est.params, per_person_refine=True)
        t_ref = timed(lambda: group(dense, est.params, per_person_refine=True), device, args.repeats, 1)
        fast = group(aggregate().maps, est.params)
        identical[str(n)] = (
            same_people(poses, dense_poses)
            and same_people(poses, est.estimate(image))
            and all(np.array_equal(a, b) for a, b in zip(fast, reference))
        )
        post[str(n)] = round(t_post, 5)
        post_dense[str(n)] = round(t_dense, 5)
        per_person[str(n)] = round(t_ref, 5)
        found[str(n)] = len(poses)
        fps[str(n)] = round(1.0 / (t_pre + t_forward + t_post), 3)
    est.model = model
    params = sum(p.numel() for p in model.parameters())
    return {
        "model": name,
        "params": params,
        "input_size": est.input_size,
        "network_input": list(net_input),
        "map_size": list(size),
        "preprocess_s": round(t_pre, 5),  # resize, normalise, mirror the image
        "forward_s": round(t_forward, 5),
        "postprocess_s": post,  # aggregation of the network outputs + grouping, as the estimator runs them
        "postprocess_dense_maps_s": post_dense,  # the same with full-resolution maps built first
        "grouping_per_person_refine_s": per_person,  # grouping alone, the official per-person refine
        "identical": identical,  # all three give the same people, keypoints and scores
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
    ap.add_argument("--malloc-default", action="store_true",
                    help="leave glibc malloc as it is (posetrack run keeps freed memory for reuse)")
    args = ap.parse_args()
    kept = False if args.malloc_default else keep_freed_memory()
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
        "keep_freed_memory": kept,
        "image": [args.width, args.height],
        "flip_test": not args.no_flip,
        "scales": args.scales,
        "precision": args.precision,
        "channels_last": args.channels_last,
        "refine": not args.no_refine,
        "optimized_network": not args.plain,
        "repeats": args.repeats,
        "postprocess_input": "planted network outputs (Gaussian peaks, per-person tags, 10% weak joints)",
        "results": results,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
