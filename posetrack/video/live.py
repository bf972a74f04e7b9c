"""Live inputs: network streams and cameras, real-time frame dropping, a time limit, a clean Ctrl-C.

``live_input`` recognises what names a live source (``rtsp://``, ``rtmp://``, ``http(s)://``...,
``webcam:N``, ``/dev/videoN``) and says how FFmpeg opens it. :class:`LiveFeed` wraps any
:class:`~posetrack.video.source.VideoSource` and reads it on its own thread: with ``realtime`` it
keeps only the newest frame while the pipeline is busy (the older ones are dropped and counted;
frames keep the source's index and timestamp), a file is then read at its own frame rate as if it
were live; with ``duration`` it ends after that many seconds. :func:`interrupt_stops` turns the
first Ctrl-C into "end the feed, finish the outputs"; a second Ctrl-C aborts as usual.
"""

from __future__ import annotations

import logging
import queue
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from posetrack.errors import InputError
from posetrack.types import Frame

log = logging.getLogger("posetrack")

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt")
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_WEBCAM = re.compile(r"^webcam:(.+)$")
_V4L2_DEVICE = re.compile(r"^/dev/video\d+$")
OPEN_TIMEOUT = 10.0  # seconds to connect to a stream
READ_TIMEOUT = 10.0  # seconds without data before a stream counts as stopped


@dataclass(frozen=True)
class LiveInput:
    """How to open one live source with ``av.open``."""

    name: str  # what the user typed, for messages
    url: str  # what FFmpeg opens
    format: str | None = None  # demuxer (v4l2, avfoundation, dshow) for cameras
    options: dict[str, str] = field(default_factory=dict)
    camera: bool = False


def is_live(name: object) -> bool:
    return live_input(str(name)) is not None


def live_input(name: str) -> LiveInput | None:
    """The live source ``name`` names, or None for a file or folder path."""
    m = _URL.match(name)
    if m:
        scheme = m.group(1).lower()
        if scheme not in STREAM_SCHEMES:
            raise InputError(f"{name}: unsupported stream protocol '{scheme}' (use {', '.join(STREAM_SCHEMES)})")
        # Probe one second of a stream, not FFmpeg's default five: a live source's first frame
        # then comes one second after connecting.
        options = {"analyzeduration": "1000000"}
        if scheme.startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        return LiveInput(name, name, None, options)
    m = _WEBCAM.match(name)
    if m:
        return _camera(name, m.group(1))
    if _V4L2_DEVICE.match(name):
        return _camera(name, name)
    return None


def _camera(name: str, which: str) -> LiveInput:
    """``webcam:0`` → the platform's camera input; Linux also takes a /dev/videoN path."""
    import av

    if sys.platform.startswith("linux"):
        device = which if which.startswith("/dev/") else f"/dev/video{which}"
        fmt = "v4l2"
    elif sys.platform == "darwin":
        device, fmt = which, "avfoundation"
    elif sys.platform == "win32":
        device, fmt = (which if which.startswith("video=") else f"video={which}"), "dshow"
    else:
        raise InputError(f"{name}: cameras are not supported on {sys.platform}")
    if fmt not in av.formats_available:
        raise InputError(f"{name}: this PyAV/FFmpeg build has no '{fmt}' camera input")
    if fmt == "v4l2":
        from pathlib import Path

        if not Path(device).exists():
            raise InputError(f"{name}: no such camera ({device} does not exist)")
    return LiveInput(name, device, fmt, {}, camera=True)


def live_stem(name: str) -> str:
    """A file name stem for a live source's outputs: the stream's last path part, or host/camera."""
    spec = live_input(name)
    assert spec is not None
    if spec.camera:
        return "webcam" + re.sub(r"\D", "", name) if name.startswith("webcam:") or "/dev/" in name else "webcam"
    rest = name.split("://", 1)[1].split("?", 1)[0].rstrip("/")
    host, _, path = rest.partition("/")
    last = path.rsplit("/", 1)[-1] if path else ""
    stem = last.rsplit(".", 1)[0] if "." in last else last
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem or host.split("@")[-1]).strip("._") or "stream"


class LiveFeed:
    """A source read on a background thread, with optional real-time dropping and a time limit.

    Iterating yields frames; :meth:`stop` (safe from a signal handler) ends the iteration at the
    next frame or within 0.1 s. Other attributes are the wrapped source's.
    """

    def __init__(self, source, *, realtime: bool = False, duration: float | None = None,
                 buffer: int = 64) -> None:
        self.source = source
        self.realtime = realtime
        self.duration = duration
        self.live = bool(getattr(source, "live", False))
        self.dropped = 0
        self.ended_by = ""  # "", "duration", "interrupt"
        self._stop = threading.Event()
        self._queue: queue.Queue = queue.Queue(maxsize=1 if realtime else buffer)
        self._thread: threading.Thread | None = None

    def __getattr__(self, name: str):
        if name == "source":  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self.source, name)

    @property
    def num_frames(self) -> int | None:
        return None if self.realtime or self.duration is not None else self.source.num_frames

    def stop(self, why: str = "interrupt") -> None:
        if not self._stop.is_set():
            self.ended_by = self.ended_by or why
            self._stop.set()

    def _frames(self) -> Iterator[Frame]:
        """The source's frames, paced to their timestamps when a file stands in for a live feed,
        and cut at ``duration`` (wall seconds for a live source, stream seconds for a file)."""
        pace = self.realtime and not self.live
        t_wall = t_first = None
        for frame in self.source:
            now = time.monotonic()
            if t_wall is None:
                t_wall, t_first = now, frame.timestamp
            elapsed_stream = frame.timestamp - t_first
            if self.duration is not None:
                elapsed = (now - t_wall) if self.live else elapsed_stream
                if elapsed >= self.duration:
                    self.ended_by = self.ended_by or "duration"
                    return
            if pace:
                wait = t_wall + elapsed_stream - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    return
            if self._stop.is_set():
                return
            yield frame

    def _read(self) -> None:
        q = self._queue
        try:
            for frame in self._frames():
                if self.realtime:
                    try:
                        q.put_nowait(frame)
                    except queue.Full:  # the pipeline is behind: the waiting frame is dropped
                        try:
                            q.get_nowait()
                            self.dropped += 1
                        except queue.Empty:
                            pass
                        q.put_nowait(frame)
                else:
                    while not self._stop.is_set():
                        try:
                            q.put(frame, timeout=0.1)
                            break
                        except queue.Full:
                            continue
            item = None
        except BaseException as e:  # noqa: BLE001  (handed to the consumer)
            item = e
        while True:  # the end marker must arrive even if the consumer is slow
            try:
                q.put(("end", item), timeout=0.1)
                return
            except queue.Full:
                if self._stop.is_set():
                    try:
                        q.get_nowait()
                    except queue.Empty:
                        pass

    def __iter__(self) -> Iterator[Frame]:
        self._thread = threading.Thread(target=self._read, name="posetrack-live", daemon=True)
        self._thread.start()
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():  # the reader may sit in a blocking read: do not wait for it
                    return
                continue
            if isinstance(item, tuple):
                if item[1] is not None:
                    raise item[1]
                return
            if self._stop.is_set():
                return
            yield item

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=READ_TIMEOUT + 1)
        self.source.close()

    def __enter__(self) -> LiveFeed:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def interrupt_stops(feed: LiveFeed) -> Iterator[None]:
    """While inside: the first SIGINT stops ``feed`` (the run then finishes its outputs normally),
    a second one raises KeyboardInterrupt. Only the main thread can take signals; elsewhere this
    does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame) -> None:
        if feed._stop.is_set() and feed.ended_by == "interrupt":
            raise KeyboardInterrupt
        log.warning("interrupted: finishing the outputs with the frames so far (Ctrl-C again to abort)")
        feed.stop("interrupt")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
