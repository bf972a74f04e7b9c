"""Build the pose estimator a config asks for: network + weights + top-down or bottom-up inference."""

from __future__ import annotations

import torch

from posetrack.keypoints import get_layout
from posetrack.pose.base import PoseEstimator
from posetrack.pose.config import PoseConfig


def build_pose_estimator(config: PoseConfig, device: torch.device | str) -> PoseEstimator:
    from posetrack.pose.models import build_model, model_spec
    from posetrack.zoo import resolve_weights

    spec = model_spec(config.model)
    weights = resolve_weights(config.weights, config.model)
    model = build_model(config.model, weights)
    layout = get_layout(spec.layout)
    if spec.kind == "topdown":
        from posetrack.pose.topdown import TopDownEstimator

        return TopDownEstimator(model, layout, config, spec.input_size, device)
    from posetrack.pose.bottomup import BottomUpEstimator

    return BottomUpEstimator(model, layout, config, spec.input_size[0], device)  # square input
