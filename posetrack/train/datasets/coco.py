"""COCO-format keypoint annotations -> training records (top-down people, bottom-up images).

Also used for CrowdPose (same JSON format, 14 joints, no segmentation: no ignore mask, as the
official ``CrowdPoseKeypoints.get_mask``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posetrack.errors import FormatError
from posetrack.evaluation.coco import load_coco
from posetrack.pose.transforms import xywh_to_center_scale
from posetrack.train.datasets.bottomup import ImageRecord
from posetrack.train.datasets.topdown import PersonRecord


def _keypoints(ann: dict, num_joints: int, source: str) -> np.ndarray:
    kp = ann.get("keypoints")
    if not isinstance(kp, list) or len(kp) != 3 * num_joints:
        raise FormatError(
            f"{source}: annotation {ann.get('id')} has {len(kp) if isinstance(kp, list) else 'no'} keypoint "
            f"values, expected {3 * num_joints} ({num_joints} joints)"
        )
    try:
        return np.asarray(kp, dtype=np.float64).reshape(num_joints, 3)
    except (TypeError, ValueError):
        raise FormatError(f"{source}: annotation {ann.get('id')}: keypoints must be numbers") from None


def _file_name(info: dict) -> str:
    return info.get("file_name") or f"{info['id']:012d}.jpg"


def topdown_records(coco, images_dir: Path, num_joints: int, aspect_ratio: float, source: str) -> list[PersonRecord]:
    """Official ``_load_coco_keypoint_annotation_kernal``: non-crowd people with area > 0, a box that
    survives cleaning (``x2 = min(W - 1, x1 + max(0, w - 1))``) and at least one keypoint value > 0;
    visibility clamped to 1; centre/scale of the clean box at the network aspect ratio, x1.25."""
    records: list[PersonRecord] = []
    for img_id in coco.getImgIds():
        info = coco.loadImgs(img_id)[0]
        width, height = info.get("width"), info.get("height")
        if not isinstance(width, (int, float)) or not isinstance(height, (int, float)):
            raise FormatError(f"{source}: image {img_id} has no width/height")
        boxes, joints = [], []
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=False)):
            if ann.get("category_id") != 1:
                continue
            x, y, w, h = ann["bbox"]
            x1, y1 = max(0, x), max(0, y)
            x2 = min(width - 1, x1 + max(0, w - 1))
            y2 = min(height - 1, y1 + max(0, h - 1))
            if not (ann.get("area", 0) > 0 and x2 >= x1 and y2 >= y1):
                continue
            kp = _keypoints(ann, num_joints, source)
            if kp.max() == 0:
                continue
            kp[:, 2] = np.minimum(kp[:, 2], 1)
            boxes.append([x1, y1, x2 - x1, y2 - y1])
            joints.append(kp)
        if not boxes:
            continue
        centers, scales = xywh_to_center_scale(np.asarray(boxes), aspect_ratio)
        path = images_dir / _file_name(info)
        for c, s, j in zip(centers, scales, joints):
            records.append(PersonRecord(path, c, s, j, img_id))
    return records


def bottomup_records(coco, images_dir: Path, num_joints: int, source: str, with_mask: bool = True) -> list[ImageRecord]:
    """Official ``CocoKeypoints``: images with at least one annotation (crowd included); the people
    are the annotations that are not crowd or have keypoints; the ignore mask is made of the crowd
    regions and the people with ``num_keypoints == 0``."""
    records: list[ImageRecord] = []
    for img_id in coco.getImgIds():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        if not anns:
            continue
        info = coco.loadImgs(img_id)[0]
        width, height = info.get("width"), info.get("height")
        if not isinstance(width, int) or not isinstance(height, int):
            raise FormatError(f"{source}: image {img_id} has no integer width/height")
        ignore = []
        people = []
        for ann in anns:
            crowd = bool(ann.get("iscrowd", 0))
            nkp = ann.get("num_keypoints")
            kp = _keypoints(ann, num_joints, source)
            if nkp is None:
                nkp = int((kp[:, 2] > 0).sum())
            if with_mask and (crowd or nkp == 0) and ann.get("segmentation"):
                ignore.append((ann["segmentation"], crowd))
            if not crowd or nkp > 0:
                people.append(kp)
        joints = np.stack(people) if people else np.zeros((0, num_joints, 3))
        records.append(ImageRecord(images_dir / _file_name(info), width, height, joints, ignore, img_id))
    return records


def load_coco_split(annotations: Path):
    """pycocotools COCO of an annotation file, checked (FormatError naming the file).

    ``iscrowd`` defaults to 0 where a file leaves it out (pycocotools' ``getAnnIds`` needs it).
    """
    coco = load_coco(annotations)
    for ann in coco.dataset.get("annotations", []):
        ann.setdefault("iscrowd", 0)
    return coco
