"""Pose estimation: networks (``posetrack.pose.models``), checkpoints, top-down and bottom-up inference.

``build_model``, ``model_spec``, ``model_names``, ``load_checkpoint`` and ``optimize_for_inference`` are
re-exported lazily so that
importing ``posetrack.pose.config`` (as the config loader does) does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from posetrack.lazy import lazy_attributes

if TYPE_CHECKING:
    from posetrack.pose.checkpoints import load_checkpoint
    from posetrack.pose.models.registry import ModelSpec, build_model, model_names, model_spec
    from posetrack.pose.optimize import optimize_for_inference

_LAZY = {
    "build_model": "posetrack.pose.models.registry",
    "model_spec": "posetrack.pose.models.registry",
    "model_names": "posetrack.pose.models.registry",
    "ModelSpec": "posetrack.pose.models.registry",
    "load_checkpoint": "posetrack.pose.checkpoints",
    "optimize_for_inference": "posetrack.pose.optimize",
}

__all__ = ["ModelSpec", "build_model", "load_checkpoint", "model_names", "model_spec", "optimize_for_inference"]


__getattr__ = lazy_attributes(__name__, _LAZY)
