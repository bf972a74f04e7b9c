"""OpenCV's HOG + linear SVM people detector (Dalal & Triggs): no weights to download.

The SVM's margins are not probabilities; the score reported is sigmoid(margin), so
``score_threshold: 0.5`` is the SVM's own decision boundary. OpenCV 5 moved HOG out of the main
package (into opencv-contrib); with such a build this detector raises a ConfigError saying so.

Frames smaller than the detection window (64x128 px) crash OpenCV's ``detectMultiScale`` (abort or
segfault), so such a frame is enlarged just enough to hold one window and the boxes are scaled
back: a person filling a 96 px tall frame can still be found.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from posetrack.detectors.boxes import filter_boxes
from posetrack.detectors.config import DetectorConfig
from posetrack.errors import ConfigError
from posetrack.types import Detections, Frame


def hog_available() -> bool:
    return hasattr(cv2, "HOGDescriptor") and hasattr(cv2, "HOGDescriptor_getDefaultPeopleDetector")


class HogDetector:
    """Implements the Detector protocol with cv2.HOGDescriptor's default people detector."""

    def __init__(self, config: DetectorConfig, win_stride: int = 8, scale: float = 1.05) -> None:
        if not hog_available():
            raise ConfigError(
                f"detector 'hog' needs OpenCV's HOGDescriptor, which this OpenCV ({cv2.__version__}) "
                "does not have (OpenCV 5 moved it to opencv-contrib); choose another detector"
            )
        self.config = config
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.win_stride, self.scale = win_stride, scale

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        out = []
        for frame in frames:
            gray = cv2.cvtColor(np.ascontiguousarray(frame.image), cv2.COLOR_RGB2GRAY)
            win_w, win_h = self.hog.winSize
            h, w = gray.shape
            up = max(win_w / w, win_h / h, 1.0)
            if up > 1.0:
                size = (max(win_w, round(w * up)), max(win_h, round(h * up)))
                gray = cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR)
            rects, weights = self.hog.detectMultiScale(
                gray, hitThreshold=0.0, winStride=(self.win_stride, self.win_stride), scale=self.scale
            )
            rects = np.asarray(rects, dtype=np.float32).reshape(-1, 4) / up
            margins = np.asarray(weights, dtype=np.float32).reshape(-1)
            boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], 1)
            out.append(filter_boxes(boxes, 1.0 / (1.0 + np.exp(-margins)), self.config, nms=True))
        return out
