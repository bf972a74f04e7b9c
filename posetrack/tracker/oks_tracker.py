"""The pose tracker of one video: a propagator and an associator sharing explicit track state.

Per frame the caller runs the two stages once each, in order:

1. ``propagate(detections, flow)``: every live track is moved into the frame (flow, or a Kalman
   prediction, or not at all) and, for top-down pipelines, the detections are merged with boxes
   propagated from last frame's people; each proposed box says where it came from
   (``Detections.source``: detected, or the id of the track it was propagated from);
2. ``associate(poses)``: the poses estimated in those boxes (their ``source`` kept by the
   estimator) are matched to the moved tracks; track ids are returned.

Bottom-up pipelines and pose files pass ``detections=None`` (nothing to propose). ``update(poses,
flow)`` runs both for callers that have poses but no boxes to propose.
"""

from __future__ import annotations

import numpy as np

from posetrack.keypoints import KeypointLayout
from posetrack.tracker.associator import Associator
from posetrack.tracker.config import TrackerConfig
from posetrack.tracker.propagator import Propagator
from posetrack.tracker.tracks import Tracks
from posetrack.types import Detections, Poses


class PoseTracker:
    """Implements the Tracker protocol (see tracker/base.py); one instance per video."""

    def __init__(self, config: TrackerConfig, layout: KeypointLayout) -> None:
        self.config = config
        self.layout = layout
        self.propagator = Propagator(config)
        self.associator = Associator(config, layout)
        self.reset()

    def reset(self) -> None:
        """Forget all tracks (start of a new video); ids restart at 0."""
        self.tracks = Tracks(self.layout.num_joints)

    def propagate(self, detections: Detections | None, flow: np.ndarray | None) -> Detections | None:
        """Move the tracks into this frame; the boxes to estimate poses in when ``detections`` is given."""
        return self.propagator(self.tracks, detections, flow)

    def associate(self, poses: Poses) -> Poses:
        """``poses`` with ``track_ids`` set; the tracks advance to the next frame."""
        return self.associator(self.tracks, poses)

    def update(self, poses: Poses, flow: np.ndarray | None) -> Poses:
        """Both stages for poses that were not estimated in proposed boxes (bottom-up, pose files)."""
        self.propagate(None, flow)
        return self.associate(poses)
