"""One format module: the id rules, and every reader of a file our writers wrote agreeing with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posetrack import formats
from posetrack.detectors.file_det import read_detections_file
from posetrack.errors import FormatError
from posetrack.formats import posetrack2018
from posetrack.formats.common import (
    basename,
    frame_index_from_image_id,
    posetrack_image_id,
    video_number,
    xywh_to_xyxy,
)
from posetrack.formats.sequences import FrameAnno, People
from posetrack.keypoints import POSETRACK17
from posetrack.outputs import CocoJsonWriter, PoseTrackJsonWriter
from posetrack.tracker.posefile import read_poses_file
from posetrack.types import FrameResult, Poses


def test_image_id_and_frame_index_rules():
    assert posetrack_image_id(12, 3) == 10000120003  # PoseTrack 2018: 1 VVVVVV FFFF
    for video, index in ((0, 0), (1, 9999), (999999, 42)):
        assert frame_index_from_image_id(posetrack_image_id(video, index)) == index
    assert frame_index_from_image_id(57) == 57  # small ids are the frame index
    assert posetrack2018.image_id("000003", 5) == 10000030005  # vid_id as files carry it
    assert posetrack2018.image_id(3, 12345) == 12345  # past four frame digits: the plain index
    assert (video_number("000001"), video_number(7), video_number(None), video_number("x")) == (1, 7, 0, 0)
    assert basename("images\\val\\000001.jpg") == basename("images/val/000001.jpg") == "000001.jpg"
    with pytest.raises(FormatError, match="here: 'bbox' must be"):
        xywh_to_xyxy([1, 2, "3", 4], "here")


def _results(layout, n_frames=4):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n_frames):
        n = i % 3
        kp = rng.uniform(10, 90, (n, layout.num_joints, 3)).astype(np.float32)
        kp[..., 2] = rng.uniform(0.1, 1, (n, layout.num_joints))
        boxes = np.concatenate([kp[:, :, :2].min(1), kp[:, :, :2].max(1)], 1)
        poses = Poses(kp, boxes, rng.uniform(0.5, 1, n).astype(np.float32), layout, np.arange(n) + 3)
        out.append(FrameResult(i, i / 25, 100, 100, poses, name=f"{i:06d}.jpg"))
    return out


def test_files_written_by_our_writers_read_back_through_every_reader(tmp_path: Path):
    results = _results(POSETRACK17)
    pt, co = tmp_path / "seq.json", tmp_path / "seq.coco.json"
    w = PoseTrackJsonWriter(pt, "seq", POSETRACK17, vid_id="000007")
    c = CocoJsonWriter(co)
    for r in results:
        w.add(r)
        c.add(r)
    w.close()
    c.close()

    # pose-file reader: PoseTrack file, frames by position, the layout from the category
    frames, layout = read_poses_file(pt)
    assert layout is POSETRACK17 and [f.index for f in frames] == [0, 1, 2, 3]
    for f, r in zip(frames, results):
        np.testing.assert_allclose(f.poses.keypoints, r.poses.keypoints, atol=0.006)
        assert frame_index_from_image_id(f.image["id"]) == r.frame_index
    # pose-file reader, COCO results: frames from the image ids (frames 0 and 3 have nobody)
    frames, _ = read_poses_file(co)
    assert [f.index for f in frames] == [1, 2]
    np.testing.assert_allclose(frames[1].poses.keypoints, results[2].poses.keypoints, atol=0.006)
    # detection-file reader: both files give the same boxes per frame index
    by_index_pt, by_name = read_detections_file(pt)
    by_index_co, _ = read_detections_file(co)
    for r in results:
        want = r.poses.boxes
        for got in (by_index_pt.get(r.frame_index), by_index_co.get(r.frame_index)):
            if len(want):
                np.testing.assert_allclose(got[:, :4], want, atol=0.011)
            else:
                assert got is None
    assert set(by_name) == {f"{r.frame_index:06d}.jpg" for r in results if len(r.poses)}
    # evaluator: the same frames, people and track ids
    seq = formats.read_sequence(str(pt), is_gt=False)
    assert [len(f.people) for f in seq.frames] == [len(r.poses) for r in results]
    assert [f.people.track_ids.tolist() for f in seq.frames] == [r.poses.track_ids.tolist() for r in results]
    # the writer wrote the image entries the id rule describes
    data = json.loads(pt.read_text())
    assert [im["id"] for im in data["images"]] == [10000070000 + i for i in range(4)]


@pytest.mark.parametrize("reader", [read_poses_file, read_detections_file])
def test_every_reader_names_the_same_structural_errors(tmp_path: Path, reader):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": [{"file_name": "a.jpg"}], "annotations": []}))
    with pytest.raises(FormatError, match=r"bad.json: images\[0\] has no 'id'"):
        reader(bad)
    bad.write_text(json.dumps({"images": [{"id": 1}], "annotations": [{"image_id": 2, "bbox": [0, 0, 1, 1],
                                                                         "keypoints": [0] * 51}]}))
    with pytest.raises(FormatError, match=r"annotations\[0\]: 'image_id' does not name an entry of 'images'"):
        reader(bad)
    bad.write_text(json.dumps([{"image_id": "7", "bbox": [0, 0, 1, 1]}]))
    with pytest.raises(FormatError, match="entry 0: expected an object with an integer 'image_id'"):
        reader(bad)


def test_a_further_sequence_format_slots_in(tmp_path: Path, monkeypatch):
    """How a PoseTrack21 (or any) reader joins: one more entry of SEQUENCE_READERS."""
    path = tmp_path / "seq.json"
    path.write_text(json.dumps({"my_format": [1, 2]}))
    with pytest.raises(FormatError, match="neither 'annolist' .* nor 'images'"):
        formats.read_sequence(str(path), is_gt=True)

    def read_frames(data, where, is_gt):
        return [FrameAnno(f"{i}.jpg", People.empty(), False, [], False) for i in data["my_format"]]

    readers = [("'my_format'", lambda d: "my_format" in d, read_frames), *formats.SEQUENCE_READERS]
    monkeypatch.setattr(formats, "SEQUENCE_READERS", readers)
    seq = formats.read_sequence(str(path), is_gt=True)
    assert seq.name == "seq" and [f.name for f in seq.frames] == ["1.jpg", "2.jpg"]
