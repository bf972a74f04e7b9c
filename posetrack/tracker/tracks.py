"""The tracks of one video, as arrays: what the propagator moves and the associator matches.

One row per live track, in creation order. The state is plain data handed to both stages in turn
(propagator, then associator, once per frame); neither keeps any of it, so what one stage tells the
other is visible here: ``moved_to`` says the tracks have been moved into frame ``frame``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from posetrack.tracker.kalman import BoxKalman
from posetrack.tracker.smoothing import OneEuroFilter


class TrackState(IntEnum):
    """Life cycle of a track (a deleted track is no longer in :class:`Tracks`)."""

    TENTATIVE = 0  # matched in the last associated frame, fewer than min_hits matches: id not reported
    CONFIRMED = 1  # matched in the last associated frame, id reported
    LOST = 2  # not matched in the last associated frame, still matchable (within the memory window)


@dataclass
class Tracks:
    """Live tracks; ``frame`` is the number of the frame being processed (0-based, per call)."""

    num_joints: int
    ids: np.ndarray = field(default=None)  # (M,) int64
    keypoints: np.ndarray = field(default=None)  # (M, K, 3) float32 last pose, moved into ``frame``
    boxes: np.ndarray = field(default=None)  # (M, 4) float32 last box, moved likewise
    scores: np.ndarray = field(default=None)  # (M,) float32
    last_seen: np.ndarray = field(default=None)  # (M,) int64 frame of the last match
    hits: np.ndarray = field(default=None)  # (M,) int64 frames matched so far
    since_detection: np.ndarray = field(default=None)  # (M,) consecutive matches from propagated boxes
    state: np.ndarray = field(default=None)  # (M,) int8 TrackState
    kalman: list[BoxKalman] = field(default_factory=list)  # per track when tracker.kalman, else empty
    smoother: list[OneEuroFilter] = field(default_factory=list)  # per track when smoothing, else empty
    frame: int = 0
    moved_to: int = -1  # the frame the tracks were last moved into (set by the propagator)
    next_id: int = 0

    def __post_init__(self) -> None:
        k = self.num_joints
        empty = {
            "ids": ((0,), np.int64), "keypoints": ((0, k, 3), np.float32), "boxes": ((0, 4), np.float32),
            "scores": ((0,), np.float32), "last_seen": ((0,), np.int64), "hits": ((0,), np.int64),
            "since_detection": ((0,), np.int64), "state": ((0,), np.int8),
        }  # fmt: skip
        for name, (shape, dtype) in empty.items():
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(shape, dtype))

    def __len__(self) -> int:
        return len(self.ids)

    def keep(self, mask: np.ndarray) -> None:
        """Delete the tracks where ``mask`` is False."""
        for name in ("ids", "keypoints", "boxes", "scores", "last_seen", "hits", "since_detection", "state"):
            setattr(self, name, getattr(self, name)[mask])
        idx = np.flatnonzero(mask)
        if self.kalman:
            self.kalman = [self.kalman[i] for i in idx]
        if self.smoother:
            self.smoother = [self.smoother[i] for i in idx]

    def add(self, keypoints: np.ndarray, boxes: np.ndarray, scores: np.ndarray, since_detection: np.ndarray,
            state: np.ndarray) -> np.ndarray:
        """Append new tracks seen in ``frame`` (one match each); returns their ids."""
        n = len(keypoints)
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        self.ids = np.concatenate([self.ids, ids])
        self.keypoints = np.concatenate([self.keypoints, keypoints.astype(np.float32)])
        self.boxes = np.concatenate([self.boxes, boxes.astype(np.float32)])
        self.scores = np.concatenate([self.scores, scores.astype(np.float32)])
        self.last_seen = np.concatenate([self.last_seen, np.full(n, self.frame, np.int64)])
        self.hits = np.concatenate([self.hits, np.ones(n, np.int64)])
        self.since_detection = np.concatenate([self.since_detection, since_detection.astype(np.int64)])
        self.state = np.concatenate([self.state, state.astype(np.int8)])
        return ids
