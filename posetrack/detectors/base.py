"""The Detector protocol: person boxes for a batch of frames."""

from __future__ import annotations

from typing import Protocol, Sequence

from posetrack.types import Detections, Frame


class Detector(Protocol):
    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        """Person boxes for each frame (one Detections per frame, in order).

        Frames, not bare images: detectors that read boxes from somewhere (a detections file,
        ground truth) find them by the frame's index or file name."""
        ...
