"""PoseTrack sequences in the evaluation's layout: 15 joints in poseval's order, per frame.

The containers every sequence reader fills (:mod:`posetrack.formats.posetrack2018`,
:mod:`posetrack.formats.posetrack2017`, and any further format beside them), and the checks they
share. Everything poseval refuses is a :class:`~posetrack.errors.FormatError` naming file and
field; where poseval silently accepts something odd a warning goes to the ``posetrack`` logger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from posetrack.errors import FormatError
from posetrack.formats.common import is_number

log = logging.getLogger("posetrack")

NUM_JOINTS = 15
# The joint order of poseval's evaluation (its "LSP" order); index 12 is PoseTrack's head_bottom,
# which poseval calls "neck".
EVAL_JOINTS: tuple[str, ...] = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    "head_bottom", "nose", "head_top",
)  # fmt: skip
# Names as poseval reports them (head_bottom is "neck" in its output files).
REPORT_NAMES: tuple[str, ...] = EVAL_JOINTS[:12] + ("neck", "nose", "head_top")
MAX_TRACK_ID = 10000  # poseval asserts track ids below this (it offsets ids per sequence)
MIN_SCORE = -9999.0  # poseval's score for a predicted joint without a score


@dataclass
class People:
    """The people of one frame in the evaluation layout (15 joints, poseval's order)."""

    xy: np.ndarray  # (P, 15, 2) float64
    present: np.ndarray  # (P, 15) bool: the joint exists (annotated / predicted)
    scores: np.ndarray  # (P, 15) float64 joint scores (MIN_SCORE where a prediction has none)
    track_ids: np.ndarray  # (P,) int64
    head: np.ndarray  # (P, 4) float64 head box x1, y1, x2, y2 (NaN where absent)
    # Points with ids outside 0..14 (or repeated ids), per person: they cannot be matched but they
    # keep a person alive when ignore regions remove its other points, as in poseval.
    extra: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.track_ids)

    @classmethod
    def empty(cls) -> People:
        return cls(
            np.zeros((0, NUM_JOINTS, 2)),
            np.zeros((0, NUM_JOINTS), bool),
            np.zeros((0, NUM_JOINTS)),
            np.zeros((0,), np.int64),
            np.zeros((0, 4)),
            [],
        )

    def select(self, keep: np.ndarray) -> People:
        keep = np.asarray(keep, bool)
        return People(
            self.xy[keep],
            self.present[keep],
            self.scores[keep],
            self.track_ids[keep],
            self.head[keep],
            [e for e, k in zip(self.extra, keep) if k],
        )


@dataclass
class FrameAnno:
    """One frame of a sequence file."""

    name: str  # image file name as written in the file
    people: People
    labeled: bool  # the file lists at least one person for this frame (poseval keeps only those)
    ignore: list[np.ndarray]  # ignore-region polygons, each (V, 2)
    has_ignore: bool  # the frame carries a non-empty ignore-region list


@dataclass
class SequenceAnno:
    name: str  # file stem
    path: str
    frames: list[FrameAnno]


# ----------------------------------------------------------------------------------------------
# value checks shared by the readers


def first(value, where: str):
    """poseval stores most values as one-element lists; accept a bare value too."""
    if isinstance(value, list):
        if not value:
            raise FormatError(f"{where}: empty list")
        return value[0]
    return value


def number(value, where: str) -> float:
    """A JSON number (as poseval takes it: NaN allowed) or a FormatError naming ``where``."""
    if not is_number(value):
        raise FormatError(f"{where}: expected a number, got {type(value).__name__}")
    return float(value)


def track_id(value, where: str) -> int:
    v = first(value, where)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer():
        raise FormatError(f"{where}: track id must be an integer, got {v!r}")
    v = int(v)
    if v >= MAX_TRACK_ID:
        raise FormatError(f"{where}: track id {v} >= {MAX_TRACK_ID} (the official toolkit rejects it)")
    return v


def polygon(xs, ys, where: str) -> np.ndarray:
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
        raise FormatError(f"{where}: x and y lists of different length")
    try:
        arr = np.array([xs, ys])
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.ndim != 2 or arr.dtype.kind not in "iuf":
        for v in xs + ys:
            number(v, where)
        raise FormatError(f"{where}: malformed polygon")  # pragma: no cover
    pts = arr.T.astype(np.float64)
    if 0 < len(pts) < 3:
        log.warning("%s: ignore region with %d points is not a polygon; it ignores nothing", where, len(pts))
    return pts


@dataclass
class PersonBuilder:
    track_id: int
    head: tuple[float, float, float, float]
    xy: np.ndarray = field(default_factory=lambda: np.zeros((NUM_JOINTS, 2)))
    present: np.ndarray = field(default_factory=lambda: np.zeros(NUM_JOINTS, bool))
    scores: np.ndarray = field(default_factory=lambda: np.full(NUM_JOINTS, MIN_SCORE))
    extra: list = field(default_factory=list)


def stack(persons: list[PersonBuilder]) -> People:
    if not persons:
        return People.empty()
    return People(
        np.stack([p.xy for p in persons]),
        np.stack([p.present for p in persons]),
        np.stack([p.scores for p in persons]),
        np.array([p.track_id for p in persons], np.int64),
        np.array([p.head for p in persons], np.float64),
        [np.asarray(p.extra, np.float64).reshape(-1, 2) for p in persons],
    )
