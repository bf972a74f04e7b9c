"""Tracking: flow propagation of people, OKS association (greedy / Hungarian), lifecycle, smoothing."""

from __future__ import annotations

from posetrack.keypoints import KeypointLayout
from posetrack.tracker.associator import Associator
from posetrack.tracker.base import Tracker
from posetrack.tracker.config import TrackerConfig
from posetrack.tracker.oks_tracker import PoseTracker
from posetrack.tracker.propagator import Propagator
from posetrack.tracker.tracks import Tracks, TrackState


def build_tracker(config: TrackerConfig, layout: KeypointLayout) -> PoseTracker:
    """A tracker for poses in ``layout`` (its OKS sigmas are used for association)."""
    return PoseTracker(config, layout)


__all__ = ["Associator", "PoseTracker", "Propagator", "TrackState", "Tracker", "TrackerConfig", "Tracks",
           "build_tracker"]
