"""Streaming video input with PyAV: one frame in memory at a time, upright, timed from PTS.

``open_source`` is the one entry point: it takes a video file (anything FFmpeg demuxes and decodes)
or a folder of numbered images and returns a :class:`VideoSource`. Every way a user can hand us a
bad input fails here, at open time, with an :class:`~posetrack.errors.InputError` naming the path,
before any output file exists. A video that is cut short mid-stream is not an error: its frames
that decode are yielded and one warning says it ended early.

``Frame.index`` is always the frame's position in the file. ``start`` is reached by a keyframe
jump only where that stays exact (a full frame index, checked on landing); otherwise the frames
before it are decoded but never converted to RGB.
"""

from __future__ import annotations

import logging
import threading
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from posetrack.errors import InputError
from posetrack.video.config import VideoConfig
from posetrack.video.orientation import matrix_from_frame, rotation_degrees, transform_for
from posetrack.video.source import Candidate, VideoSource

log = logging.getLogger("posetrack")


def open_source(path: str | Path, config: VideoConfig | None = None) -> VideoSource:
    """A frame source for a video file, a folder of images, a stream URL or a camera
    (see :mod:`posetrack.video.live`); raises InputError for bad input."""
    from posetrack.video.live import live_input

    spec = live_input(str(path)) if isinstance(path, str) else None
    if spec is not None:
        return LiveStreamSource(spec, config)
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        from posetrack.video.images import ImageFolderSource

        return ImageFolderSource(path, config)
    return VideoFileSource(path, config)


def _parse_hms(text: str) -> float | None:
    """Matroska's per-stream DURATION tag, e.g. '00:00:01.200000000'."""
    try:
        h, m, s = text.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    except (ValueError, AttributeError):
        return None


class VideoFileSource(VideoSource):
    """Frames of the first video stream of a media file, decoded on FFmpeg's threads."""

    def __init__(self, path: Path, config: VideoConfig | None = None) -> None:
        super().__init__(config)
        self.path = path
        try:
            size = path.stat().st_size
        except OSError as e:
            raise InputError(f"{path}: cannot be read ({e.strerror})") from None
        if size == 0:
            raise InputError(f"{path}: empty file (0 bytes)")
        try:
            self._container = av.open(str(path), mode="r")
        except PermissionError:
            raise InputError(f"{path}: cannot be read (permission denied)") from None
        except (av.FFmpegError, OSError, ValueError) as e:
            raise InputError(f"{path}: not a video ({_reason(e)})") from None
        self._lock = threading.Lock()
        self._closed = False
        self._warned = False
        self._opening = False
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self) -> None:
        container, path = self._container, self.path
        if not container.streams.video:
            raise InputError(f"{path}: not a video (no video stream)")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise InputError(f"{path}: no decoder for its video codec")
        stream.thread_type = "AUTO"
        if self.config.threads > 0:
            stream.codec_context.thread_count = self.config.threads
        self._stream = stream
        self.has_audio = bool(container.streams.audio)
        self.time_base = Fraction(stream.time_base) if stream.time_base else None
        self._start_pts = stream.start_time if stream.start_time is not None else 0

        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        self.fps = float(rate) if rate else float(self.config.fps)
        self._duration = self._stream_duration()
        if stream.frames and stream.frames > 0:
            self.total_frames = int(stream.frames)
        elif self._duration is not None:
            self.total_frames = max(1, round(self._duration * self.fps))

        self._opening, self._held = True, None  # warnings wait until a frame has decoded
        self._index0 = 0
        seeked = self._seek_near_start()
        first = self._peek() if seeked else None
        if first is not None and not self._seek_checks_out(first):
            first = None
        if first is None:  # no seek, or it could not be trusted: decode from the beginning
            if seeked:
                self._rewind()
            first = self._peek()
            if first is None:
                raise InputError(f"{path}: no decodable video frame")
        self._opening = False
        if self._held is not None:
            self._warn_truncated(self._held)
        self._first = first
        matrix = matrix_from_frame(first)
        self.rotation = rotation_degrees(matrix)
        self._transform = transform_for(matrix)
        w, h = first.width, first.height
        if self._transform is not None and self.rotation in (90, 270):
            w, h = h, w
        self.width, self.height = int(w), int(h)

    def _peek(self) -> av.VideoFrame | None:
        self._decoded = self._decode()
        return next(self._decoded, None)

    def _seek_near_start(self) -> bool:
        """Jump to a keyframe shortly before ``config.start`` instead of decoding up to it.

        Only where the container indexes every frame (MP4/MOV/AVI): the landing keyframe's
        position in that index is what keeps ``Frame.index`` exact. We aim 8 frames early, as
        frames are shown a little after they are decoded (B-frames); the first decoded frame is
        then checked (``_seek_checks_out``) before the jump is trusted.
        """
        stream, tb = self._stream, self.time_base
        if not self.config.seek or self.config.start <= 0 or tb is None or not stream.frames:
            return False
        entries = stream.index_entries
        if len(entries) != stream.frames:
            return False
        target = self._start_pts + (self.config.start - 8 / self.fps) / tb
        self._keys = [(e.timestamp, i) for i, e in enumerate(entries) if e.is_keyframe and not e.is_discard]
        if not any(0 < i and t <= target for t, i in self._keys):
            return False  # the first keyframe is the one to start from anyway
        try:
            self._container.seek(int(target), stream=stream, backward=True)
        except av.FFmpegError:
            return False
        stream.codec_context.flush_buffers()
        return True

    def _seek_checks_out(self, first: av.VideoFrame) -> bool:
        """After a seek: which keyframe did we land on? The last one decoded no later than the
        first frame is shown (index timestamps are decode times). Trusted only if a constant
        frame rate puts that frame at that index, and it is not after ``start``."""
        if first.pts is None or not self.fps:
            return False
        landed = [i for t, i in self._keys if t <= first.pts]
        if not landed:
            return False
        self._index0 = landed[-1]
        t = float((first.pts - self._start_pts) * self.time_base)
        return abs(t * self.fps - self._index0) < 0.5 and t <= self.config.start + 1e-6

    def _rewind(self) -> None:
        self._decoded.close()
        self._index0, self._held = 0, None
        self._container.seek(self._stream.index_entries[0].timestamp, stream=self._stream, backward=True)
        self._stream.codec_context.flush_buffers()

    def _stream_duration(self) -> float | None:
        """Seconds of video the container promises (used to notice a file cut short)."""
        stream, container = self._stream, self._container
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        tagged = _parse_hms(stream.metadata.get("DURATION", ""))
        if tagged is not None:
            return tagged
        if container.duration and len(container.streams) == 1:
            return container.duration / av.time_base - float(self._start_pts * (self.time_base or 0))
        return None

    def _warn_truncated(self, why: str) -> None:
        if self._opening:  # a file with no frame at all gets an InputError instead
            self._held = self._held or why
            return
        if not self._warned:
            self._warned = True
            log.warning("%s: %s; the video looks truncated, keeping the frames that decode", self.path, why)

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Decoded frames in presentation order; stops quietly on read errors (after warning)."""
        stream = self._stream
        packets = self._container.demux(stream)
        flushed = False
        while True:
            with self._lock:
                if self._closed:
                    return
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except (av.FFmpegError, OSError) as e:
                    self._warn_truncated(f"read error ({_reason(e)})")
                    break
                if packet.size == 0:
                    flushed = True  # PyAV's final empty packet drains the decoder
                elif packet.is_corrupt:
                    # A cut-off packet decodes to a half-grey frame at best, and with frame
                    # threading its error also drops good frames in flight: leave it out.
                    self._warn_truncated("incomplete or corrupt packet")
                    continue
                try:
                    frames = stream.decode(packet)
                except av.FFmpegError as e:
                    self._warn_truncated(f"undecodable packet ({_reason(e)})")
                    frames = []
            yield from frames
        if not flushed:
            with self._lock:
                if self._closed:
                    return
                try:
                    frames = stream.decode(None)
                except (av.FFmpegError, EOFError):
                    frames = []
            yield from frames

    def _candidates(self) -> Iterator[Candidate]:
        tb = self.time_base or Fraction(1, 1)
        start_pts = self._start_pts
        step = 1.0 / self.fps if self.fps > 0 else 0.04
        index, last = self._index0, None

        def loader(frame: av.VideoFrame):
            def load() -> np.ndarray:
                image = frame.to_ndarray(format="rgb24")
                return self._transform(image) if self._transform is not None else image

            return load

        frame = self._first
        self._first = None
        while frame is not None:
            if frame.pts is not None:
                timestamp = float((frame.pts - start_pts) * tb)
            else:
                timestamp = last + step if last is not None else 0.0
            yield index, timestamp, "", loader(frame)
            last = timestamp
            index += 1
            frame = next(self._decoded, None)
        # Containers with a frame index (MP4, AVI) show a cut as a corrupt last packet; those
        # without one (Matroska/WebM) only by ending before their stated duration.
        if (
            not self._closed
            and not self._stream.frames
            and last is not None
            and self._duration is not None
            and last + 2.5 * step < self._duration
        ):
            self._warn_truncated(
                f"frames end at {last + step:.3f} s but the container says {self._duration:.3f} s"
            )

    def close(self) -> None:
        lock = getattr(self, "_lock", None)
        if lock is None:
            return
        with lock:
            if not self._closed:
                self._closed = True
                self._first = None
                self._container.close()


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return str(text).splitlines()[0]


class LiveStreamSource(VideoFileSource):
    """A network stream or a camera: decoded like a file, but with no length, no seeking and no
    "truncated" check. A stream that stops (read error, timeout) ends the frames with one warning."""

    live = True

    def __init__(self, spec, config: VideoConfig | None = None) -> None:
        from posetrack.video.live import OPEN_TIMEOUT, READ_TIMEOUT

        VideoSource.__init__(self, config)
        self.spec = spec
        self.path = Path(spec.name)  # for messages only
        self._lock = threading.Lock()
        self._closed, self._warned, self._opening = False, False, False
        what = "camera" if spec.camera else "stream"
        try:
            self._container = av.open(spec.url, mode="r", format=spec.format, options=dict(spec.options),
                                      timeout=(OPEN_TIMEOUT, READ_TIMEOUT))
        except (av.FFmpegError, OSError, ValueError) as e:
            raise InputError(f"{spec.name}: cannot open the {what} ({_reason(e)})") from None
        try:
            self._setup()
        except InputError as e:
            self.close()
            raise InputError(str(e).replace(str(self.path), spec.name, 1)) from None
        except BaseException:
            self.close()
            raise
        self.has_audio = False  # the annotated video does not carry a live source's audio
        self.total_frames = None
        self._duration = None
        self.frames_read = 0

    def _warn_truncated(self, why: str) -> None:
        if self._opening:
            self._held = self._held or why
            return
        if not self._warned:
            self._warned = True
            log.warning("%s: the stream stopped (%s); keeping the frames received", self.spec.name, why)

    def _candidates(self):
        for candidate in super()._candidates():
            self.frames_read += 1
            yield candidate

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.name!r}, {self.width}x{self.height}, {self.fps:.3f} fps)"
