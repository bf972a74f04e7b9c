"""The data that flows between pipeline stages.

Conventions (see DESIGN.md): coordinates are float32 pixels of the original frame, x right, y down;
boxes are (x1, y1, x2, y2); keypoints are (people, joints, 3) arrays of x, y, score. Images are RGB
uint8 HxWx3 numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from posetrack.keypoints import KeypointLayout


@dataclass
class Frame:
    """One decoded frame."""

    index: int  # 0-based position of the frame in the source (before --stride is applied)
    timestamp: float  # seconds, from the frame's PTS (or index / fps for image folders)
    image: np.ndarray  # RGB uint8, H x W x 3
    name: str = ""  # file name for image folders, else ""
    device_image: Any = None  # the same frame as an HxWx3 uint8 torch tensor on the GPU, when uploaded

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


# Where a proposed box (and the pose estimated in it) came from: DETECTED, or the id (>= 0) of the
# track it was propagated from.
DETECTED = -1


def _source(source, n: int) -> np.ndarray:
    if source is None:
        return np.full(n, DETECTED, dtype=np.int64)
    out = np.asarray(source, dtype=np.int64).reshape(-1)
    if len(out) != n:
        raise ValueError("source differs in length from the boxes")
    return out


def _as_f32(a, shape_tail: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float32)
    if arr.size == 0:
        return arr.reshape((0,) + shape_tail)
    return arr


@dataclass
class Detections:
    """Person boxes in one frame, each with its provenance."""

    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2
    scores: np.ndarray  # (N,) float32
    source: np.ndarray = field(default=None)  # (N,) int64: DETECTED (-1) or the propagating track's id

    def __post_init__(self) -> None:
        self.boxes = _as_f32(self.boxes, (4,)).reshape(-1, 4)
        self.scores = _as_f32(self.scores, ()).reshape(-1)
        if len(self.boxes) != len(self.scores):
            raise ValueError("boxes and scores differ in length")
        self.source = _source(self.source, len(self.boxes))

    @property
    def propagated(self) -> np.ndarray:
        """(N,) bool: the boxes that came from a track, not from the detector."""
        return self.source != DETECTED

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))

    def select(self, index) -> Detections:
        return Detections(self.boxes[index], self.scores[index], self.source[index])


@dataclass
class Poses:
    """People in one frame: keypoints, boxes, person scores and (once tracked) track ids."""

    keypoints: np.ndarray  # (N, K, 3) float32 x, y, score
    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2
    scores: np.ndarray  # (N,) float32 person score
    layout: KeypointLayout
    track_ids: np.ndarray = field(default=None)  # (N,) int64; -1 until the tracker assigns one
    # (N,) int64: provenance of the box the pose was estimated in (Detections.source); DETECTED for
    # poses not estimated in a proposed box (bottom-up, poses read from a file)
    source: np.ndarray = field(default=None)

    def __post_init__(self) -> None:
        k = self.layout.num_joints
        self.keypoints = _as_f32(self.keypoints, (k, 3)).reshape(-1, k, 3)
        self.boxes = _as_f32(self.boxes, (4,)).reshape(-1, 4)
        self.scores = _as_f32(self.scores, ()).reshape(-1)
        if self.track_ids is None:
            self.track_ids = np.full(len(self.keypoints), -1, dtype=np.int64)
        self.track_ids = np.asarray(self.track_ids, dtype=np.int64).reshape(-1)
        n = len(self.keypoints)
        self.source = _source(self.source, n)
        if not (len(self.boxes) == len(self.scores) == len(self.track_ids) == n):
            raise ValueError("keypoints, boxes, scores and track_ids differ in length")

    def __len__(self) -> int:
        return len(self.keypoints)

    @classmethod
    def empty(cls, layout: KeypointLayout) -> Poses:
        k = layout.num_joints
        return cls(np.zeros((0, k, 3)), np.zeros((0, 4)), np.zeros((0,)), layout)

    def select(self, index) -> Poses:
        return Poses(
            self.keypoints[index],
            self.boxes[index],
            self.scores[index],
            self.layout,
            self.track_ids[index],
            self.source[index],
        )


@dataclass
class FrameResult:
    """What the pipeline yields for each processed frame."""

    frame_index: int
    timestamp: float
    width: int
    height: int
    poses: Poses
    name: str = ""
    image: np.ndarray | None = None  # the RGB frame, kept only when a sink needs it (rendering)
