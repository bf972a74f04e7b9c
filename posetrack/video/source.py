"""What every frame source shares: frame selection (start, end, stride) and the iterator protocol.

Subclasses (a video file, a folder of images) only produce candidate frames in presentation order
as ``(index, timestamp, name, load)``; ``load()`` makes the RGB image and is called only for frames
that survive the selection, so skipped frames cost no colour conversion or JPEG decoding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from posetrack.types import Frame
from posetrack.video.config import VideoConfig

Candidate = tuple[int, float, str, Callable[[], "np.ndarray | None"]]

# Timestamps are compared with start/end with this slack, so a frame at exactly ``end`` computed in
# floating point (e.g. 1.0000000001) is still excluded and one at ``start`` is still included.
_EPS = 1e-6


@dataclass(frozen=True)
class VideoInfo:
    """What a writer needs to know about the input (VideoSource has all of these attributes)."""

    width: int
    height: int
    fps: float
    time_base: Fraction | None = None
    audio_path: Path | None = None  # a file whose audio stream the output should carry


class VideoSource:
    """An iterator of :class:`~posetrack.types.Frame` with the input's properties; a context manager.

    ``num_frames`` is the best estimate of how many frames iteration yields (after start, end and
    stride), for progress bars; ``total_frames`` estimates the frames in the whole input. Both may be
    None when the container does not say.
    """

    path: Path
    fps: float
    width: int  # after rotation
    height: int  # after rotation
    rotation: int = 0  # clockwise degrees applied to stored frames to make them upright
    has_audio: bool = False
    live: bool = False  # a stream or camera: no length, frames arrive at the source's pace
    time_base: Fraction | None = None
    total_frames: int | None = None

    def __init__(self, config: VideoConfig | None) -> None:
        self.config = config or VideoConfig()
        self._frames: Iterator[Frame] | None = None

    # -- subclass hooks -------------------------------------------------------------------------
    def _candidates(self) -> Iterator[Candidate]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the input; iteration ends (no error) if it was still running."""

    # -- shared behaviour ----------------------------------------------------------------------
    @property
    def audio_path(self) -> Path | None:
        return self.path if self.has_audio else None

    @property
    def info(self) -> VideoInfo:
        return VideoInfo(self.width, self.height, self.fps, self.time_base, self.audio_path)

    @property
    def num_frames(self) -> int | None:
        return expected_count(self.total_frames, self.fps, self.config)

    def _select(self) -> Iterator[Frame]:
        cfg = self.config
        kept = 0
        for index, timestamp, name, load in self._candidates():
            if cfg.end is not None and timestamp >= cfg.end - _EPS:
                break
            if timestamp < cfg.start - _EPS:
                continue
            kept += 1
            if (kept - 1) % cfg.stride:
                continue
            image = load()
            if image is not None:  # None: an unreadable image in a folder (already warned)
                yield Frame(index=index, timestamp=timestamp, image=image, name=name)

    def __iter__(self) -> Iterator[Frame]:
        if self._frames is None:
            self._frames = self._select()
        return self._frames

    def __next__(self) -> Frame:
        return next(iter(self))

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self.path)!r}, {self.width}x{self.height}, "
            f"{self.fps:.3f} fps, frames={self.total_frames}, rotation={self.rotation})"
        )


def expected_count(total: int | None, fps: float, cfg: VideoConfig) -> int | None:
    """Frames a constant-rate input of ``total`` frames yields under start/end/stride."""
    if total is None and cfg.end is None:
        return None
    first = max(0, math.ceil(cfg.start * fps - _EPS))
    last = math.ceil(cfg.end * fps - _EPS) if cfg.end is not None else total
    if total is not None:
        last = min(last, total)
    count = max(0, last - first)
    return -(-count // cfg.stride)
