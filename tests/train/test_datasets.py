"""Datasets on synthetic COCO / PoseTrack / CrowdPose files: selection, masks, targets, ignore regions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posetrack.pose.models import model_spec
from posetrack.train.config import load_train_config
from posetrack.train.datasets.bottomup import ignore_mask
from posetrack.train.datasets.coco import bottomup_records, load_coco_split, topdown_records
from posetrack.train.datasets.common import coco_paths
from posetrack.train.datasets.posetrack import posetrack_records
from posetrack.train.engine import build_data
from tests.train.synth import write_coco, write_posetrack


def test_coco_topdown_selection_and_centre_scale(tmp_path):
    ann = write_coco(tmp_path, "train", 3, seed=2, crowd=True, no_keypoint_person=True)
    data = json.loads(ann.read_text())
    data["annotations"].append(dict(data["annotations"][0], id=999, area=0))  # zero area: dropped
    ann.write_text(json.dumps(data))
    coco = load_coco_split(ann)
    paths = coco_paths(tmp_path, "train")
    recs = topdown_records(coco, paths.images, 17, 0.75, str(ann))
    people = [a for a in data["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0 and a["area"] > 0]
    assert len(recs) == len(people)
    a, r = people[0], recs[0]
    x, y, w, h = a["bbox"]
    cw, ch = w - 1, h - 1  # the official cleaned box
    assert r.center == pytest.approx([x + cw / 2, y + ch / 2], abs=1e-4)
    fit_h = max(ch, cw / 0.75)
    assert r.scale[1] == pytest.approx(fit_h / 200 * 1.25, rel=1e-5)
    assert set(np.unique(r.joints[:, 2])) <= {0.0, 1.0}  # visibility 2 clamped to 1


def test_coco_bottomup_mask_from_crowd_and_keypointless_people(tmp_path):
    ann = write_coco(tmp_path, "train", 2, seed=3, crowd=True, no_keypoint_person=True, width=96, height=80)
    coco = load_coco_split(ann)
    recs = bottomup_records(coco, coco_paths(tmp_path, "train").images, 17, str(ann))
    m = ignore_mask(recs[0])
    assert m.shape == (80, 96) and m.dtype == bool
    assert not m[:20, :20].any()  # crowd RLE
    assert not m[55:68, 70:84].any()  # the person without keypoints (polygon)
    assert m[40, 40]
    # official filter (iscrowd == 0 or num_keypoints > 0): the crowd region is no person; the
    # keypoint-less non-crowd one stays (all-zero joints, it adds no target)
    assert len(recs[0].joints) == 3 and not recs[0].joints[2].any()


def test_bottomup_sample_targets_masks_and_joints(tmp_path):
    write_coco(tmp_path, "train", 2, seed=4, crowd=True, width=96, height=80)
    cfg = load_train_config("higherhrnet-w32-coco", {"model.name": "higherhrnet-w8-128", "data.train_split": "train",
                                                      "data.val_split": None})
    data = build_data(cfg, tmp_path, model_spec("higherhrnet-w8-128"), 17)
    data.train.set_epoch(0)
    s = data.train[0]
    assert s["image"].shape == (3, 128, 128) and s["image"].dtype.is_floating_point is False
    assert [h.shape for h in s["heatmaps"]] == [(17, 32, 32), (17, 64, 64)]
    assert [m.shape for m in s["masks"]] == [(32, 32), (64, 64)]
    assert [j.shape for j in s["joints"]] == [(30, 17, 2), (30, 17, 2)]
    assert s["heatmaps"][0].max() == 1.0
    j = s["joints"][0].numpy()
    assert j[0, 0, 1] == 1 and (j[:, :, 0] < 17 * 32 * 32).all()
    again = data.train[0]  # same epoch, same index: the same sample
    assert all((a == b).all() for a, b in zip(s["heatmaps"], again["heatmaps"]))
    data.train.set_epoch(1)
    assert not all((a == b).all() for a, b in zip(s["heatmaps"], data.train[0]["heatmaps"]))


def test_posetrack_records_boxes_and_ignore_regions(tmp_path):
    write_posetrack(tmp_path, "train", n_sequences=1, n_frames=3)
    recs, seqs = posetrack_records(tmp_path, "train", 0.75)
    assert len(recs) == 3 * 2 and all(r.joints.shape == (17, 3) for r in recs)
    assert (recs[0].joints[[3, 4], 2] == 0).all()  # ears never annotated
    j = recs[0].joints
    seen = j[:, 2] > 0
    lo, hi = j[seen, :2].min(0), j[seen, :2].max(0)
    w, h = (hi - lo) * 1.15
    assert recs[0].scale[1] == pytest.approx(max(h, w / 0.75) / 200 * 1.25, rel=1e-4)
    assert recs[0].image.is_file()
    # a joint placed in the ignore region loses its label
    from posetrack.train.datasets.posetrack import frame_people

    fr = seqs[0].frames[0]
    poly = fr.ignore[0]
    fr.people.xy[0, 0] = poly.mean(axis=0)
    assert frame_people(fr, "")[0, 16, 2] == 0  # eval joint 0 (right ankle) -> PoseTrack-17 16


def test_crowdpose_bottomup_has_14_joints_and_no_mask(tmp_path):
    write_coco(tmp_path, "trainval", 2, seed=5, width=96, height=80, num_joints=14, prefix="crowdpose", crowd=True)
    cfg = load_train_config("higherhrnet-w32-crowdpose", {"model.name": "higherhrnet-w8-128-crowdpose",
                                                          "data.val_split": None})
    from posetrack.train.engine import build_network

    net, spec = build_network("higherhrnet-w8-128-crowdpose", None)  # the 14-joint registry network
    assert net.final_layers[0].out_channels == 28
    data = build_data(cfg, tmp_path, spec, 14)
    s = data.train[0]
    assert s["heatmaps"][0].shape[0] == 14 and s["masks"][0].min() >= 0
    assert data.train.records[0].ignore == []  # CrowdPose: no ignore mask, as the official


def test_topdown_validation_boxes_from_a_detection_file(tmp_path):
    ann = write_coco(tmp_path, "val", 2, seed=6, width=96, height=80)
    write_coco(tmp_path, "train", 2, seed=6, width=96, height=80)
    gt = json.loads(ann.read_text())["annotations"]
    dets = [{"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"], "score": 0.8} for a in gt]
    dets.append({"image_id": gt[0]["image_id"], "category_id": 1, "bbox": [1, 1, 10, 10], "score": 0.3})
    det_file = tmp_path / "dets.json"
    det_file.write_text(json.dumps(dets))
    cfg = load_train_config("hrnet-w32-coco", {"model.name": "hrnet-w8-128x96", "data.train_split": "train",
                                               "data.val_split": "val", "data.val_detections": str(det_file)})
    data = build_data(cfg, tmp_path, model_spec("hrnet-w8-128x96"), 17)
    boxes = data.val.boxes
    assert sum(len(b[0]) for b in boxes.values()) == len(dets)
    assert sorted(boxes[gt[0]["image_id"]][1].tolist()) == [0.3] + [0.8] * sum(
        a["image_id"] == gt[0]["image_id"] for a in gt)


def test_posetrack2017_annolist_gives_the_same_records(tmp_path):
    from posetrack.evaluation.posetrack_io import read_sequence

    a = tmp_path / "a"
    write_posetrack(a, "train", n_sequences=1, n_frames=3)
    src = next((a / "annotations" / "train").glob("*.json"))
    seq = read_sequence(str(src), is_gt=True)
    annolist = []
    for fr in seq.frames:
        rects = []
        for p in range(len(fr.people)):
            pts = [{"id": [j], "x": [float(fr.people.xy[p, j, 0])], "y": [float(fr.people.xy[p, j, 1])]}
                   for j in range(15) if fr.people.present[p, j]]
            x1, y1, x2, y2 = (float(v) for v in fr.people.head[p])
            rects.append({"track_id": [int(fr.people.track_ids[p])], "x1": [x1], "y1": [y1], "x2": [x2], "y2": [y2],
                          "annopoints": [{"point": pts}]})
        regions = [{"point": [{"x": [float(x)], "y": [float(y)]} for x, y in poly]} for poly in fr.ignore]
        annolist.append({"image": [{"name": fr.name}], "annorect": rects, "ignore_regions": regions})
    b = tmp_path / "b"
    (b / "annotations" / "train").mkdir(parents=True)
    (b / "annotations" / "train" / src.name).write_text(json.dumps({"annolist": annolist}))
    (b / "images").symlink_to(a / "images")
    ra, _ = posetrack_records(a, "train", 0.75)
    rb, _ = posetrack_records(b, "train", 0.75)
    assert len(ra) == len(rb) > 0
    for x, y in zip(ra, rb):
        np.testing.assert_allclose(x.joints, y.joints)
        np.testing.assert_allclose(x.scale, y.scale)
        assert y.image.is_file()
