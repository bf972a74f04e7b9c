"""Optical flow: OpenCV DIS / Farneback (CPU), torchvision RAFT; warping of points and boxes.

Names are imported on first use, so loading a config (which imports ``posetrack.flow.config``)
does not import numpy, OpenCV or torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from posetrack.flow.config import FlowConfig
from posetrack.lazy import lazy_attributes

if TYPE_CHECKING:
    from posetrack.flow.base import FlowEstimator

_EXPORTS = {
    "FlowEstimator": "posetrack.flow.base",
    "sample_flow": "posetrack.flow.warp",
    "warp_boxes": "posetrack.flow.warp",
    "warp_points": "posetrack.flow.warp",
}


def build_flow(config: FlowConfig, device="cpu") -> FlowEstimator | None:
    """The flow estimator named by ``config`` (None for ``name: none``)."""
    if config.name == "none":
        return None
    if config.name in ("dis", "farneback"):
        from posetrack.flow.opencv_flow import OpenCVFlow

        return OpenCVFlow(config.name, config.scale, config.dis_preset)
    from posetrack.flow.raft import RaftFlow, build_raft

    return RaftFlow(build_raft(config.name, config.weights), device, config.scale, config.raft_iterations,
                    config.precision)


__getattr__ = lazy_attributes(__name__, _EXPORTS)


__all__ = ["FlowConfig", "FlowEstimator", "build_flow", "sample_flow", "warp_boxes", "warp_points"]
