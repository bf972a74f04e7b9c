"""Box helpers for the tracker: boxes from keypoints, merging detected and propagated boxes.

Area, IoU and NMS are :mod:`posetrack.boxes` (shared with the detectors), re-exported here.
"""

from __future__ import annotations

import numpy as np

from posetrack.boxes import box_area, iou_matrix, nms

__all__ = ["box_area", "iou_matrix", "keypoint_boxes", "merge_proposals", "nms"]


def keypoint_boxes(keypoints: np.ndarray, threshold: float, expand: float) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) around each pose's joints scoring above ``threshold``, each side enlarged.

    Width and height grow by the fraction ``expand`` about the centre (0.15 → 15 % larger, the
    enlargement HRNet used for PoseTrack training boxes). Returns boxes and a (N,) mask of the poses
    that had at least two confident joints (a box from fewer is meaningless).
    """
    kp = np.asarray(keypoints, dtype=np.float32)
    conf = kp[..., 2] > threshold  # (N, K)
    big = np.float32(1e9)
    x, y = kp[..., 0], kp[..., 1]
    x1 = np.where(conf, x, big).min(-1)
    y1 = np.where(conf, y, big).min(-1)
    x2 = np.where(conf, x, -big).max(-1)
    y2 = np.where(conf, y, -big).max(-1)
    ok = conf.sum(-1) >= 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    hw, hh = (x2 - x1) * (1 + expand) / 2, (y2 - y1) * (1 + expand) / 2
    boxes = np.stack([cx - hw, cy - hh, cx + hw, cy + hh], -1).astype(np.float32)
    boxes[~ok] = 0
    return boxes.reshape(-1, 4), ok.reshape(-1)


def merge_proposals(
    det_boxes: np.ndarray,
    det_scores: np.ndarray,
    prop_boxes: np.ndarray,
    prop_scores: np.ndarray,
    threshold: float,
    one_to_one: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the detections and propagated boxes to keep (detections: all of them).

    ``one_to_one=False``: NMS in which detections come first and are never suppressed; a propagated
    box is dropped when a kept box overlaps it by more than ``threshold`` IoU.
    ``one_to_one=True``: a detection can stand in for at most one propagated box (pairs taken by
    decreasing IoU above ``threshold``); propagated boxes left over survive even where they overlap
    a detection that already stands for someone else (a missed person next to / behind a detected
    one), and only NMS among themselves.
    """
    nd = len(det_boxes)
    det_boxes = np.asarray(det_boxes, np.float32).reshape(-1, 4)
    prop_boxes = np.asarray(prop_boxes, np.float32).reshape(-1, 4)
    boxes = np.concatenate([det_boxes, prop_boxes])
    scores = np.concatenate(
        [np.asarray(det_scores, np.float32).reshape(-1), np.asarray(prop_scores, np.float32).reshape(-1)]
    )
    is_det = np.arange(len(boxes)) < nd
    if not one_to_one:
        keep = np.sort(nms(boxes, scores, threshold, is_det, protected=is_det))
        return keep[keep < nd], keep[keep >= nd] - nd
    from posetrack.tracker.matching import greedy_match

    iou = iou_matrix(det_boxes, prop_boxes)
    absorbed = np.zeros(len(prop_boxes), dtype=bool)
    for _, j in greedy_match(np.where(iou > threshold, iou, 0.0), max(threshold, 1e-9)):
        absorbed[j] = True
    left = np.flatnonzero(~absorbed)
    kept = left[np.sort(nms(prop_boxes[left], scores[nd:][left], threshold))]
    return np.arange(nd), kept
