"""Build the pose estimator a config asks for: network + weights + top-down or bottom-up inference.

The preprocessing (input size, mean/std, keypoint layout) comes from the zoo weights entry when zoo
weights are used, else from the architecture entry (random init, a user's own file).
"""

from __future__ import annotations

import torch

from posetrack.keypoints import get_layout
from posetrack.pose.base import PoseEstimator
from posetrack.pose.config import PoseConfig


def build_pose_estimator(config: PoseConfig, device: torch.device | str) -> PoseEstimator:
    from posetrack import zoo
    from posetrack.pose.models import build_model, model_spec

    model_spec(config.model)  # a pose network (ConfigError naming the closest otherwise)
    resolved = zoo.resolve(config.weights, config.model)
    prep = resolved.preprocessing
    model = build_model(config.model, resolved.path, checkpoint_layout=resolved.checkpoint_layout)
    layout = get_layout(prep.keypoint_layout)
    if resolved.arch.kind == "topdown":
        from posetrack.pose.topdown import TopDownEstimator

        return TopDownEstimator(model, layout, config, prep.input_size, device, mean=prep.mean, std=prep.std)
    from posetrack.pose.bottomup import BottomUpEstimator

    w, h = prep.input_size
    if w != h:
        raise ValueError(f"{config.model}: bottom-up networks take a square input, not {w}x{h}")
    return BottomUpEstimator(model, layout, config, w, device, mean=prep.mean, std=prep.std)
