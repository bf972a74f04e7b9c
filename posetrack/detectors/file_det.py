"""Person boxes read from a file (e.g. the public PoseTrack detections), instead of a model.

Two JSON layouts are read:

* COCO detection results: a list of ``{"image_id", "bbox": [x, y, w, h], "score", "category_id"}``.
  Frames are keyed by ``image_id``: it is the 0-based frame index, except for PoseTrack 2018 ids
  (10 or more digits, ``1VVVVVVFFFF``), whose last four digits are the frame index. An entry may
  also carry ``file_name`` (or ``image_name``), which then keys it by file name too.
* PoseTrack / COCO style: ``{"images": [...], "annotations": [...]}``. Each image's ``file_name`` is
  a key (its base name, as image folders name their frames), and so is its position in ``images``
  (the frame index, images listed in frame order as PoseTrack files are).

A frame is looked up by its file name first (image folders), then by its index; a frame the file
does not list has no boxes. Only category 1 (person) is kept when a category is given. Boxes go
through the same score threshold, minimum size and NMS as a model's.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Sequence

import numpy as np

from posetrack.detectors.boxes import filter_boxes
from posetrack.detectors.config import DetectorConfig
from posetrack.errors import FormatError
from posetrack.jsonio import read_json
from posetrack.types import Detections, Frame

POSETRACK_ID_MIN = 10**9  # PoseTrack 2018 image ids are 1VVVVVVFFFF (11 digits)


def _frame_from_image_id(image_id: int) -> int:
    return image_id % 10000 if image_id >= POSETRACK_ID_MIN else image_id


def _basename(name: str) -> str:
    return PurePosixPath(str(name).replace("\\", "/")).name


def _box(entry: dict, where: str) -> tuple[list[float], float]:
    bbox = entry.get("bbox")
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox
    ):
        raise FormatError(f"{where}: 'bbox' must be [x, y, width, height] numbers")
    score = entry.get("score", 1.0)
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        raise FormatError(f"{where}: 'score' must be a number")
    x, y, w, h = (float(v) for v in bbox)
    return [x, y, x + w, y + h], float(score)


def _is_person(entry: dict) -> bool:
    return entry.get("category_id", 1) == 1


def read_detections_file(path: str | Path) -> tuple[dict[int, np.ndarray], dict[str, np.ndarray]]:
    """{frame index: (N, 5) x1,y1,x2,y2,score} and {file base name: same} from a detections file."""
    path = Path(path)
    data = read_json(path, "detections file")
    by_index: dict[int, list] = defaultdict(list)
    by_name: dict[str, list] = defaultdict(list)
    if isinstance(data, list):
        for i, entry in enumerate(data):
            where = f"{path}: entry {i}"
            if not isinstance(entry, dict) or "image_id" not in entry:
                raise FormatError(f"{where}: expected an object with 'image_id' and 'bbox'")
            if not _is_person(entry):
                continue
            box, score = _box(entry, where)
            image_id = entry["image_id"]
            if isinstance(image_id, bool) or not isinstance(image_id, int):
                raise FormatError(f"{where}: 'image_id' must be an integer")
            by_index[_frame_from_image_id(image_id)].append(box + [score])
            name = entry.get("file_name", entry.get("image_name"))
            if isinstance(name, str):
                by_name[_basename(name)].append(box + [score])
    elif isinstance(data, dict) and "images" in data and "annotations" in data:
        images, annotations = data["images"], data["annotations"]
        if not isinstance(images, list) or not isinstance(annotations, list):
            raise FormatError(f"{path}: 'images' and 'annotations' must be lists")
        position: dict = {}
        names: dict = {}
        for i, img in enumerate(images):
            if not isinstance(img, dict) or "id" not in img:
                raise FormatError(f"{path}: images[{i}] has no 'id'")
            position[img["id"]] = i
            if isinstance(img.get("file_name"), str):
                names[img["id"]] = _basename(img["file_name"])
        for i, ann in enumerate(annotations):
            where = f"{path}: annotations[{i}]"
            if not isinstance(ann, dict) or ann.get("image_id") not in position:
                raise FormatError(f"{where}: 'image_id' does not name an entry of 'images'")
            if not _is_person(ann) or "bbox" not in ann:
                continue
            box, score = _box(ann, where)
            by_index[position[ann["image_id"]]].append(box + [score])
            if ann["image_id"] in names:
                by_name[names[ann["image_id"]]].append(box + [score])
    else:
        raise FormatError(
            f"{path}: expected a COCO detection results list or an object with 'images' and 'annotations'"
        )

    def arrays(d: dict) -> dict:
        return {k: np.asarray(v, dtype=np.float32).reshape(-1, 5) for k, v in d.items()}

    return arrays(by_index), arrays(by_name)


class FileDetector:
    """Implements the Detector protocol from a detections file: each frame's boxes are found by
    its file name (image folders) or else by its index in the source."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.by_index, self.by_name = read_detections_file(config.file)

    def _lookup(self, index: int, name: str = "") -> Detections:
        rows = self.by_name.get(_basename(name)) if name else None
        if rows is None:
            rows = self.by_index.get(index, np.zeros((0, 5), np.float32))
        return filter_boxes(rows[:, :4], rows[:, 4], self.config, nms=True)

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        return [self._lookup(f.index, f.name) for f in frames]
