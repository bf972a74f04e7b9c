"""The Detector protocol: person boxes for a batch of frames."""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from posetrack.types import Detections


class Detector(Protocol):
    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Person boxes for each RGB uint8 HxWx3 image (one Detections per image, in order)."""
        ...
