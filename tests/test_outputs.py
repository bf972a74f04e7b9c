"""Result files: content and schema of each format, streaming, atomic finalisation."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from posetrack.keypoints import COCO17, POSETRACK17
from posetrack.outputs import (
    CocoJsonWriter,
    CsvWriter,
    JsonLinesWriter,
    PoseTrackJsonWriter,
    table_columns,
)
from posetrack.types import FrameResult, Poses


def _result(index: int, n: int, layout=COCO17) -> FrameResult:
    rng = np.random.default_rng(index)
    kp = rng.uniform(0, 100, (n, layout.num_joints, 3)).astype(np.float32)
    kp[..., 2] = rng.uniform(0, 1, (n, layout.num_joints))
    boxes = np.stack([kp[:, :, 0].min(1), kp[:, :, 1].min(1), kp[:, :, 0].max(1), kp[:, :, 1].max(1)], 1)
    poses = Poses(kp, boxes, rng.uniform(0, 1, n), layout, track_ids=np.arange(n) + 7)
    return FrameResult(index, index / 25.0, 120, 100, poses, name=f"{index:06d}.jpg")


def _files(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir())


def test_posetrack_json_layout(tmp_path):
    path = tmp_path / "clip.posetrack.json"
    w = PoseTrackJsonWriter(path, "clip", POSETRACK17, vid_id=3)
    results = [_result(i, n, POSETRACK17) for i, n in enumerate([2, 0, 3])]
    for r in results:
        w.add(r)
    assert not path.exists()  # nothing at the target until close
    w.close()
    data = json.loads(path.read_text())
    assert set(data) == {"images", "annotations", "categories"}
    assert [im["frame_index"] for im in data["images"]] == [0, 1, 2]
    assert all(im["nframes"] == 3 and im["vid_id"] == 3 for im in data["images"])
    assert data["images"][1]["id"] == 10000030001 and data["images"][1]["file_name"] == "images/clip/000001.jpg"
    anns = data["annotations"]
    assert len(anns) == 5
    first = anns[0]
    assert first["image_id"] == 10000030000 and first["track_id"] == 7  # PoseTrack 1VVVVVVFFFF
    kp = results[0].poses.keypoints[0]
    np.testing.assert_allclose(np.array(first["keypoints"]).reshape(-1, 3), kp, atol=0.006)
    np.testing.assert_allclose(first["scores"], kp[:, 2], atol=1e-4)
    x1, y1, x2, y2 = results[0].poses.boxes[0]
    np.testing.assert_allclose(first["bbox"], [x1, y1, x2 - x1, y2 - y1], atol=0.011)
    assert data["categories"][0]["keypoints"][2] == "head_top"
    assert _files(tmp_path) == ["clip.posetrack.json"]  # no temp files left


def test_coco_results(tmp_path):
    path = tmp_path / "clip.coco.json"
    w = CocoJsonWriter(path)
    for i in range(3):
        w.add(_result(i, 2))
    w.close()
    data = json.loads(path.read_text())
    assert len(data) == 6
    assert {d["image_id"] for d in data} == {0, 1, 2}
    assert all(len(d["keypoints"]) == 51 and d["category_id"] == 1 for d in data)


def test_csv_and_jsonl_rows_agree(tmp_path):
    results = [_result(i, n) for i, n in enumerate([1, 2, 0, 1])]
    cw, jw = CsvWriter(tmp_path / "c.csv", COCO17), JsonLinesWriter(tmp_path / "c.jsonl", COCO17)
    for r in results:
        cw.add(r)
        jw.add(r)
    cw.close()
    jw.close()
    with open(tmp_path / "c.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    lines = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert len(rows) == len(lines) == 4
    assert list(rows[0]) == table_columns(COCO17) == list(lines[0])
    assert [int(r["frame"]) for r in rows] == [0, 1, 1, 3]
    assert float(rows[3]["timestamp"]) == pytest.approx(3 / 25)
    kp = results[3].poses.keypoints[0]
    assert float(rows[3]["left_wrist_x"]) == pytest.approx(kp[9, 0], abs=1e-3)
    assert lines[3]["left_wrist_score"] == pytest.approx(kp[9, 2], abs=1e-3)
    assert lines[1]["track_id"] == 7 and lines[2]["track_id"] == 8


def test_abort_leaves_nothing(tmp_path):
    writers = [
        PoseTrackJsonWriter(tmp_path / "a.json", "a", COCO17),
        CocoJsonWriter(tmp_path / "b.json"),
        CsvWriter(tmp_path / "c.csv", COCO17),
        JsonLinesWriter(tmp_path / "d.jsonl", COCO17),
    ]
    for w in writers:
        w.add(_result(0, 2))
        w.abort()
    assert _files(tmp_path) == []
