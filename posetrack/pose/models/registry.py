"""Pose network names -> the zoo's architecture entries, and building them.

The table itself lives in :mod:`posetrack.zoo` (one registry for networks and weights); this module
is the pose stage's view of it: :func:`model_spec` is the zoo :class:`~posetrack.zoo.Architecture`
of a pose network (kind, input size, strides, joints, layout), :func:`build_model` builds it and,
if asked, loads a checkpoint strictly.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from posetrack import zoo

ModelSpec = zoo.Architecture  # the name the pose code and tests know it by


def model_names(include_test: bool = False) -> list[str]:
    """Known pose network names (tiny test-only networks only when ``include_test``)."""
    return list(zoo.architecture_names("topdown", "bottomup", include_test=include_test))


def model_spec(name: str) -> zoo.Architecture:
    """The architecture of a named pose network; unknown names raise ConfigError with the closest."""
    return zoo.architecture(name, "topdown", "bottomup", what="pose model")


def build_model(
    name: str,
    weights: str | Path | None = None,
    device: torch.device | str | None = None,
    checkpoint_layout: str | None = None,
) -> nn.Module:
    """The bare network ``name`` in eval mode, official random init, or ``weights`` loaded strictly.

    ``device`` builds the parameters there directly (default CPU); ``"meta"`` gives a shape-only
    network (for layouts and FLOP counts) and cannot take weights. Dtype is float32.
    ``checkpoint_layout`` (a zoo entry's) is checked against the layout found in the file.
    """
    spec = model_spec(name)
    if weights is not None and device is not None and torch.device(device).type == "meta":
        raise ValueError("a meta-device network cannot load weights")
    with torch.device(device if device is not None else "cpu"):
        model = spec.build()
    if weights is not None:
        from posetrack.pose.checkpoints import load_checkpoint

        load_checkpoint(model, weights, expected_layout=checkpoint_layout)
    return model.eval()


__all__ = ["ModelSpec", "build_model", "model_names", "model_spec"]
