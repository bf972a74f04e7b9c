"""``benchmark posetrack`` end to end on a synthetic PoseTrack dataset with an oracle pose model."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from posetrack.config import load_config
from posetrack.evaluation import synthetic_dataset as sd
from posetrack.evaluation.benchmark import (
    find_sequences,
    run_benchmark,
    threshold_poses,
)
from posetrack.keypoints import COCO17, POSETRACK17
from posetrack.pipeline import Pipeline
from posetrack.types import Detections, Poses
from posetrack.video.images import read_rgb


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


class OraclePose:
    """Top-down 'model' that returns the annotated keypoints of the person each box covers.

    Frames are recognised by their decoded pixels, so it needs nothing from the pipeline's order.
    Unannotated joints get score 0 (and are then dropped by the keypoint threshold).
    """

    layout = POSETRACK17
    needs_boxes = True

    def __init__(self, root: str, sequences) -> None:
        self.frames = {}
        for seq in sequences:
            for fr in seq.frames:
                img = read_rgb(__import__("pathlib").Path(root) / fr.file_name)
                self.frames[hashlib.sha1(img.tobytes()).hexdigest()] = fr
        self.calls = 0

    def estimate(self, image: np.ndarray, boxes: Detections | None) -> Poses:
        self.calls += 1
        fr = self.frames[hashlib.sha1(image.tobytes()).hexdigest()]
        if not fr.people or boxes is None or len(boxes) == 0:
            return Poses.empty(POSETRACK17)
        gt_boxes = np.stack([p.box for p in fr.people])
        best = _iou(boxes.boxes.astype(np.float64), gt_boxes).argmax(axis=1)
        chosen = sorted(set(best.tolist()))
        kps = np.stack([fr.people[i].keypoints for i in chosen]).copy()
        kps[..., 2] = np.where(kps[..., 2] > 0, 0.9, 0.0)
        return Poses(kps, gt_boxes[chosen], np.ones(len(chosen)), POSETRACK17)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("posetrack_data"))
    seqs = sd.generate_sequences(n_sequences=2, n_frames=8, n_people=3, label_every=2, seed=1)
    sd.write_dataset(root, seqs)
    return root, seqs


def _pipeline_factory(oracle):
    config = load_config("default", {"flow.name": "none", "device": "cpu"})

    def make(detector):
        assert detector is not None  # gt boxes
        return Pipeline.from_config(config, "cpu", detector=detector, pose=oracle)

    return make


def test_oracle_with_gt_boxes_scores_100_and_resumes(dataset, tmp_path):
    root, seqs = dataset
    oracle = OraclePose(root, seqs)
    out = tmp_path / "pred"
    s = run_benchmark(root, "val", _pipeline_factory(oracle), out, boxes="gt", progress=False)
    r = s.result
    for arr in (r.ap, r.mota, r.motp, r.mot_pre, r.mot_rec):
        np.testing.assert_allclose(arr, 100.0, rtol=0, atol=1e-9)
    assert sorted(s.predicted) == [q.name for q in seqs] and s.resumed == []
    assert oracle.calls == 16  # every frame, labeled or not
    # one prediction file per sequence with the GT's frames, ids and names, in order
    gt = json.load(open(os.path.join(root, "annotations", "val", seqs[0].name + ".json")))
    pr = json.load(open(out / f"{seqs[0].name}.json"))
    assert [i["id"] for i in pr["images"]] == [i["id"] for i in gt["images"]]
    assert [i["file_name"] for i in pr["images"]] == [i["file_name"] for i in gt["images"]]
    # rerun: everything resumes, nothing is predicted again
    calls = oracle.calls
    s2 = run_benchmark(root, "val", _pipeline_factory(oracle), out, boxes="gt", progress=False)
    assert s2.predicted == [] and len(s2.resumed) == 2 and oracle.calls == calls
    assert s2.result.ap[15] == pytest.approx(100.0)
    # a truncated file is redone
    (out / f"{seqs[1].name}.json").write_text('{"images": [')
    s3 = run_benchmark(root, "val", _pipeline_factory(oracle), out, boxes="gt", progress=False)
    assert s3.predicted == [seqs[1].name] and s3.result.mota[15] == pytest.approx(100.0)


def test_public_detection_files(dataset, tmp_path):
    root, seqs = dataset
    det_dir = tmp_path / "dets"
    det_dir.mkdir()
    for seq in seqs:  # the GT boxes written as a COCO-style detection list, matched by image id
        items = [
            {"image_id": fr.image_id, "category_id": 1, "score": 0.99,
             "bbox": [float(p.box[0]), float(p.box[1]), float(p.box[2] - p.box[0]), float(p.box[3] - p.box[1])]}
            for fr in seq.frames for p in fr.people
        ]  # fmt: skip
        (det_dir / f"{seq.name}.json").write_text(json.dumps(items))
    s = run_benchmark(root, "val", _pipeline_factory(OraclePose(root, seqs)), tmp_path / "p", boxes="file",
                      detections_dir=det_dir, progress=False)  # fmt: skip
    assert s.result.ap[15] == pytest.approx(100.0) and s.result.mota[15] == pytest.approx(100.0)


def test_keypoint_threshold_drops_joints_and_converts_coco():
    kp = np.zeros((1, 17, 3), np.float32)
    kp[0, :, :2] = np.arange(34).reshape(17, 2) + 1
    kp[0, :, 2] = np.linspace(0, 1, 17)
    out = threshold_poses(Poses(kp, np.zeros((1, 4)), np.ones(1), POSETRACK17), 0.5)
    low = kp[0, :, 2] < 0.5
    assert (out.keypoints[0, low] == 0).all() and (out.keypoints[0, ~low] == kp[0, ~low]).all()
    coco = threshold_poses(Poses(kp, np.zeros((1, 4)), np.ones(1), COCO17), 0.0)
    assert coco.layout.joints[1:3] == ("head_bottom", "head_top")


def test_cli_benchmark_errors(tmp_path):
    from posetrack.cli import commands  # noqa: F401
    from posetrack.cli.main import cli

    res = CliRunner().invoke(cli, ["benchmark", "posetrack", "--root", str(tmp_path), "--split", "val"])
    assert res.exit_code == 2 and "annotation folder not found" in res.output
    with pytest.raises(Exception, match="annotation folder"):
        find_sequences(tmp_path, "val")


@pytest.fixture(scope="module")
def dataset21(dataset, tmp_path_factory):
    """The same sequences in the PoseTrack21 layout (posetrack_data/<split>/<seq>.json)."""
    root, seqs = dataset
    root21 = tmp_path_factory.mktemp("posetrack21")
    os.symlink(os.path.join(root, "images"), root21 / "images")
    (root21 / "posetrack_data" / "val").mkdir(parents=True)
    for seq in seqs:
        with open(os.path.join(root, "annotations", "val", seq.name + ".json")) as f:
            gt = json.load(f)
        for img in gt["images"]:
            img.setdefault("ignore_regions_x", [])
            img.setdefault("ignore_regions_y", [])
        (root21 / "posetrack_data" / "val" / f"{seq.name}.json").write_text(json.dumps(gt))
    return str(root21), seqs


def test_posetrack21_layout_scores_100_and_resumes(dataset21, tmp_path):
    root, seqs = dataset21
    oracle = OraclePose(root, seqs)
    out = tmp_path / "pred21"
    s = run_benchmark(root, "val", _pipeline_factory(oracle), out, boxes="gt", progress=False, dataset="posetrack21")
    np.testing.assert_allclose(s.result.hota["HOTA"], 1.0, rtol=0, atol=1e-12)
    assert s.result.map["ap"][-1] == pytest.approx(100.0)
    pr = json.loads((out / f"{seqs[0].name}.json").read_text())
    assert all(len(a["scores"]) == 17 and a["track_id"] >= 0 for a in pr["annotations"])
    calls = oracle.calls
    s2 = run_benchmark(root, "val", _pipeline_factory(oracle), out, boxes="gt", progress=False, dataset="posetrack21")
    assert s2.predicted == [] and len(s2.resumed) == 2 and oracle.calls == calls


def test_cli_benchmark_posetrack21_errors(tmp_path):
    from posetrack.cli import commands  # noqa: F401
    from posetrack.cli.main import cli

    res = CliRunner().invoke(cli, ["benchmark", "posetrack21", "--root", str(tmp_path), "--split", "val"])
    assert res.exit_code == 2 and "posetrack_data/val" in res.output
