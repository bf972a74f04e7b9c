"""Model names -> architecture specs and builders (the bare networks, random init unless weights given).

A :class:`ModelSpec` says everything the inference code needs to know about a network without
building it: top-down or bottom-up, the input size, output strides, number of joints and keypoint
layout. ``build_model(name, weights)`` builds it and, if asked, loads a checkpoint strictly.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import torch
from torch import nn

from posetrack.errors import ConfigError
from posetrack.pose.models.efficienthrnet import EFFICIENTHRNET_TABLE, EfficientHRNet
from posetrack.pose.models.higherhrnet import HigherHRNet
from posetrack.pose.models.hrnet import HRNet


@dataclass(frozen=True)
class ModelSpec:
    """What a named network is; ``factory_kwargs`` are passed to its class (``arch``)."""

    name: str
    kind: Literal["topdown", "bottomup"]
    arch: Literal["hrnet", "higherhrnet", "efficienthrnet"]
    input_size: tuple[int, int]  # (width, height) of the network input, e.g. (192, 256) for 256x192
    heatmap_stride: int  # stride of the first output (1/4 heatmaps; for bottom-up also the tags)
    output_strides: tuple[int, ...]  # stride of every output: (4,) top-down, (4, 2) bottom-up
    num_joints: int
    layout: str  # keypoint layout name (posetrack.keypoints.get_layout)
    width: int  # HRNet C, or W_b1 for EfficientHRNet
    factory_kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    test_only: bool = False  # tiny networks for tests; no weights exist
    description: str = ""

    @property
    def tag_channels(self) -> int:
        """Tag maps in the first output (bottom-up: one per joint, after the heatmaps)."""
        return self.num_joints if self.kind == "bottomup" else 0


_ARCH: dict[str, Callable[..., nn.Module]] = {
    "hrnet": HRNet,
    "higherhrnet": HigherHRNet,
    "efficienthrnet": EfficientHRNet,
}

_SPECS: dict[str, ModelSpec] = {}


def _add(spec: ModelSpec) -> None:
    _SPECS[spec.name] = spec


def _hrnet(width: int, h: int, w: int, layout: str = "coco17", suffix: str = "", test_only: bool = False) -> None:
    _add(
        ModelSpec(
            name=f"hrnet-w{width}-{h}x{w}{suffix}", kind="topdown", arch="hrnet", input_size=(w, h),
            heatmap_stride=4, output_strides=(4,), num_joints=17, layout=layout, width=width,
            factory_kwargs=MappingProxyType({"width": width, "num_joints": 17}), test_only=test_only,
            description=f"HRNet-W{width} top-down, input {h}x{w} (HxW), {layout}",
        )
    )


def _higher(width: int, size: int, test_only: bool = False) -> None:
    _add(
        ModelSpec(
            name=f"higherhrnet-w{width}-{size}", kind="bottomup", arch="higherhrnet", input_size=(size, size),
            heatmap_stride=4, output_strides=(4, 2), num_joints=17, layout="coco17", width=width,
            factory_kwargs=MappingProxyType({"width": width, "num_joints": 17}), test_only=test_only,
            description=f"HigherHRNet-W{width} bottom-up, input {size}",
        )
    )


def _efficient(variant: str) -> None:
    cfg = EFFICIENTHRNET_TABLE[variant]
    _add(
        ModelSpec(
            name=f"efficienthrnet-{variant}", kind="bottomup", arch="efficienthrnet",
            input_size=(cfg.input_size, cfg.input_size), heatmap_stride=4, output_strides=(4, 2), num_joints=17,
            layout="coco17", width=cfg.widths[0],
            factory_kwargs=MappingProxyType(
                {"phi": cfg.phi, "widths": cfg.widths, "stage_modules": cfg.stage_modules, "num_joints": 17}
            ),
            description=f"EfficientHRNet-{variant.upper()} (paper Table 1), input {cfg.input_size}; no public weights",
        )
    )


for _w in (32, 48):
    for _h, _wd in ((256, 192), (384, 288)):
        _hrnet(_w, _h, _wd)
        # PoseTrack18 fine-tuned variants (MMPose model zoo): same network, PoseTrack-17 joints.
        _hrnet(_w, _h, _wd, layout="posetrack17", suffix="-posetrack18")
_higher(32, 512)
_higher(32, 640)
_higher(48, 512)  # MMPose publishes W48 at 512 as well
_higher(48, 640)
for _variant in EFFICIENTHRNET_TABLE:
    _efficient(_variant)
# Test-only tiny networks: full official topology at width 8, small inputs (sides must be
# multiples of 32, as for the official networks: the 1/32 branch is upsampled x8 in the fusion).
# No weights exist.
_hrnet(8, 128, 96, test_only=True)
_higher(8, 128, test_only=True)


def model_names(include_test: bool = False) -> list[str]:
    """Known network names (tiny test-only networks only when ``include_test``)."""
    return [n for n, s in _SPECS.items() if include_test or not s.test_only]


def model_spec(name: str) -> ModelSpec:
    """The spec of a named network; unknown names raise ConfigError with the closest matches."""
    try:
        return _SPECS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_SPECS), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown pose model {name!r}{hint}; known: {', '.join(model_names())}") from None


def build_model(name: str, weights: str | Path | None = None, device: torch.device | str | None = None) -> nn.Module:
    """The bare network ``name`` in eval mode, official random init, or ``weights`` loaded strictly.

    ``device`` builds the parameters there directly (default CPU); ``"meta"`` gives a shape-only
    network (for layouts and FLOP counts) and cannot take weights. Dtype is float32.
    """
    spec = model_spec(name)
    if weights is not None and device is not None and torch.device(device).type == "meta":
        raise ValueError("a meta-device network cannot load weights")
    with torch.device(device if device is not None else "cpu"):
        model = _ARCH[spec.arch](**dict(spec.factory_kwargs))
    if weights is not None:
        from posetrack.pose.checkpoints import load_checkpoint

        load_checkpoint(model, weights)
    return model.eval()


__all__ = ["ModelSpec", "build_model", "model_spec", "model_names"]
