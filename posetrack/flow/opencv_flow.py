"""CPU optical flow from OpenCV: DIS (fast, the default) and Farneback.

Tiny frames: OpenCV's DIS fails (an error, or a segfault for wide frames under 16 px tall) on
images a side of which is below its patch pyramid's minimum, so frames are never given to it
smaller than :data:`MIN_SIDE` pixels a side: smaller ones (after ``scale``) are enlarged to that
and the flow is brought back to the frame's size with its vectors rescaled. Any input size works.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

_DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


MIN_SIDE = 32  # smallest side (pixels) a frame is given to DIS / Farneback with


def _gray(rgb: np.ndarray, scale: float) -> np.ndarray:
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    size = (max(MIN_SIDE, round(w * scale)), max(MIN_SIDE, round(h * scale)))
    if size != (w, h):
        area = size[0] * size[1] < w * h
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA if area else cv2.INTER_LINEAR)
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
