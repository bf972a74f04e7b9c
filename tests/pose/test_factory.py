"""The estimators take input size, mean/std and keypoint layout from the weights entry in use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from posetrack import zoo
from posetrack.pose.config import PoseConfig
from posetrack.pose.factory import build_pose_estimator
from posetrack.pose.models import build_model
from posetrack.pose.transforms import normalize_crops

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


def _entry(tmp_path: Path, monkeypatch, arch: str, size: tuple[int, int]) -> zoo.Weights:
    """A zoo entry for a test network with its own normalisation and the PoseTrack joint order,
    its file (random weights) already in the cache."""
    monkeypatch.setenv("POSETRACK_HOME", str(tmp_path / "home"))
    entry = zoo.Weights(
        name=f"{arch}-test", arch=arch, filename=f"{arch}-test.pth", manual="written by the test",
        checkpoint_layout="official",
        preprocessing=zoo.Preprocessing(input_size=size, mean=MEAN, std=STD, keypoint_layout="posetrack17"),
    )
    torch.manual_seed(0)
    entry.cache_path().parent.mkdir(parents=True)
    torch.save(build_model(arch).state_dict(), entry.cache_path())
    return entry


def test_topdown_estimator_uses_the_entrys_preprocessing(tmp_path, monkeypatch):
    entry = _entry(tmp_path, monkeypatch, "hrnet-w8-128x96", (96, 128))
    with zoo.registered(entry):
        est = build_pose_estimator(PoseConfig(model="hrnet-w8-128x96", weights=entry.name, flip_test=False), "cpu")
    assert est.input_size == (96, 128) and est.layout.name == "posetrack17" and (est.mean, est.std) == (MEAN, STD)
    crops = torch.randint(0, 256, (2, 3, 128, 96), dtype=torch.uint8)
    with torch.no_grad():
        want = est.model(normalize_crops(crops, MEAN, STD)).numpy()
        imagenet = est.model(normalize_crops(crops)).numpy()
    got = est.heatmaps_from_crops(crops)
    scale = np.abs(want).max()  # randomly initialised heads give tiny heatmaps: compare relatively
    np.testing.assert_allclose(got / scale, want / scale, atol=1e-5)
    assert np.abs(got - imagenet).max() > 0.05 * scale  # the entry's statistics, not ImageNet's


def test_without_zoo_weights_the_architecture_defaults_apply(tmp_path, monkeypatch):
    est = build_pose_estimator(PoseConfig(model="hrnet-w8-128x96", weights=None), "cpu")
    assert (est.mean, est.std) == (zoo.IMAGENET_MEAN, zoo.IMAGENET_STD) and est.layout.name == "coco17"


def test_bottomup_estimator_uses_the_entrys_preprocessing(tmp_path, monkeypatch):
    entry = _entry(tmp_path, monkeypatch, "higherhrnet-w8-128", (128, 128))
    with zoo.registered(entry):
        est = build_pose_estimator(PoseConfig(model="higherhrnet-w8-128", weights=entry.name), "cpu")
    assert est.input_size == 128 and est.model_layout.name == "posetrack17" and (est.mean, est.std) == (MEAN, STD)


def test_a_cached_file_in_another_layout_than_the_entry_says_is_refused(tmp_path, monkeypatch):
    from posetrack.errors import CheckpointError

    entry = _entry(tmp_path, monkeypatch, "hrnet-w8-128x96", (96, 128))
    wrong = zoo.Weights(**{**entry.__dict__, "checkpoint_layout": "mmpose0"})
    with zoo.registered(wrong), pytest.raises(CheckpointError, match="this zoo entry's file is mmpose0"):
        build_pose_estimator(PoseConfig(model="hrnet-w8-128x96", weights=wrong.name), "cpu")
