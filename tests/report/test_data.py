"""RunRecorder's bookkeeping on hand-made results: spans with gaps, key frames, bounded memory."""

from __future__ import annotations

import numpy as np

from posetrack.keypoints import COCO17
from posetrack.report.data import RunRecorder
from posetrack.types import FrameResult, Poses


def _result(index: int, ids: list[int], image=True) -> FrameResult:
    n = len(ids)
    kp = np.zeros((n, 17, 3), np.float32)
    kp[..., :2] = 20 + 5 * np.arange(17)[None, :, None]
    kp[..., 2] = 0.5
    kp[:, 0, 2] = 1.0  # the nose is always sure
    boxes = np.tile(np.array([10, 10, 60, 110], np.float32), (n, 1))
    poses = Poses(kp, boxes, np.ones(n), COCO17, ids)
    img = np.full((120, 160, 3), 80, np.uint8) if image else None
    return FrameResult(index, index / 25, 160, 120, poses, image=img)


def test_spans_gaps_confidence_and_key_frames():
    rec = RunRecorder(COCO17, {"pose": 0.0})
    layout = [[1], [1, 2], [2], [1, 2], [1, 2, 3], [3]]  # id 1 has a gap at frame 2
    for i, ids in enumerate(layout):
        rec.add(_result(i, ids))
    data = rec.data()
    assert data["frames"] == 6 and data["num_tracks"] == 3
    assert data["tracks"]["1"] == {"frames": 4, "spans": [[0, 1], [3, 4]]}
    assert data["tracks"]["2"] == {"frames": 4, "spans": [[1, 4]]}
    assert data["tracks"]["3"] == {"frames": 2, "spans": [[4, 5]]}
    assert data["people_per_frame"] == [1, 2, 1, 2, 3, 1]
    assert data["joint_confidence"][0] == 1.0 and data["joint_confidence"][1] == 0.5
    keys = rec.key_frames()
    indices = [k.frame_index for k in keys]
    assert indices == sorted(set(indices)) and indices[0] == 0 and indices[-1] == 5
    assert "first" in keys[0].reason and "last" in keys[-1].reason
    by_index = {k.frame_index: k.reason for k in keys}
    assert "track 2 starts" in by_index[1] and "track 1 ends" in by_index[1]  # 1 is gone at frame 2


def test_key_frames_are_bounded_and_spread():
    rec = RunRecorder(COCO17, None, max_events=4)
    for i in range(400):  # a new id every frame: 399 "events", all equal
        rec.add(_result(i, [i]))
    assert len(rec._events) <= 16  # the pool holds a few times what is shown, never more
    keys = rec.key_frames()
    assert len(keys) == 6
    inner = [k.frame_index for k in keys[1:-1]]
    assert max(np.diff([0] + inner + [399])) < 200  # not all bunched at one end


def test_no_images_no_key_frames():
    rec = RunRecorder(COCO17, None)
    for i in range(3):
        rec.add(_result(i, [1], image=False))
    assert rec.key_frames() == [] and rec.data()["frames"] == 3
