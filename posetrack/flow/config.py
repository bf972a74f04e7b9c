"""Optical flow settings (used to propagate last frame's people into this frame)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from posetrack.configbase import bounded
from posetrack.zoo import architecture_names

# RAFT variants are the zoo's flow architectures; OpenCV's methods need no weights.
FlowName = Literal[("dis", "farneback", *architecture_names("flow"), "none")]  # type: ignore[valid-type]


@dataclass
class FlowConfig:
    name: FlowName = "dis"
    scale: float = bounded(0.5, 0.05, 1.0)  # flow is computed on frames resized by this factor
    weights: str | None = "zoo"  # RAFT weights: "zoo", a file path, or null (random)
    dis_preset: Literal["ultrafast", "fast", "medium"] = "medium"  # OpenCV DIS speed/quality preset
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"  # RAFT autocast on CUDA (ignored on the CPU)
    raft_iterations: int = bounded(12, 1, 64)  # RAFT recurrent refinement steps (torchvision default 12)
