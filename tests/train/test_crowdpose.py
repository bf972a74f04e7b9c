"""A CrowdPose training's checkpoint is usable: trained with the CrowdPose preset (tiny 14-joint
network, one epoch on a synthetic CrowdPose-format set), its best.pth runs through `posetrack run`
and the bottom-up estimator, which return CrowdPose-14 poses and write the CrowdPose joint names."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from posetrack.keypoints import CROWDPOSE14
from posetrack.synthetic import crossing_scene, write_video
from posetrack.train.config import load_train_config
from posetrack.train.engine import train
from tests.cli._cli import one_line_error, posetrack
from tests.train.synth import write_coco

TINY_CROWD = "higherhrnet-w8-128-crowdpose"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(workspace with clip.mp4, best.pth of a one-epoch CrowdPose training)."""
    root = tmp_path_factory.mktemp("crowdpose")
    data = root / "crowdpose"
    write_coco(data, "trainval", 2, seed=3, width=96, height=80, num_joints=14, prefix="crowdpose", crowd=True)
    cfg = load_train_config("higherhrnet-w32-crowdpose", {
        "model.name": TINY_CROWD, "model.input_size": [64, 64], "data.val_split": None, "train.epochs": 1,
        "train.batch_size": 2, "train.workers": 0, "train.progress": False})
    train(cfg, data, root / "run", init="none")
    write_video(crossing_scene(num_frames=4).images(), root / "clip.mp4")
    return root, root / "run" / "best.pth"


def test_the_crowdpose_preset_trains_the_registry_crowdpose_network():
    cfg = load_train_config("higherhrnet-w32-crowdpose", {})
    assert cfg.model.name == "higherhrnet-w32-512-crowdpose" and cfg.data.format == "crowdpose"
    from posetrack import zoo

    assert zoo.architecture(cfg.model.name).layout == CROWDPOSE14.name


def test_a_trained_crowdpose_checkpoint_runs_and_writes_crowdpose_joints(trained):
    ws, best = trained
    out = ws / "out"
    # every candidate kept (detection_threshold 0): a one-epoch network's peaks are weak
    r = posetrack("run", "clip.mp4", "-c", "higherhrnet-w32-512-crowdpose", "-o", out, "-q", "--device", "cpu",
                  "--set", f"pose.model={TINY_CROWD}", "--weights", best, "--set", "pose.flip_test=false",
                  "--set", "pose.detection_threshold=0", "--set", "pose.refine=false",
                  cwd=ws)
    assert r.returncode == 0, r.stderr
    # every default output, the video drawn with the CrowdPose skeleton and the report included
    assert sorted(p.name for p in out.iterdir()) == ["clip.annotated.mp4", "clip.coco.json", "clip.csv",
                                                    "clip.jsonl", "clip.posetrack.json", "clip.report.html"]
    assert all(len(d["keypoints"]) == 14 * 3 for d in json.loads((out / "clip.coco.json").read_text()))
    pt = json.loads((out / "clip.posetrack.json").read_text())
    cat = pt["categories"][0]
    assert tuple(cat["keypoints"]) == CROWDPOSE14.joints
    assert [tuple(s) for s in cat["skeleton"]] == [(a + 1, b + 1) for a, b in CROWDPOSE14.skeleton]
    assert len(pt["images"]) == 4 and pt["annotations"]
    assert all(len(a["keypoints"]) == 14 * 3 for a in pt["annotations"])
    with open(out / "clip.csv", newline="") as f:
        header = next(csv.reader(f))
    for joint in ("head", "neck", "left_ankle"):
        assert any(joint in col for col in header), header
    assert not any("nose" in col for col in header)


def test_the_bottomup_estimator_returns_crowdpose14_poses(trained):
    from posetrack.config import load_config
    from posetrack.pose.factory import build_pose_estimator

    ws, best = trained
    cfg = load_config("higherhrnet-w32-512-crowdpose", {
        "pose.model": TINY_CROWD, "pose.weights": str(best), "pose.flip_test": False,
        "pose.detection_threshold": 0.0, "pose.refine": False, "device": "cpu"})
    est = build_pose_estimator(cfg.pose, "cpu")
    frame = crossing_scene(num_frames=1).images()[0]
    poses = est.estimate(frame)
    assert poses.layout is CROWDPOSE14
    assert len(poses) > 0 and poses.keypoints.shape[1:] == (14, 3)
    assert np.isfinite(poses.keypoints).all()


def test_the_crowdpose_checkpoint_does_not_load_into_a_coco_network(trained):
    ws, best = trained
    r = posetrack("run", "clip.mp4", "-c", "higherhrnet-w32-512", "-o", ws / "coco", "-q", "--device", "cpu",
                  "--set", "pose.model=higherhrnet-w8-128", "--weights", best, "--no-render", cwd=ws)
    one_line_error(r, "best.pth")
    assert not (ws / "coco").exists() or not any((ws / "coco").iterdir())


def test_the_posetrack21_format_is_refused_for_14_joints_in_one_line(trained):
    ws, best = trained
    r = posetrack("run", "clip.mp4", "-c", "higherhrnet-w32-512-crowdpose", "-o", ws / "pt21", "-q", "--device", "cpu",
                  "--set", f"pose.model={TINY_CROWD}", "--weights", best, "--formats", "posetrack21", cwd=ws)
    one_line_error(r, "posetrack21", "crowdpose14")
    assert not (ws / "pt21").exists() or not any((ws / "pt21").iterdir())
