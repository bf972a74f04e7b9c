"""Tracking settings: propagation, association, track lifecycle, smoothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from posetrack.configbase import bounded


@dataclass
class TrackerConfig:
    matching: Literal["greedy", "hungarian"] = "greedy"
    similarity_threshold: float = bounded(0.2, 0.0, 1.0)  # minimum OKS for a match
    memory: int = bounded(5, 1)  # frames of past poses a new pose can be matched against
    max_age: int = bounded(30, 1)  # cap on frames a track survives unmatched (min with memory applies)
    min_hits: int = bounded(1, 1)  # matches before a track's id is reported
    keypoint_threshold: float = bounded(0.3, 0.0, 1.0)  # joints above it take part in OKS
    propagate: bool = True  # flow-propagate last frame's people into this frame
    propagate_box_expand: float = bounded(0.15, 0.0, 2.0)  # box = keypoint extent enlarged by this
    propagate_max_age: int = bounded(5, 0)  # frames a propagated box lives without a detection
    nms_threshold: float = bounded(0.6, 0.0, 1.0)  # IoU for merging detected + propagated boxes
    # nms: a propagated box overlapping any detection is dropped; one-to-one: each detection stands
    # in for at most one propagated box (see docs/tracking.md)
    merge: Literal["nms", "one-to-one"] = "nms"
    # Where fewer than fallback_joints joints are confident: association blends OKS with the IoU of
    # the pose's box and the flow-moved track box, and propagation moves the track's box instead of
    # making one from its joints (docs/tracking.md, "Unreliable poses")
    box_fallback: bool = False
    fallback_joints: int = bounded(6, 1, 1000)
    kalman: bool = False  # Kalman-filter predicted boxes when flow is off
    smoothing: Literal["none", "one-euro"] = "none"
    smoothing_min_cutoff: float = bounded(1.0, 0.0)
    smoothing_beta: float = bounded(0.05, 0.0)
