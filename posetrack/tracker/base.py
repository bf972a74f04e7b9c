"""The Tracker protocol: it proposes boxes from its past people and assigns track ids."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from posetrack.types import Detections, Poses


class Tracker(Protocol):
    def propose(self, detections: Detections, flow: np.ndarray | None) -> Detections:
        """Boxes to estimate poses in: the detections merged (NMS) with last frame's people moved
        into this frame by ``flow`` (previous → current, (H, W, 2)), when there is one."""
        ...

    def update(self, poses: Poses, flow: np.ndarray | None) -> Poses:
        """The same poses with ``track_ids`` set (new ids for new people)."""
        ...
