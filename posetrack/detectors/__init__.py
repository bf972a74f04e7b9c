"""Person detectors: torchvision models, boxes from a file, OpenCV HOG, or none."""

from __future__ import annotations

from typing import Sequence

from posetrack.detectors.base import Detector
from posetrack.detectors.config import DetectorConfig
from posetrack.types import Detections, Frame


class NoDetector:
    """``name: none``: no boxes (bottom-up pipelines, or tracking only propagated people)."""

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        return [Detections.empty() for _ in frames]


def build_detector(config: DetectorConfig, device="cpu") -> Detector:
    """The detector named by ``config`` on ``device`` (torch device or string)."""
    if config.name == "none":
        return NoDetector()
    if config.name == "file":
        from posetrack.detectors.file_det import FileDetector

        return FileDetector(config)
    if config.name == "hog":
        from posetrack.detectors.hog import HogDetector

        return HogDetector(config)
    from posetrack.detectors.torchvision_det import TorchvisionDetector, build_model

    return TorchvisionDetector(build_model(config), config, device)


__all__ = ["Detector", "DetectorConfig", "NoDetector", "build_detector"]
