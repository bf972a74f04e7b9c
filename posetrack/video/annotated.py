"""The annotated video, drawn and encoded on its own thread so the pose pipeline never waits for it.

The pipeline hands over (image, poses, timestamp) with :meth:`AnnotatedVideoWriter.submit` and
goes on; a worker thread draws and encodes. A bounded queue caps memory: when the encoder falls
behind, ``submit`` blocks (back-pressure) rather than letting frames pile up. OpenCV drawing,
swscale and libx264 (or NVENC: ``encoder``, see VideoWriter) all release the GIL, so the worker runs truly in parallel with the pipeline.
"""

from __future__ import annotations

import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np

from posetrack.types import Poses
from posetrack.video.render import draw_poses
from posetrack.video.writer import VideoWriter

_STOP = object()


class VideoInfoLike(Protocol):
    """What the writer needs of the input: a VideoSource or a VideoInfo."""

    width: int
    height: int
    fps: float
    time_base: Fraction | None
    audio_path: Path | None


class AnnotatedVideoWriter:
    """Renders poses onto frames and writes them as H.264 (atomic: see :class:`VideoWriter`)."""

    def __init__(
        self,
        path: str | Path,
        source: VideoInfoLike,
        threshold: float = 0.3,
        crf: int = 23,
        preset: str = "veryfast",
        queue_size: int = 16,
        *,
        overwrite: bool = True,
        encoder: str = "auto",
    ) -> None:
        self.path = Path(path)
        self.threshold = float(threshold)
        self._writer = VideoWriter(
            path,
            source.width,
            source.height,
            source.fps,
            time_base=getattr(source, "time_base", None),
            audio_path=getattr(source, "audio_path", None),
            crf=crf,
            preset=preset,
            overwrite=overwrite,
            encoder=encoder,
        )
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(queue_size)))
        self._error: BaseException | None = None
        self._cancel = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._work, name="posetrack-render", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP or self._cancel.is_set():
                return
            if self._error is not None:
                continue  # keep draining so submit() never blocks forever
            image, poses, timestamp = item
            try:
                self._writer.write(draw_poses(image, poses, self.threshold), timestamp)
            except BaseException as e:  # handed to the pipeline's thread by submit()/close()
                self._error = e

    def submit(self, image: np.ndarray, poses: Poses, timestamp: float) -> None:
        """Queue one RGB frame (not modified) with its poses; blocks while the queue is full.

        Raises the worker's error, if it has failed, so the pipeline stops early."""
        if self._error is not None:
            raise self._error
        if self._finished:
            raise RuntimeError("AnnotatedVideoWriter is closed")
        self._queue.put((image, poses, timestamp))

    def close(self) -> Path | None:
        """Wait for every queued frame, finish the file atomically; re-raise any worker error."""
        if self._finished:
            return None
        self._finished = True
        self._queue.put(_STOP)
        self._thread.join()
        if self._error is not None:
            self._writer.abort()
            raise self._error
        return self._writer.close()

    def abort(self) -> None:
        """Drop queued frames, stop the worker and delete the partial file."""
        if self._finished and not self._thread.is_alive():
            self._writer.abort()
            return
        self._finished = True
        self._cancel.set()
        while True:  # make room for the stop marker and unblock a waiting submit
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:  # a blocked submit() refilled it; the worker sees the cancel flag
            pass
        self._thread.join()
        self._writer.abort()

    def __enter__(self) -> AnnotatedVideoWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
