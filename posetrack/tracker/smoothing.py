"""One-Euro filter (Casiez et al., CHI 2012) for keypoint jitter, vectorised over joints.

Time is counted in frames (the tracker does not know the frame rate), so cut-off frequencies are in
cycles per frame: min_cutoff 1.0 smooths only slightly, lower values smooth more; beta raises the
cut-off when a joint moves fast, so fast motion lags little.
"""

from __future__ import annotations

import numpy as np


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters (K, 2) positions of one track; call with the positions and the frame gap."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None

    def __call__(self, x: np.ndarray, dt: float = 1.0) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.x is None:
            self.x, self.dx = x.copy(), np.zeros_like(x)
            return x.astype(np.float32)
        dt = max(float(dt), 1e-6)
        dx = (x - self.x) / dt
        a_d = _alpha(self.d_cutoff, dt)
        self.dx = a_d * dx + (1 - a_d) * self.dx
        cutoff = self.min_cutoff + self.beta * np.linalg.norm(self.dx, axis=-1, keepdims=True)
        a = _alpha(cutoff, dt)
        self.x = a * x + (1 - a) * self.x
        return self.x.astype(np.float32)
