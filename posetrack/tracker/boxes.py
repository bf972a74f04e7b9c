"""Box helpers for the tracker: IoU, NMS with priorities, boxes from keypoints."""

from __future__ import annotations

import numpy as np


def box_area(boxes: np.ndarray) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every box of ``a`` (N, 4) and every box of ``b`` (M, 4) → (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    union = box_area(a)[:, None] + box_area(b)[None] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    priority: np.ndarray | None = None,
    protected: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, in visiting order.

    Boxes are visited by ``priority`` (higher first), then by score; a box is dropped when its IoU
    with an already kept box exceeds ``threshold``, unless it is ``protected`` (kept regardless, and
    still suppressing others). The tracker protects detections (the detector ran its own NMS) and
    gives them priority, so a propagated box survives only where no detection covers it.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(boxes)
    if n == 0:
        return np.zeros((0,), dtype=np.intp)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    prio = np.zeros(n) if priority is None else np.asarray(priority, dtype=np.float64).reshape(-1)
    order = np.lexsort((-scores, -prio))  # last key is the primary one
    iou = iou_matrix(boxes, boxes)
    suppressed = np.zeros(n, dtype=bool)
    safe = np.zeros(n, dtype=bool) if protected is None else np.asarray(protected, dtype=bool).reshape(-1)
    keep = []
    for i in order:  # loop over boxes (tens per frame), the IoUs are precomputed
        if suppressed[i] and not safe[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > threshold
    return np.asarray(keep, dtype=np.intp)


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
