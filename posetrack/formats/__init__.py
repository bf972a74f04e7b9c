"""PoseTrack 2017 / 2018 and COCO files, read and written in one place.

* :mod:`~posetrack.formats.common`: image id <-> frame index, file names, boxes, the person
  category and its keypoint layout, number checks;
* :mod:`~posetrack.formats.posetrack2018`, :mod:`~posetrack.formats.posetrack2017`,
  :mod:`~posetrack.formats.coco`: each format's structure, writing and reading;
* :mod:`~posetrack.formats.sequences`: the evaluation's per-frame layout the sequence readers fill.

:func:`read_sequence` picks the reader from :data:`SEQUENCE_READERS`; another format (e.g.
PoseTrack21) slots in as one more ``(name, detect, read_frames)`` entry, ahead of the formats it
could be mistaken for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from posetrack.errors import FormatError
from posetrack.formats import posetrack2017, posetrack2018
from posetrack.formats.sequences import FrameAnno, SequenceAnno
from posetrack.jsonio import read_json

SequenceReader = tuple[str, Callable[[Any], bool], Callable[[dict, str, bool], list[FrameAnno]]]

SEQUENCE_READERS: list[SequenceReader] = [
    ("'annolist' (PoseTrack 2017)", posetrack2017.is_annolist, posetrack2017.read_frames),
    ("'images' (PoseTrack 2018)", posetrack2018.is_posetrack2018, posetrack2018.read_frames),
]


def read_sequence(path: str, is_gt: bool) -> SequenceAnno:
    """Read one sequence file (any format of :data:`SEQUENCE_READERS`) into per-frame arrays."""
    data = read_json(path, "sequence file")
    if not isinstance(data, dict):
        raise FormatError(f"{path}: expected a JSON object at the top level")
    for _, detect, read_frames in SEQUENCE_READERS:
        if detect(data):
            frames = read_frames(data, path, is_gt)
            break
    else:
        known = " nor ".join(name for name, _, _ in SEQUENCE_READERS)
        raise FormatError(f"{path}: neither {known} found")
    name = os.path.basename(path).split(".")[0]
    return SequenceAnno(name, path, frames)


__all__ = ["SEQUENCE_READERS", "read_sequence"]
