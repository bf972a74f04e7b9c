"""Person rescoring and OKS-NMS of duplicate poses, as the official HRNet ``evaluate()`` does them.

Rescoring: person score = box score x mean of the keypoint scores above ``threshold`` (0 when none
is above; official IN_VIS_THRE = 0.2). The mean is accumulated in float32 in joint order, as the
official loop over float32 scores does.

OKS-NMS (official ``oks_nms`` / ``oks_iou``): greedy in descending person score; a pose is dropped
when its OKS with a kept pose exceeds the threshold (official OKS_THRE = 0.9). The area of a pose is
the area of its official crop, ``scale[0] * scale[1] * 200^2``, averaged between the two poses.
The official ``oks_iou`` has an optional visibility filter written
``list(vg > t) and list(vd > t)``; a non-empty Python list is truthy, so the expression always
evaluates to its second operand: only the *candidate* pose's joint scores select the joints that
count. The official evaluate() never passes that threshold (all joints count); ``in_vis_threshold``
reproduces the quirk when given.
"""

from __future__ import annotations

import numpy as np

from posetrack.oks import oks_matrix
from posetrack.pose.transforms import PIXEL_STD


def rescore(keypoint_scores: np.ndarray, box_scores: np.ndarray, threshold: float) -> np.ndarray:
    """(N, K) keypoint scores, (N,) box scores -> (N,) float64 person scores (official rescoring)."""
    s = np.asarray(keypoint_scores, dtype=np.float32)
    above = s > threshold
    total = np.cumsum(np.where(above, s, np.float32(0.0)), axis=1, dtype=np.float32)
    total = total[:, -1] if s.shape[1] else np.zeros(len(s), np.float32)
    count = above.sum(axis=1)
    mean = np.where(count > 0, total / np.maximum(count, 1).astype(np.float32), np.float32(0.0))
    return mean.astype(np.float32).astype(np.float64) * np.asarray(box_scores, dtype=np.float64)


def crop_areas(scales: np.ndarray) -> np.ndarray:
    """Official pose area: product of scale * 200 (float32 as official, returned as float64)."""
    s = np.asarray(scales, dtype=np.float32) * np.float32(PIXEL_STD)
    return np.prod(s, axis=1).astype(np.float64)


def oks_nms(
    keypoints: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    threshold: float,
    sigmas: np.ndarray,
    in_vis_threshold: float | None = None,
) -> np.ndarray:
    """Indices of the poses kept by official OKS-NMS, in the official order (best first).

    ``keypoints`` (N, K, 3), ``scores`` (N,), ``areas`` (N,) (see :func:`crop_areas`).
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    n = len(kp)
    if n == 0:
        return np.zeros((0,), np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    areas = np.asarray(areas, dtype=np.float64)
    counted = None
    if in_vis_threshold is not None:
        counted = (kp[:, :, 2] > in_vis_threshold)[None, :, :]  # candidate's joints only (quirk)
    mean_area = (areas[:, None] + areas[None, :]) / 2.0
    oks = oks_matrix(kp, kp, mean_area, sigmas, counted)  # oks[i, j]: kept i vs candidate j
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        order = rest[oks[i, rest] <= threshold]
    return np.asarray(keep, dtype=np.int64)
