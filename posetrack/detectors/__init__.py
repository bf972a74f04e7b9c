"""Person detectors: torchvision models, boxes from a file, OpenCV HOG, or none.

Names are imported on first use, so loading a config (which imports ``posetrack.detectors.config``)
imports neither numpy nor torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from posetrack.detectors.config import DetectorConfig
from posetrack.lazy import lazy_attributes

if TYPE_CHECKING:
    from posetrack.detectors.base import Detector
    from posetrack.types import Detections, Frame


class NoDetector:
    """``name: none``: no boxes (bottom-up pipelines, or tracking only propagated people)."""

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        from posetrack.types import Detections

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


__getattr__ = lazy_attributes(__name__, {"Detector": "posetrack.detectors.base"})


__all__ = ["Detector", "DetectorConfig", "NoDetector", "build_detector"]
