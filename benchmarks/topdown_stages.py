"""Top-down pose stages around the network, per frame of N people; prints JSON.

    python benchmarks/topdown_stages.py [--device cpu|cuda|auto] [--people 1 8 32] [--input 192 256]
        [--model hrnet-w32-256x192] [--repeats 5]

Times (median ms per frame): crops with cv2.warpAffine (numpy frame) and with the torch warp (frame
as a tensor on the device), ImageNet normalisation, heatmap decoding (official and DARK) of N
people's heatmaps, and rescoring + OKS-NMS; then the whole ``TopDownEstimator.estimate`` with flip
test on a random-weight network (``--model``; speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import torch

from posetrack.keypoints import COCO17
from posetrack.pose.config import PoseConfig
from posetrack.pose.decode import decode_heatmaps
from posetrack.pose.nms import crop_areas, oks_nms, rescore
from posetrack.pose.transforms import (
    affine_matrices,
    boxes_to_center_scale,
    crop_cv2,
    crop_torch,
    normalize_crops,
    opencv_warp_arithmetic,
)
from posetrack.types import Detections


def timed(fn, repeats: int, sync=lambda: None) -> float:
    fn()
    sync()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--people", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--input", type=int, nargs=2, default=[192, 256], metavar=("W", "H"))
    ap.add_argument("--model", default="hrnet-w32-256x192")
    ap.add_argument("--no-model", action="store_true", help="skip the end-to-end estimate timing")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    size = tuple(args.input)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    frame_t = torch.from_numpy(frame).to(device)
    model = est = None
    if not args.no_model:
        from posetrack.pose.models import build_model
        from posetrack.pose.topdown import TopDownEstimator

        model = build_model(args.model)
        est = TopDownEstimator(model, COCO17, PoseConfig(flip_test=True), size, device)
    rows = []
    for n in args.people:
        xy = rng.uniform(0, 1100, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(40, 400, (n, 2))], 1).astype(np.float32)
        centers, scales = boxes_to_center_scale(boxes, size[0] / size[1])
        mats = affine_matrices(centers, scales, size)
        hm = np.zeros((n, 17, size[1] // 4, size[0] // 4), np.float32)
        hm[:, :, 10:20, 10:20] = rng.uniform(0, 1, (n, 17, 10, 10))
        kp = decode_heatmaps(hm, centers, scales)
        crops = torch.from_numpy(crop_cv2(frame, mats, size)).permute(0, 3, 1, 2).to(device)
        row = {
            "people": n,
            "crop_cv2_ms": timed(lambda: crop_cv2(frame, mats, size), args.repeats),
            "crop_torch_ms": timed(lambda: crop_torch(frame_t, mats, size), args.repeats, sync),
            "normalize_ms": timed(lambda: normalize_crops(crops), args.repeats, sync),
            "decode_official_ms": timed(lambda: decode_heatmaps(hm, centers, scales, "official"), args.repeats),
            "decode_dark_ms": timed(lambda: decode_heatmaps(hm, centers, scales, "dark"), args.repeats),
            "rescore_nms_ms": timed(
                lambda: oks_nms(kp, rescore(kp[..., 2], np.ones(n), 0.2), crop_areas(scales), 0.9,
                                COCO17.sigma_array), args.repeats),
        }
        if est is not None:
            dets = Detections(boxes, np.ones(n))
            row["estimate_numpy_frame_ms"] = timed(lambda: est.estimate(frame, dets), max(1, args.repeats // 2), sync)
            row["estimate_tensor_frame_ms"] = timed(lambda: est.estimate(frame_t, dets), max(1, args.repeats // 2), sync)
        rows.append(row)
    print(json.dumps({
        "benchmark": "topdown_stages",
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "cpu": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "opencv_warp": opencv_warp_arithmetic(),
        "input_size": size,
        "model": None if est is None else args.model,
        "rows": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
    }, indent=1))


if __name__ == "__main__":
    main()
