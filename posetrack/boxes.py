"""Axis-aligned boxes (x1, y1, x2, y2): area, IoU, and the one greedy NMS every stage uses
(detectors' score-ordered NMS, the tracker's NMS with priorities)."""

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
