"""COCO results files: a JSON list of ``{"image_id", "category_id", "bbox" | "keypoints", "score"}``.

Written by the COCO result writer, read as person boxes (the detection-file reader) and as poses
(the pose-file reader). ``image_id`` is an integer; its frame index follows
:func:`posetrack.formats.common.frame_index_from_image_id`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from posetrack.errors import FormatError
from posetrack.formats.common import PERSON, is_person, xyxy_to_xywh


def result_entry(image_id: int, keypoints: np.ndarray, score: float, box: np.ndarray, track_id: int) -> dict:
    """One person of a COCO keypoint results list (keypoints (K, 3), box x1, y1, x2, y2)."""
    return {
        "image_id": int(image_id),
        "category_id": PERSON,
        "keypoints": [round(float(v), 2) for v in np.asarray(keypoints).reshape(-1)],
        "score": round(float(score), 4),
        "bbox": xyxy_to_xywh(box),
        "track_id": int(track_id),
    }


def is_results_list(data: Any) -> bool:
    return isinstance(data, list)


def people_by_image(data: list, path: str, needs: str) -> dict[int, list[tuple[int, dict]]]:
    """The person entries of a results list grouped by ``image_id`` (in file order), each with its
    position; FormatError naming the first entry that is not an object with an integer image_id."""
    groups: dict[int, list[tuple[int, dict]]] = {}
    for i, entry in enumerate(data):
        image_id = entry.get("image_id") if isinstance(entry, dict) else None
        if isinstance(image_id, bool) or not isinstance(image_id, int):
            raise FormatError(f"{path}: entry {i}: expected an object with an integer 'image_id' and {needs}")
        if is_person(entry):
            groups.setdefault(image_id, []).append((i, entry))
    return groups
