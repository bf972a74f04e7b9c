"""Tracking: flow propagation of people, OKS association (greedy / Hungarian), lifecycle, smoothing.

Names are imported on first use, so loading a config (which imports ``posetrack.tracker.config``)
does not pull in filterpy and scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from posetrack.lazy import lazy_attributes

if TYPE_CHECKING:
    from posetrack.keypoints import KeypointLayout
    from posetrack.tracker.oks_tracker import PoseTracker

_EXPORTS = {
    "Associator": "posetrack.tracker.associator",
    "PoseTracker": "posetrack.tracker.oks_tracker",
    "Propagator": "posetrack.tracker.propagator",
    "Tracker": "posetrack.tracker.base",
    "TrackerConfig": "posetrack.tracker.config",
    "Tracks": "posetrack.tracker.tracks",
    "TrackState": "posetrack.tracker.tracks",
}


def build_tracker(config, layout: KeypointLayout) -> PoseTracker:
    """A tracker for poses in ``layout`` (its OKS sigmas are used for association)."""
    from posetrack.tracker.oks_tracker import PoseTracker

    return PoseTracker(config, layout)


__getattr__ = lazy_attributes(__name__, _EXPORTS)


__all__ = ["Associator", "PoseTracker", "Propagator", "TrackState", "Tracker", "TrackerConfig", "Tracks",
           "build_tracker"]
