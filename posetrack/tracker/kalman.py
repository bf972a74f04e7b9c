"""Constant-velocity Kalman filter (filterpy) on a track's box, to predict where it is when there is
no optical flow. State: centre x, y, width, height and their velocities; measurement: the box."""

from __future__ import annotations

import numpy as np


def _cxcywh(box: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float64)
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])


class BoxKalman:
    def __init__(self, box: np.ndarray) -> None:
        from filterpy.kalman import KalmanFilter  # heavy (scipy.stats): only when a track is made

        kf = KalmanFilter(dim_x=8, dim_z=4)
        kf.F = np.eye(8)
        kf.F[:4, 4:] = np.eye(4)  # position += velocity each frame
        kf.H = np.eye(4, 8)
        z = _cxcywh(box)
        scale = max(z[2], z[3], 1.0)
        # Noise proportional to the person's size (pixels): measurements are good to ~5 % of the
        # size, velocities are unknown at birth, and a walker's velocity changes slowly.
        kf.R = np.diag([0.05 * scale] * 4) ** 2
        kf.P = np.diag([0.1 * scale] * 4 + [1.0 * scale] * 4) ** 2
        kf.Q = np.diag([0.01 * scale] * 4 + [0.02 * scale] * 4) ** 2
        kf.x[:4, 0] = z
        self.kf = kf

    def predict(self) -> np.ndarray:
        """Advance one frame; returns the predicted (cx, cy, w, h)."""
        self.kf.predict()
        return self.kf.x[:4, 0].copy()

    def update(self, box: np.ndarray) -> None:
        self.kf.update(_cxcywh(box))

    @property
    def centre(self) -> np.ndarray:
        return self.kf.x[:2, 0].copy()
