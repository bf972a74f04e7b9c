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
    # Run an inference copy of the network (BN folded, channels_last, fused exchange; same outputs
    # to float rounding): posetrack.pose.optimize_for_inference. false = the network as built.
    optimize: bool = True
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

    def check(self) -> None:
        """Rules the field types cannot say, checked at load so no model is built for a bad value."""
        from posetrack.keypoints import get_layout
        from posetrack.pose.models import model_spec

        try:
            spec = model_spec(self.model)  # the registry's message names the known models
        except Exception as e:
            raise ValueError(f"model: {e}") from None
        if self.blur_kernel % 2 == 0:
            raise ValueError(f"blur_kernel: {self.blur_kernel} must be odd (a Gaussian kernel size)")
        if self.output_layout is not None:
            try:
                get_layout(self.output_layout)
            except Exception as e:
                raise ValueError(f"output_layout: {e}") from None
            if self.output_layout != spec.layout and not (
                spec.layout == "coco17" and self.output_layout.startswith("posetrack17")
            ):
                raise ValueError(
                    f"output_layout: cannot convert {spec.layout} keypoints of '{self.model}' to "
                    f"'{self.output_layout}' (supported: coco17 -> posetrack17)"
                )
        # bottom-up only, checked whatever the model so a preset is valid before it is switched
        if not self.scales or min(self.scales) <= 0:
            raise ValueError("scales: give one or more positive scales")
        if len(self.scales) > 1 and 1.0 not in self.scales:
            raise ValueError("scales: a multi-scale test must include 1.0 (tags come from it)")
        if self.nms_kernel % 2 == 0:
            raise ValueError(f"nms_kernel: {self.nms_kernel} must be odd")
