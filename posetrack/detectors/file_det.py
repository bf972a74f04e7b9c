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
from pathlib import Path
from typing import Sequence

import numpy as np

from posetrack.detectors.boxes import filter_boxes
from posetrack.detectors.config import DetectorConfig
from posetrack.errors import FormatError
from posetrack.formats import coco, posetrack2018
from posetrack.formats.common import (
    basename,
    frame_index_from_image_id,
    score,
    xywh_to_xyxy,
)
from posetrack.jsonio import read_json
from posetrack.types import Detections, Frame


def _row(entry: dict, where: str) -> list[float]:
    """x1, y1, x2, y2, score of one detection entry."""
    return xywh_to_xyxy(entry.get("bbox"), where) + [score(entry, where)]


def read_detections_file(path: str | Path) -> tuple[dict[int, np.ndarray], dict[str, np.ndarray]]:
    """{frame index: (N, 5) x1,y1,x2,y2,score} and {file base name: same} from a detections file."""
    path = Path(path)
    data = read_json(path, "detections file")
    by_index: dict[int, list] = defaultdict(list)
    by_name: dict[str, list] = defaultdict(list)
    if coco.is_results_list(data):
        for image_id, entries in coco.people_by_image(data, str(path), "'bbox'").items():
            for i, entry in entries:
                row = _row(entry, f"{path}: entry {i}")
                by_index[frame_index_from_image_id(image_id)].append(row)
                name = entry.get("file_name", entry.get("image_name"))
                if isinstance(name, str):
                    by_name[basename(name)].append(row)
    elif isinstance(data, dict) and "images" in data and "annotations" in data:
        position = posetrack2018.index_images(data, str(path))
        names = [basename(img["file_name"]) if isinstance(img.get("file_name"), str) else None
                 for img in data["images"]]  # fmt: skip
        for index, ann, where in posetrack2018.annotations_by_image(data, str(path), position):
            if "bbox" not in ann:
                continue
            row = _row(ann, where)
            by_index[index].append(row)
            if names[index] is not None:
                by_name[names[index]].append(row)
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
        rows = self.by_name.get(basename(name)) if name else None
        if rows is None:
            rows = self.by_index.get(index, np.zeros((0, 5), np.float32))
        return filter_boxes(rows[:, :4], rows[:, 4], self.config, nms=True)

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        return [self._lookup(f.index, f.name) for f in frames]
