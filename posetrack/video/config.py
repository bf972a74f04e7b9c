"""Which frames of the input are read."""

from __future__ import annotations

from dataclasses import dataclass

from posetrack.configbase import bounded


@dataclass
class VideoConfig:
    start: float = bounded(0.0, 0.0)  # seconds; frames before are skipped
    end: float | None = None  # seconds (exclusive); None reads to the end
    stride: int = bounded(1, 1)  # keep every stride-th frame
    fps: float = bounded(25.0, 0.001)  # frame rate assumed for image folders (no timestamps there)
    threads: int = bounded(0, 0)  # decoder threads; 0 lets FFmpeg choose
    seek: bool = True  # reach `start` by a keyframe jump where the file indexes every frame

    def check(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end: {self.end} must be greater than start ({self.start})")
