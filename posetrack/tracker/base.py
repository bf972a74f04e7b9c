"""The Tracker protocol: two stages per frame, propagation (boxes) then association (ids)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from posetrack.types import Detections, Poses


class Tracker(Protocol):
    def propagate(self, detections: Detections | None, flow: np.ndarray | None) -> Detections | None:
        """Move the tracks into this frame by ``flow`` (previous → current, (H, W, 2), or None).

        With ``detections`` (top-down): the boxes to estimate poses in, the detections merged with
        last frame's people moved into this frame, each tagged with its ``source``. Without: None."""
        ...

    def associate(self, poses: Poses) -> Poses:
        """The same poses with ``track_ids`` set (new ids for new people); once per frame, after
        ``propagate``. ``poses.source`` tells which came from propagated boxes."""
        ...
