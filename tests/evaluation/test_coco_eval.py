"""COCO keypoint evaluation: a tiny COCO-format dataset, an oracle top-down network, the CLI."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from pose.topdown_oracle import OracleHeatmapNet, coordinate_image

from posetrack.cli import commands  # noqa: F401  (registers the subcommands)
from posetrack.cli.main import cli
from posetrack.errors import FormatError, InputError
from posetrack.evaluation.coco import (
    STAT_NAMES,
    detection_boxes,
    evaluate_coco_keypoints,
    ground_truth_boxes,
    load_coco,
    topdown_coco_results,
)
from posetrack.keypoints import COCO17
from posetrack.pose.config import PoseConfig
from posetrack.pose.topdown import TopDownEstimator

# Every person centre differs from every other (across images too): the oracle finds its person by
# the crop centre. (image id, [box x, y, w, h])
PEOPLE = {
    1: [[20, 30, 50, 110], [150, 20, 70, 150]],
    2: [[90, 60, 60, 120], [10, 150, 90, 80]],
    3: [[160, 150, 80, 100], [70, 10, 40, 60], [-10, 200, 40, 70]],
}
INPUT = (96, 128)


def planted_keypoints(rng, box):
    x, y, w, h = box
    return np.stack([rng.uniform(x + 0.2 * w, x + 0.8 * w, 17), rng.uniform(y + 0.2 * h, y + 0.8 * h, 17)], 1)


@pytest.fixture
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    images_dir = tmp_path / "images"
    images_dir.mkdir()
    images, anns, truth = [], [], []
    for img_id, boxes in PEOPLE.items():
        name = f"{img_id:012d}.png"  # lossless: the oracle reads coordinates from the pixels
        cv2.imwrite(str(images_dir / name), cv2.cvtColor(coordinate_image(256, 256), cv2.COLOR_RGB2BGR))
        images.append({"id": img_id, "file_name": name, "width": 256, "height": 256})
        for box in boxes:
            kp = planted_keypoints(rng, box)
            flat = np.concatenate([kp, np.full((17, 1), 2.0)], 1).reshape(-1)
            anns.append({
                "id": len(anns) + 1, "image_id": img_id, "category_id": 1, "iscrowd": 0,
                "bbox": [float(v) for v in box], "area": float(box[2] * box[3]),
                "keypoints": [float(v) for v in flat], "num_keypoints": 17,
            })
            truth.append((img_id, box, kp))
    ann_path = tmp_path / "person_keypoints.json"
    categories = [{"id": 1, "name": "person", "keypoints": list(COCO17.joints),
                   "skeleton": [[a + 1, b + 1] for a, b in COCO17.skeleton]}]
    ann_path.write_text(json.dumps({"images": images, "annotations": anns, "categories": categories}))
    dets = [{"image_id": i, "category_id": 1, "bbox": [b[0] + 1.5, b[1] - 1.0, b[2] - 2.0, b[3] + 3.0],
             "score": 0.9} for i, b, _ in truth]
    dets.append({"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 10], "score": 1.0})  # not a person
    det_path = tmp_path / "dets.json"
    det_path.write_text(json.dumps(dets))
    return images_dir, ann_path, det_path, truth


def oracle_estimator(truth, offset=0.0, **cfg):
    people = [(np.array([b[0] + b[2] / 2, b[1] + b[3] / 2]), kp + offset) for _, b, kp in truth]
    oracle = OracleHeatmapNet(people, COCO17.flip_index)
    return TopDownEstimator(oracle, COCO17, PoseConfig(**cfg), INPUT, "cpu")


@pytest.mark.parametrize("boxes_from", ["detections", "gt"])
def test_oracle_gets_perfect_ap(dataset, boxes_from):
    images_dir, ann_path, det_path, truth = dataset
    coco = load_coco(ann_path)
    boxes = detection_boxes(det_path) if boxes_from == "detections" else ground_truth_boxes(coco)
    assert sum(len(v[0]) for v in boxes.values()) == len(truth)
    results = topdown_coco_results(oracle_estimator(truth), coco, images_dir, boxes)
    assert len(results) == len(truth)
    stats = evaluate_coco_keypoints(ann_path, results)
    assert list(stats) == list(STAT_NAMES)
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)


def test_wrong_predictions_lower_ap(dataset):
    images_dir, ann_path, det_path, truth = dataset
    coco = load_coco(ann_path)
    results = topdown_coco_results(oracle_estimator(truth, offset=6.0), coco, images_dir, detection_boxes(det_path))
    stats = evaluate_coco_keypoints(coco, results)
    assert 0.0 <= stats["AP"] < 0.9
    assert evaluate_coco_keypoints(coco, [])["AP"] == 0.0


def test_ground_truth_boxes_are_cleaned_like_official(tmp_path):
    ann = {
        "images": [{"id": 5, "width": 100, "height": 80}],
        "annotations": [
            {"id": 1, "image_id": 5, "category_id": 1, "iscrowd": 0, "area": 10.0,
             "bbox": [-5.0, 10.0, 120.0, 30.0], "keypoints": [1, 1, 2] + [0] * 48},
            {"id": 2, "image_id": 5, "category_id": 1, "iscrowd": 0, "area": 10.0,
             "bbox": [1.0, 1.0, 10.0, 10.0], "keypoints": [0] * 51},  # no keypoints: skipped
            {"id": 3, "image_id": 5, "category_id": 1, "iscrowd": 1, "area": 10.0,
             "bbox": [1.0, 1.0, 10.0, 10.0], "keypoints": [1, 1, 2] + [0] * 48},  # crowd: skipped
        ],
    }
    boxes = ground_truth_boxes(load_coco(ann))
    # x1 = max(0, -5) = 0; x2 = min(99, 0 + 119) = 99; y2 = min(79, 10 + 29) = 39
    np.testing.assert_array_equal(boxes[5][0], [[0.0, 10.0, 99.0, 29.0]])
    np.testing.assert_array_equal(boxes[5][1], [1.0])


def test_bad_inputs_raise_user_errors(tmp_path, dataset):
    images_dir, ann_path, det_path, truth = dataset
    with pytest.raises(InputError, match="nope.json"):
        load_coco(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FormatError, match="bad.json"):
        load_coco(bad)
    with pytest.raises(FormatError, match="bad.json"):
        detection_boxes(bad)
    bad.write_text(json.dumps([{"image_id": 1, "bbox": [0, 0, 1], "score": 1.0}]))
    with pytest.raises(FormatError, match="entry 0"):
        detection_boxes(bad)
    bad.write_text(json.dumps({"images": [{"id": 1}], "annotations": [{"image_id": 1}]}))
    with pytest.raises(FormatError, match="annotations\\[0\\]"):
        load_coco(bad)
    (images_dir / "000000000002.png").unlink()
    with pytest.raises(InputError, match="000000000002.png"):
        topdown_coco_results(oracle_estimator(truth), load_coco(ann_path), images_dir, detection_boxes(det_path))


def _tiny_weights(tmp_path):
    from posetrack.pose.models import build_model

    torch.manual_seed(0)
    path = tmp_path / "tiny.pth"
    torch.save(build_model("hrnet-w8-128x96").state_dict(), path)
    return path


def test_cli_runs_a_tiny_hrnet_and_prints_the_table(dataset, tmp_path):
    images_dir, ann_path, det_path, _ = dataset
    out = tmp_path / "results.json"
    args = ["eval", "coco", "--images", str(images_dir), "--annotations", str(ann_path),
            "--detections", str(det_path), "--weights", str(_tiny_weights(tmp_path)), "--device", "cpu",
            "--set", "pose.model=hrnet-w8-128x96", "--out", str(out), "-q"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "| Arch | AP | AP .5" in res.output
    results = json.loads(out.read_text())
    assert len(results) == 7 and len(results[0]["keypoints"]) == 51


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a, p: a + ["--gt-boxes"], "exactly one"),
        (lambda a, p: [x if x != str(p["ann"]) else str(p["tmp"] / "missing.json") for x in a], "missing.json"),
        (lambda a, p: [x if x != str(p["images"]) else str(p["tmp"] / "noimages") for x in a], "noimages"),
    ],
)
def test_cli_user_errors_exit_2(dataset, tmp_path, change, message):
    images_dir, ann_path, det_path, _ = dataset
    args = ["eval", "coco", "--images", str(images_dir), "--annotations", str(ann_path),
            "--detections", str(det_path), "--device", "cpu", "--set", "pose.model=hrnet-w8-128x96",
            "--set", "pose.weights=null", "-q"]
    args = change(args, {"ann": ann_path, "images": images_dir, "tmp": tmp_path})
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert message in res.output
