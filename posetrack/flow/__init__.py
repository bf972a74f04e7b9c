"""Optical flow: OpenCV DIS / Farneback (CPU), torchvision RAFT; warping of points and boxes."""

from __future__ import annotations

from posetrack.flow.base import FlowEstimator
from posetrack.flow.config import FlowConfig
from posetrack.flow.warp import sample_flow, warp_boxes, warp_points


def build_flow(config: FlowConfig, device="cpu") -> FlowEstimator | None:
    """The flow estimator named by ``config`` (None for ``name: none``)."""
    if config.name == "none":
        return None
    if config.name in ("dis", "farneback"):
        from posetrack.flow.opencv_flow import OpenCVFlow

        return OpenCVFlow(config.name, config.scale, config.dis_preset)
    from posetrack.flow.raft import RaftFlow, build_raft

    variant = "large" if config.name == "raft-large" else "small"
    return RaftFlow(build_raft(variant, config.weights), device, config.scale, config.raft_iterations,
                    config.precision)


__all__ = ["FlowConfig", "FlowEstimator", "build_flow", "sample_flow", "warp_boxes", "warp_points"]
