"""Object keypoint similarity (OKS), vectorised over all pairs of poses.

COCO's definition: OKS = mean over counted joints of exp(-d^2 / (2 * s^2 * k_i^2)), with
k_i = 2 * sigma_i and s^2 the object area. It is used by OKS-NMS of duplicate poses (top-down) and
by the tracker to associate poses across frames.
"""

from __future__ import annotations

import numpy as np


def oks_matrix(
    a: np.ndarray,
    b: np.ndarray,
    area: np.ndarray | float,
    sigmas: np.ndarray,
    counted: np.ndarray | None = None,
) -> np.ndarray:
    """OKS between every pose of ``a`` (N, K, >=2) and every pose of ``b`` (M, K, >=2).

    ``area`` broadcasts to (N, M) (e.g. ``(area_a[:, None] + area_b[None]) / 2``). ``counted``
    broadcasts to (N, M, K) and says which joints take part; by default all do. A pair with no
    counted joint has OKS 0.
    """
    a = np.asarray(a, dtype=np.float64)[..., :2]
    b = np.asarray(b, dtype=np.float64)[..., :2]
    variances = (2.0 * np.asarray(sigmas, dtype=np.float64)) ** 2  # (K,)
    d2 = ((a[:, None] - b[None]) ** 2).sum(-1)  # (N, M, K)
    area = np.broadcast_to(np.asarray(area, dtype=np.float64), d2.shape[:2])
    e = d2 / variances / (area[..., None] + np.spacing(1)) / 2.0
    similarity = np.exp(-e)
    if counted is None:
        return similarity.mean(-1) if similarity.shape[-1] else np.zeros(d2.shape[:2])
    counted = np.broadcast_to(np.asarray(counted, dtype=bool), d2.shape)
    n = counted.sum(-1)
    total = np.where(counted, similarity, 0.0).sum(-1)
    return np.divide(total, n, out=np.zeros_like(total), where=n > 0)
