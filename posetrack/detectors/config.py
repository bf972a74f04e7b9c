"""Person detector settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from posetrack.configbase import bounded
from posetrack.zoo import architecture_names

# The network detectors are the zoo's detector architectures (the one list of their names); the
# others are built by posetrack itself.
OTHER_DETECTORS = ("hog", "file", "none")
DetectorName = Literal[(*architecture_names("detector"), *OTHER_DETECTORS)]  # type: ignore[valid-type]


@dataclass
class DetectorConfig:
    name: DetectorName = "fasterrcnn-r50-fpn-v2"
    weights: str | None = "zoo"  # "zoo" (the registry's weights), a file path, or null (random)
    score_threshold: float = bounded(0.5, 0.0, 1.0)
    nms_threshold: float = bounded(0.6, 0.0, 1.0)
    min_box_size: float = bounded(8.0, 0.0)  # pixels; smaller boxes are dropped
    batch_size: int = bounded(4, 1)  # frames per detector forward
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"  # fp16/bf16 apply on CUDA only
    file: str | None = None  # detections file for name: file
    # torchvision models resize the shorter image side to this (null: the model's own, 800 px);
    # smaller is faster and misses small people.
    input_size: int | None = bounded(None, 32, 4096)

    def check(self) -> None:
        if self.name == "file" and not self.file:
            raise ValueError("file: name 'file' needs the path of a detections file")
