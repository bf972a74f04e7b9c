"""A folder of numbered images as a video (the PoseTrack layout: one folder of JPEGs per sequence).

Files are ordered by the numbers in their names ("2.jpg" before "10.jpg"), timestamps are
``index / config.fps`` because images carry no time, and ``Frame.name`` keeps the file name so
results can be written against the annotation files that refer to them.
"""

from __future__ import annotations

import logging
import re
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from posetrack.errors import InputError
from posetrack.video.config import VideoConfig
from posetrack.video.source import Candidate, VideoSource

log = logging.getLogger("posetrack")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key that compares digit runs as numbers: frame2 < frame10."""
    parts = _DIGITS.split(name)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts if p != "")


def list_images(folder: Path) -> list[Path]:
    files = [
        p
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    ]
    return sorted(files, key=lambda p: natural_key(p.name))


def read_rgb(path: Path) -> np.ndarray | None:
    """RGB uint8 HxWx3 (EXIF orientation applied by OpenCV), or None if it cannot be decoded."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class ImageFolderSource(VideoSource):
    """Frames from the images in one folder, in numeric order."""

    def __init__(self, path: Path, config: VideoConfig | None = None) -> None:
        super().__init__(config)
        self.path = path
        try:
            self._files = list_images(path)
        except OSError as e:
            raise InputError(f"{path}: cannot be read ({e.strerror})") from None
        if not self._files:
            raise InputError(f"{path}: folder has no images ({', '.join(IMAGE_SUFFIXES)})")
        first = read_rgb(self._files[0])
        if first is None:
            raise InputError(f"{self._files[0]}: not a readable image")
        self._first = first
        self.height, self.width = int(first.shape[0]), int(first.shape[1])
        self.fps = float(self.config.fps)
        self.time_base = 1 / Fraction(self.fps).limit_denominator(100000)
        self.total_frames = len(self._files)
        self._closed = False
        self._warned = False

    def _load(self, index: int) -> np.ndarray | None:
        if index == 0 and self._first is not None:
            image, self._first = self._first, None
            return image
        file = self._files[index]
        image = read_rgb(file)
        if image is None:
            if not self._warned:
                self._warned = True
                log.warning("%s: not a readable image; skipping it (and any other such file)", file)
            return None
        if image.shape[:2] != (self.height, self.width):
            raise InputError(
                f"{file}: image is {image.shape[1]}x{image.shape[0]}, "
                f"the folder's first image is {self.width}x{self.height}"
            )
        return image

    def _candidates(self) -> Iterator[Candidate]:
        fps = self.fps
        for index, file in enumerate(self._files):
            if self._closed:
                return
            yield index, index / fps, file.name, (lambda i=index: self._load(i))

    def close(self) -> None:
        self._closed = True
        self._first = None
