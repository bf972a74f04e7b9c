"""PoseTrack 2018 / 2017 annotation folders -> top-down training records (PoseTrack-17 joints).

Layout as ``posetrack eval posetrack`` reads it: ``ROOT/annotations/<split>/*.json`` (one file per
sequence, 2018 ``images``/``annotations`` or 2017 ``annolist``), image paths in the files relative
to ROOT. Read with the evaluator's reader (:func:`posetrack.evaluation.posetrack_io.read_sequence`),
then brought to PoseTrack-17 (COCO order; ears never annotated).

Boxes, as the HRNet paper (§4.3): the box of the annotated keypoints extended by 15% in length
(both sides, about its centre); then the usual top-down centre/scale (aspect ratio fixed, x1.25),
our reading of "otherwise the same as COCO". Ignore regions: joints inside one are unlabelled
(weight 0), as the evaluation drops them; people left with no joint are not trained on.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import numpy as np

from posetrack.errors import InputError
from posetrack.evaluation.posetrack_io import EVAL_JOINTS, SequenceAnno, read_sequence
from posetrack.keypoints import POSETRACK17
from posetrack.pose.transforms import xywh_to_center_scale
from posetrack.train.datasets.topdown import PersonRecord

BOX_EXTENSION = 1.15
# evaluation joint j -> PoseTrack-17 index
EVAL_TO_PT17 = np.array([POSETRACK17.joints.index(n) for n in EVAL_JOINTS])


def sequence_files(root: str | Path, split: str) -> list[str]:
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"dataset root not found: {root}")
    folder = root / "annotations" / split
    if not folder.is_dir():
        raise InputError(f"{root}: no PoseTrack annotation folder annotations/{split}/")
    files = sorted(glob.glob(os.path.join(folder, "*.json")))
    if not files:
        raise InputError(f"{folder}: no .json sequence files")
    return files


def to_posetrack17(xy: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(P, 15, 2) + (P, 15) evaluation-order joints -> (P, 17, 3) PoseTrack-17 x, y, visibility."""
    out = np.zeros((len(xy), 17, 3))
    out[:, EVAL_TO_PT17, :2] = np.where(present[..., None], xy, 0.0)
    out[:, EVAL_TO_PT17, 2] = present
    return out


def keypoint_boxes_xywh(joints: np.ndarray, extension: float = BOX_EXTENSION) -> np.ndarray:
    """(P, 4) x, y, w, h of each person's labelled joints, each side x ``extension`` about the centre."""
    seen = joints[..., 2] > 0
    lo = np.where(seen[..., None], joints[..., :2], np.inf).min(axis=1)
    hi = np.where(seen[..., None], joints[..., :2], -np.inf).max(axis=1)
    size = (hi - lo) * extension
    centre = (lo + hi) / 2
    return np.concatenate([centre - size / 2, size], axis=1)


def _inside(points: np.ndarray, polygons: list[np.ndarray]) -> np.ndarray:
    from posetrack.evaluation.posetrack_eval import points_in_polygon

    inside = np.zeros(len(points), bool)
    for poly in polygons:
        inside |= points_in_polygon(points, poly)
    return inside


def frame_people(frame, sequence_path: str) -> np.ndarray:
    """(P, 17, 3) PoseTrack-17 joints of one frame, joints inside ignore regions unlabelled."""
    j = to_posetrack17(frame.people.xy, frame.people.present)
    if frame.ignore and len(j):
        flat = j.reshape(-1, 3)
        inside = _inside(flat[:, :2], frame.ignore) & (flat[:, 2] > 0)
        flat[inside] = 0.0
    return j


def posetrack_records(root: str | Path, split: str, aspect_ratio: float) -> tuple[list[PersonRecord], list[SequenceAnno]]:
    """Training records of every labelled person, and the parsed sequences (for validation)."""
    root = Path(root)
    records: list[PersonRecord] = []
    sequences = [read_sequence(p, is_gt=True) for p in sequence_files(root, split)]
    image_id = 0
    for seq in sequences:
        for frame in seq.frames:
            image_id += 1
            if not frame.labeled or len(frame.people) == 0:
                continue
            joints = frame_people(frame, seq.path)
            keep = (joints[..., 2] > 0).sum(axis=1) >= 2  # a box needs two joints
            if not keep.any():
                continue
            joints = joints[keep]
            xywh = keypoint_boxes_xywh(joints)
            sized = (xywh[:, 2] > 0) | (xywh[:, 3] > 0)
            joints, xywh = joints[sized], xywh[sized]
            centers, scales = xywh_to_center_scale(xywh, aspect_ratio)
            for c, s, jt in zip(centers, scales, joints):
                records.append(PersonRecord(root / frame.name, c, s, jt, image_id))
    return records, sequences
