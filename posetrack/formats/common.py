"""The rules every PoseTrack / COCO file shares: image ids and frame indices, file names, boxes,
numbers, the person category and its keypoint layout.

Image ids: PoseTrack 2018 numbers an image ``1VVVVVVFFFF`` (``10**10 + video * 10**4 + frame``), so
any id of 10 or more digits carries its frame index in its last four digits; a smaller id (COCO
results written for a single video) *is* the frame index.
"""

from __future__ import annotations

import math
from pathlib import PurePosixPath
from typing import Any

from posetrack.errors import FormatError
from posetrack.keypoints import COCO17, POSETRACK17, KeypointLayout

POSETRACK_ID_MIN = 10**9  # ids at least this large follow the 1VVVVVVFFFF rule
POSETRACK_ID_BASE = 10**10  # the leading 1
FRAMES_PER_VIDEO = 10**4  # the four frame digits
PERSON = 1  # COCO / PoseTrack category id of "person"


def posetrack_image_id(video: int, frame_index: int) -> int:
    """The PoseTrack 2018 image id of ``frame_index`` of video number ``video``."""
    if not 0 <= frame_index < FRAMES_PER_VIDEO:
        raise ValueError(f"frame index {frame_index} does not fit PoseTrack's four frame digits")
    return POSETRACK_ID_BASE + int(video) * FRAMES_PER_VIDEO + int(frame_index)


def frame_index_from_image_id(image_id: int) -> int:
    """The frame index an image id stands for (see the module docstring)."""
    return image_id % FRAMES_PER_VIDEO if image_id >= POSETRACK_ID_MIN else image_id


def video_number(value: Any) -> int:
    """A ``vid_id`` as files carry it (1, "000001") as a number; 0 when it is none."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def basename(name: Any) -> str:
    """The file name without folders (either slash), as image folders name their frames."""
    return PurePosixPath(str(name).replace("\\", "/")).name


def frame_file_name(video_name: str, frame_index: int, name: str | None = None) -> str:
    """``images/<video>/<frame file>`` as PoseTrack 2018 writes it (``000042.jpg`` by default)."""
    return f"images/{video_name}/{name or f'{frame_index:06d}.jpg'}"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(value: Any, where: str) -> float:
    """A JSON number (not a bool, not NaN/inf) or a FormatError naming ``where``."""
    if not is_number(value) or not math.isfinite(value):
        got = type(value).__name__ if not is_number(value) else repr(value)
        raise FormatError(f"{where}: expected a number, got {got}")
    return float(value)


def is_box(bbox: Any) -> bool:
    """Four finite numbers (a ``bbox`` as COCO and PoseTrack write it)."""
    return isinstance(bbox, (list, tuple)) and len(bbox) == 4 and all(
        is_number(v) and math.isfinite(v) for v in bbox
    )


def xywh_to_xyxy(bbox: Any, where: str) -> list[float]:
    """``[x, y, w, h]`` (COCO, PoseTrack) -> corners; FormatError unless four finite numbers."""
    if not is_box(bbox):
        raise FormatError(f"{where}: 'bbox' must be [x, y, width, height] numbers")
    x, y, w, h = (float(v) for v in bbox)
    return [x, y, x + w, y + h]


def xyxy_to_xywh(box: Any, digits: int = 2) -> list[float]:
    """Corners -> ``[x, y, w, h]`` rounded for writing."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return [round(v, digits) for v in (x1, y1, x2 - x1, y2 - y1)]


def score(entry: dict, where: str, default: float = 1.0) -> float:
    value = entry.get("score", default)
    if not is_number(value):
        raise FormatError(f"{where}: 'score' must be a number")
    return float(value)


def is_person(entry: dict) -> bool:
    """Entries without a category are people (detection and pose files often omit it)."""
    return entry.get("category_id", PERSON) == PERSON


def categories(layout: KeypointLayout) -> list[dict]:
    """The ``categories`` list of a file holding poses in ``layout``."""
    cat = {
        "id": PERSON,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(layout.joints),
        "skeleton": [[a + 1, b + 1] for a, b in layout.skeleton],  # 1-based, as in COCO/PoseTrack
    }
    if layout.estimated:
        cat["estimated_keypoints"] = list(layout.estimated)
    return [cat]


def layout_from_categories(categories: Any) -> KeypointLayout:
    """COCO-17 or PoseTrack-17 from the category's keypoint names (PoseTrack-17 when none)."""
    if isinstance(categories, list):
        for cat in categories:
            names = tuple(cat.get("keypoints", ())) if isinstance(cat, dict) else ()
            if names == COCO17.joints:
                return COCO17
            if names == POSETRACK17.joints:
                return POSETRACK17
            if names:
                raise FormatError(f"category keypoints {list(names)[:4]}... are neither COCO-17 nor PoseTrack-17")
    return POSETRACK17
