"""Pose networks in the official checkpoint layouts, and the name registry that builds them."""

from posetrack.pose.models.efficienthrnet import EFFICIENTHRNET_TABLE, EfficientHRNet, efficienthrnet
from posetrack.pose.models.higherhrnet import HigherHRNet
from posetrack.pose.models.hrnet import HRNet, HRNetBackbone
from posetrack.pose.models.registry import ModelSpec, build_model, model_names, model_spec

__all__ = [
    "EFFICIENTHRNET_TABLE",
    "EfficientHRNet",
    "HRNet",
    "HRNetBackbone",
    "HigherHRNet",
    "ModelSpec",
    "build_model",
    "efficienthrnet",
    "model_names",
    "model_spec",
]
