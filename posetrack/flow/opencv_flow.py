"""CPU optical flow from OpenCV: DIS (fast, the default) and Farneback."""

from __future__ import annotations

import threading

import cv2
import numpy as np

_DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def _gray(rgb: np.ndarray, scale: float) -> np.ndarray:
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    if scale != 1.0:
        h, w = gray.shape
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return gray


def upscale_flow(flow: np.ndarray, height: int, width: int) -> np.ndarray:
    """Flow computed on a resized frame, resized back to (height, width) with vectors rescaled."""
    h, w = flow.shape[:2]
    if (h, w) == (height, width):
        return flow.astype(np.float32, copy=False)
    out = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= width / w
    out[..., 1] *= height / h
    return out.astype(np.float32, copy=False)


class OpenCVFlow:
    """Dense flow previous → current with DIS or Farneback, optionally at reduced resolution."""

    def __init__(self, method: str = "dis", scale: float = 1.0, preset: str = "medium") -> None:
        if method not in ("dis", "farneback"):
            raise ValueError(f"unknown OpenCV flow method {method!r}")
        if preset not in _DIS_PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}")
        self.method = method
        self.scale = float(scale)
        self.preset = preset
        self._local = threading.local()  # one DIS object per thread: calc() is not re-entrant

    def _dis(self):
        dis = getattr(self._local, "dis", None)
        if dis is None:
            dis = self._local.dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[self.preset])
        return dis

    def __call__(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        h, w = current.shape[:2]
        a, b = _gray(previous, self.scale), _gray(current, self.scale)
        if self.method == "dis":
            flow = self._dis().calc(a, b, None)
        else:
            # OpenCV's documented example parameters: pyramid 0.5, 3 levels, window 15,
            # 3 iterations, polynomial neighbourhood 5 with sigma 1.2.
            flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        return upscale_flow(flow, h, w)
