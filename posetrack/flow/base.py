"""The FlowEstimator protocol: dense optical flow between two consecutive frames."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class FlowEstimator(Protocol):
    def __call__(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Flow from ``previous`` to ``current`` (RGB uint8 HxWx3 each) as an (H, W, 2) float32
        array of (dx, dy) in full-resolution pixels: a point p of ``previous`` is at p + flow[p]."""
        ...
