"""Pose estimator settings (top-down HRNet or bottom-up HigherHRNet / EfficientHRNet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from posetrack.configbase import bounded


@dataclass
class PoseConfig:
    model: str = "hrnet-w48-256x192"  # a name known to posetrack.pose.build_model
    weights: str | None = "zoo"  # "zoo" (registry weights for this model), a file path, or null (random)
    output_layout: str | None = None  # e.g. posetrack17 to convert COCO output (head joints estimated)
    flip_test: bool = True
    decode: Literal["official", "dark"] = "official"
    shift_heatmap: bool = True  # official SHIFT_HEATMAP: flipped heatmaps moved one pixel right
    blur_kernel: int = bounded(11, 1, 31)  # DARK modulation kernel (odd), official BLUR_KERNEL
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"  # autocast on CUDA
    channels_last: bool = False
    # torch.compile the network once; batches are padded to a fixed set of sizes (powers of two up
    # to 2 x batch_size with flip test) so it compiles for those shapes only
    compile: bool = False
    batch_size: int = bounded(32, 1)  # crops per forward (top-down)
    keypoint_threshold: float = bounded(0.2, 0.0, 1.0)  # joints above it count for the person score
    oks_nms_threshold: float = bounded(0.9, 0.0, 1.0)  # official OKS-NMS threshold; 1 disables
    # bottom-up only
    scales: list[float] = field(default_factory=lambda: [1.0])
    max_people: int = bounded(30, 1)
    detection_threshold: float = bounded(0.1, 0.0, 1.0)
    tag_threshold: float = bounded(1.0, 0.0)
    refine: bool = True  # the official HigherHRNet test default (TEST.REFINE)
    adjust: bool = True
    nms_kernel: int = bounded(5, 1)  # heatmap NMS max-pool window (official test config: 5)
    assignment: Literal["munkres", "scipy"] = "munkres"  # munkres = official tie-breaking
