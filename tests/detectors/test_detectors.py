"""Detectors: torchvision models (random weights, tiny inputs), boxes from files, HOG, none."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from posetrack.detectors import DetectorConfig, NoDetector, build_detector
from posetrack.detectors.hog import hog_available
from posetrack.detectors.torchvision_det import PERSON_LABEL, TorchvisionDetector, person_detections
from posetrack.errors import CheckpointError, ConfigError, FormatError, InputError
from posetrack.synthetic import crossing_scene
from posetrack.types import Detections, Frame


def _cheap(det: TorchvisionDetector, proposals: int = 50) -> TorchvisionDetector:
    # Fewer region proposals than torchvision's 1000: same code path, a fraction of the CPU time.
    det.model.rpn._pre_nms_top_n = {"training": proposals, "testing": proposals}
    det.model.rpn._post_nms_top_n = {"training": proposals, "testing": proposals}
    return det


def test_fasterrcnn_v2_random_weights_keeps_only_people():
    torch.manual_seed(0)
    cfg = DetectorConfig(name="fasterrcnn-r50-fpn-v2", weights=None, input_size=64, score_threshold=0.0,
                         min_box_size=0.0, batch_size=2)
    det = _cheap(build_detector(cfg, "cpu"))
    assert isinstance(det, TorchvisionDetector)
    with torch.no_grad():  # make "person" win about half the time, so both kinds of labels appear
        det.model.roi_heads.box_predictor.cls_score.bias[PERSON_LABEL] += 4.0
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(3)]
    raw = det.raw(images)
    assert len(raw) == 3  # batches of 2 then 1
    labels = raw[0]["labels"].numpy()
    assert (labels == PERSON_LABEL).any() and (labels != PERSON_LABEL).any()
    out = det.detect([Frame(i, 0.0, img) for i, img in enumerate(images)])
    assert len(out) == 3 and all(isinstance(d, Detections) for d in out)
    for r, d in zip(raw, out):
        person_boxes = r["boxes"].numpy()[r["labels"].numpy() == PERSON_LABEL]
        assert 0 < len(d) <= len(person_boxes)
        # every returned box is one of the model's person boxes, none of its other classes
        dist = np.abs(d.boxes[:, None] - person_boxes[None]).max(-1)
        assert (dist.min(1) < 1e-4).all()
        assert np.all(np.diff(d.scores) <= 0)


def test_person_filter_threshold_size_and_nms():
    cfg = DetectorConfig(score_threshold=0.5, nms_threshold=0.5, min_box_size=10)
    output = {
        "boxes": torch.tensor([[0, 0, 50, 100], [2, 2, 52, 102], [0, 0, 50, 100], [60, 0, 65, 50],
                               [100, 0, 150, 100], [200, 0, 250, 100]], dtype=torch.float32),
        "labels": torch.tensor([1, 1, 3, 1, 1, 1]),
        "scores": torch.tensor([0.9, 0.8, 0.99, 0.9, 0.7, 0.4]),
    }
    d = person_detections(output, cfg)
    # box 1 suppressed by box 0 (IoU 0.89), box 2 is a car, box 3 is 5 px wide, box 5 scores 0.4
    np.testing.assert_allclose(d.boxes, [[0, 0, 50, 100], [100, 0, 150, 100]])
    np.testing.assert_allclose(d.scores, [0.9, 0.7])


def test_detector_weights_file_round_trip_and_mismatch(tmp_path):
    torch.manual_seed(0)
    cfg = DetectorConfig(name="fasterrcnn-mobilenet-v3-large-fpn", weights=None, input_size=64)
    model = build_detector(cfg, "cpu").model
    good = tmp_path / "good.pth"
    torch.save(model.state_dict(), good)
    loaded = build_detector(DetectorConfig(name=cfg.name, weights=str(good), input_size=64), "cpu").model
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])
    bad = tmp_path / "bad.pth"
    torch.save({k: v for i, (k, v) in enumerate(model.state_dict().items()) if i}, bad)  # one key short
    with pytest.raises(CheckpointError, match="bad.pth"):
        build_detector(DetectorConfig(name=cfg.name, weights=str(bad)), "cpu")
    with pytest.raises(InputError):
        build_detector(DetectorConfig(name=cfg.name, weights=str(tmp_path / "missing.pth")), "cpu")


def _frames(n: int, names: bool = False) -> list[Frame]:
    img = np.zeros((8, 8, 3), np.uint8)
    return [Frame(i, i / 25, img, f"{i:06d}.jpg" if names else "") for i in range(n)]


def test_detections_from_coco_results_file(tmp_path):
    path = tmp_path / "dets.json"
    path.write_text(json.dumps([
        {"image_id": 0, "bbox": [10, 20, 30, 60], "score": 0.9, "category_id": 1},
        {"image_id": 0, "bbox": [100, 20, 30, 60], "score": 0.3, "category_id": 1},  # below threshold
        {"image_id": 0, "bbox": [10, 20, 30, 60], "score": 0.95, "category_id": 18},  # a dog
        {"image_id": 2, "bbox": [5, 5, 20, 40], "score": 0.8, "category_id": 1},
        {"image_id": 10000120003, "bbox": [1, 2, 20, 40], "score": 0.7},  # PoseTrack id → frame 3
    ]))
    det = build_detector(DetectorConfig(name="file", file=str(path), score_threshold=0.5), "cpu")
    out = det.detect(_frames(4))  # by index: frames 0, 1, 2, 3
    np.testing.assert_allclose(out[0].boxes, [[10, 20, 40, 80]])
    assert len(out[1]) == 0
    np.testing.assert_allclose(out[2].boxes, [[5, 5, 25, 45]])
    np.testing.assert_allclose(out[3].boxes, [[1, 2, 21, 42]])
    by_frame = det.detect(_frames(3)[2:])
    np.testing.assert_allclose(by_frame[0].scores, [0.8])


def test_detections_from_posetrack_style_file_keyed_by_name_and_position(tmp_path):
    path = tmp_path / "seq.json"
    path.write_text(json.dumps({
        "images": [{"id": 10005, "file_name": "images/val/seq/000000.jpg"},
                   {"id": 10006, "file_name": "images/val/seq/000001.jpg"}],
        "annotations": [{"image_id": 10006, "bbox": [0, 0, 10, 20], "score": 0.9, "category_id": 1},
                        {"image_id": 10005, "bbox": [5, 5, 10, 20], "score": 0.6}],
    }))
    det = build_detector(DetectorConfig(name="file", file=str(path)), "cpu")
    named = det.detect([Frame(7, 0.0, np.zeros((4, 4, 3), np.uint8), "000001.jpg")])
    np.testing.assert_allclose(named[0].boxes, [[0, 0, 10, 20]])  # by name, whatever the index
    by_index = det.detect(_frames(2))
    np.testing.assert_allclose(by_index[0].boxes, [[5, 5, 15, 25]])
    np.testing.assert_allclose(by_index[1].boxes, [[0, 0, 10, 20]])


def test_detections_file_errors(tmp_path):
    with pytest.raises(InputError):
        build_detector(DetectorConfig(name="file", file=str(tmp_path / "nope.json")))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": 0, "bbox": [1, 2, 3]}]))
    with pytest.raises(FormatError, match="bbox"):
        build_detector(DetectorConfig(name="file", file=str(bad)))
    bad.write_text("{not json")
    with pytest.raises(FormatError, match="JSON"):
        build_detector(DetectorConfig(name="file", file=str(bad)))
    from posetrack.configbase import from_dict

    with pytest.raises(ConfigError, match="file"):
        from_dict(DetectorConfig, {"name": "file"})


def test_hog_detector_on_synthetic_image():
    image = crossing_scene(num_frames=1).frames()[0].image
    cfg = DetectorConfig(name="hog", score_threshold=0.0)
    assert hog_available()  # setup.cfg pins OpenCV 4, which has the people detector
    out = build_detector(cfg).detect([Frame(0, 0.0, image)])
    assert len(out) == 1 and isinstance(out[0], Detections)
    assert ((out[0].scores >= 0) & (out[0].scores <= 1)).all()


def test_none_detector():
    det = build_detector(DetectorConfig(name="none"))
    assert isinstance(det, NoDetector)
    out = det.detect(_frames(2))
    assert [len(d) for d in out] == [0, 0]
