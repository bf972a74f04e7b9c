"""The PoseEstimator protocol: keypoints of the people in one frame."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from posetrack.keypoints import KeypointLayout
from posetrack.types import Detections, Poses


class PoseEstimator(Protocol):
    layout: KeypointLayout  # the layout of the poses it returns
    needs_boxes: bool  # True for top-down (boxes in), False for bottom-up (boxes ignored)

    def estimate(self, image: np.ndarray, boxes: Detections | None) -> Poses:
        """Poses in an RGB uint8 HxWx3 image; top-down estimators get the person boxes."""
        ...
