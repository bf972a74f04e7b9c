"""H.264 video output that plays anywhere, keeps the input's timing and audio, and appears atomically.

* H.264 from libx264 (or NVIDIA's ``h264_nvenc``: see :func:`h264_encoder`), yuv420p, BT.709
  (converted and tagged, so browsers and players agree on colours), MP4 with ``+faststart``
  (index first, so a browser can play it while it downloads).
* yuv420p needs even dimensions: an odd width or height is **padded** by one pixel that repeats the
  last column/row, so every input pixel (and every keypoint coordinate) stays where it was.
* Each frame keeps the input's timestamp (pts = timestamp / time_base, in the input's own time base
  when known, else 1/90000 s), so frame count, duration and variable frame rate survive. Times are
  shifted so the first written frame is at 0 (a clip cut with ``start`` does not begin with a gap).
* The input's audio is copied packet by packet (no re-encode), cut to the written video's time
  span and interleaved as frames arrive.
* Written to a hidden temp file beside the target (named as posetrack.atomic names them) and
  renamed on :meth:`close`; :meth:`abort` deletes it. An interrupted run leaves either no file or
  a complete one. Without ``overwrite`` the rename never replaces a file that appeared meanwhile.
"""

from __future__ import annotations

import functools
import io
import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from posetrack.atomic import move_into_place, output_error, temp_path
from posetrack.errors import ConfigError, OutputError

log = logging.getLogger("posetrack")

DEFAULT_TIME_BASE = Fraction(1, 90000)
_AUDIO_LEAD = 0.5  # seconds of audio muxed ahead of the video, for interleaving


def _muxer_takes(format_name: str, stream) -> bool:
    """Whether ``format_name`` accepts a copy of ``stream`` (tried on a throwaway in-memory file)."""
    probe = av.open(io.BytesIO(), mode="w", format=format_name)
    try:
        probe.add_stream_from_template(stream)
        probe.start_encoding()
        return True
    except (av.FFmpegError, ValueError):
        return False
    finally:
        try:
            probe.close()
        except av.FFmpegError:
            pass


class _AudioCopy:
    """Packets of the input's first audio stream, re-timed onto the output's clock."""

    def __init__(self, output: av.container.OutputContainer, path: Path) -> None:
        self.container = av.open(str(path))
        self.stream_in = self.container.streams.audio[0]
        if not _muxer_takes(output.format.name.split(",")[0], self.stream_in):
            codec = self.stream_in.codec_context.name
            self.container.close()
            raise ValueError(f"the {output.format.name.split(',')[0]} muxer does not take '{codec}' audio")
        self.stream_out = output.add_stream_from_template(self.stream_in)
        video = self.container.streams.video
        # Frame timestamps are relative to the video stream's start; put audio on the same clock.
        v = video[0] if video else None
        self.video_start = float(v.start_time * v.time_base) if v is not None and v.start_time else 0.0
        self.tb = Fraction(self.stream_in.time_base)
        self.packets = self.container.demux(self.stream_in)
        self.pending: av.Packet | None = None
        self.shift: int | None = None
        self.done = False

    def _next(self) -> av.Packet | None:
        """The next packet to mux (kept until it is muxed), or None at the end of the audio."""
        while self.pending is None and not self.done:
            try:
                packet = next(self.packets)
            except (StopIteration, av.FFmpegError):  # a damaged tail ends the audio, not the run
                packet = None
            if packet is None or packet.size == 0:  # PyAV ends a demux with an empty packet
                self.done = True
            elif packet.pts is not None:  # one without a timestamp cannot be placed: skipped
                self.pending = packet
        return self.pending

    def mux_until(self, output, t0: float, until: float | None) -> None:
        """Mux packets starting before ``until`` seconds (output clock; None: all remaining)."""
        if self.shift is None:
            self.shift = round((self.video_start + t0) / self.tb)
        while True:
            packet = self._next()
            if packet is None:
                return
            start = float((packet.pts - self.shift) * self.tb)
            if until is not None and start >= until:
                return
            self.pending = None
            end = start + float((packet.duration or 0) * self.tb)
            if end <= 0:
                continue  # wholly before the first video frame
            packet.pts -= self.shift
            if packet.dts is not None:
                packet.dts -= self.shift
            packet.stream = self.stream_out
            output.mux(packet)

    def close(self) -> None:
        self.container.close()


def even_size(width: int, height: int) -> tuple[int, int]:
    return width + (width & 1), height + (height & 1)


H264_ENCODERS = ("auto", "libx264", "h264_nvenc")


@functools.cache
def encoder_problem(name: str) -> str | None:
    """Why FFmpeg encoder ``name`` cannot be used here, or None when it opens.

    Probed by opening it on a tiny frame size (cached: opening NVENC creates a CUDA context). A
    build may list ``h264_nvenc`` and still fail to open it: no NVIDIA GPU, driver or libcuda."""
    if name not in av.codecs_available:
        return "the FFmpeg of the installed PyAV has no such encoder"
    try:
        cc = av.CodecContext.create(name, "w")
        cc.width, cc.height, cc.pix_fmt = 256, 256, "yuv420p"
        cc.time_base = Fraction(1, 25)
        cc.open()
    except Exception as e:  # FFmpegError (no device / driver), ValueError, ...
        hint = "; it needs an NVIDIA GPU and its driver" if "nvenc" in name else ""
        return f"it does not open ({' '.join(str(e).split())}{hint})"
    del cc
    return None


def h264_encoder(requested: str = "auto") -> str:
    """The H.264 encoder to use for ``requested`` (``output.encoder``).

    ``auto`` takes ``h264_nvenc`` when the installed PyAV's FFmpeg has it and it opens, else
    ``libx264``, silently. A named encoder that cannot be used raises ConfigError (one line naming
    it), so a run asked for NVENC never quietly encodes on the CPU."""
    if requested not in H264_ENCODERS:
        choices = ", ".join(H264_ENCODERS)
        raise ConfigError(f"output.encoder: unknown H.264 encoder {requested!r} (one of {choices})")
    if requested == "auto":
        return "h264_nvenc" if encoder_problem("h264_nvenc") is None else "libx264"
    problem = encoder_problem(requested)
    if problem is not None:
        raise ConfigError(f"output.encoder: {requested} cannot be used here: {problem}")
    return requested


class VideoWriter:
    """Encodes RGB frames with timestamps into an H.264 file (see module docstring).

    ``encoder``: ``libx264``, ``h264_nvenc`` or ``auto`` (see :func:`h264_encoder`). ``crf`` and
    ``preset`` are libx264's. NVENC gets the nearest equivalents: constant-quality VBR (``rc vbr``,
    no bitrate cap) at ``cq`` = ``crf`` (both 0-51, lower is better; crf 0, x264's lossless, becomes
    cq 1, since NVENC reads cq 0 as "choose for me"), and NVENC's middle speed/quality preset
    ``p4``; ``preset`` is ignored there.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        *,
        time_base: Fraction | None = None,
        audio_path: str | Path | None = None,
        crf: int = 23,
        preset: str = "veryfast",
        overwrite: bool = True,
        encoder: str = "libx264",
    ) -> None:
        self.path = Path(path)
        self.encoder = h264_encoder(encoder)
        if self.path.exists() and not overwrite:
            raise OutputError(f"{self.path}: already exists (use --overwrite to replace it)")
        self.width, self.height = int(width), int(height)
        self.out_width, self.out_height = even_size(self.width, self.height)
        self.time_base = Fraction(time_base) if time_base else DEFAULT_TIME_BASE
        self.overwrite = overwrite
        try:
            self.tmp_path = temp_path(self.path, f".part{self.path.suffix}")
        except OSError as e:
            raise OutputError(f"{self.path}: cannot write here ({e.strerror})") from None
        self._closed = False
        self._audio: _AudioCopy | None = None
        self._t0: float | None = None
        self._last_pts = -1
        self._last_time = 0.0
        self.frames = 0
        try:
            self._open(fps, audio_path, crf, preset)
        except BaseException:
            self.abort()
            raise

    def _open(self, fps: float, audio_path, crf: int, preset: str) -> None:
        try:
            self.container = av.open(str(self.tmp_path), mode="w")
        except (av.FFmpegError, ValueError) as e:
            raise OutputError(f"{self.path}: cannot write a video with this extension ({e})") from None
        fmt = self.container.format.name
        mp4 = "mp4" in fmt or "mov" in fmt
        if mp4:
            self.container.options["movflags"] = "+faststart"
        rate = Fraction(fps).limit_denominator(100000) if fps and fps > 0 else Fraction(25)
        self._gap = max(1, round(1 / (rate * self.time_base)))  # one frame interval, in pts
        stream = self.container.add_stream(self.encoder, rate=rate)
        stream.width, stream.height = self.out_width, self.out_height
        stream.pix_fmt = "yuv420p"
        stream.time_base = self.time_base
        cc = stream.codec_context
        cc.time_base = self.time_base
        cc.colorspace = 1  # AVCOL_SPC_BT709
        cc.color_primaries = 1  # AVCOL_PRI_BT709
        cc.color_trc = 1  # AVCOL_TRC_BT709
        cc.color_range = 1  # AVCOL_RANGE_MPEG (limited)
        if self.encoder == "h264_nvenc":  # constant-quality VBR at the crf's value, NVENC's middle preset
            stream.options = {"rc": "vbr", "cq": str(max(1, int(crf))), "preset": "p4"}
        else:  # threads 0: as many as x264 finds useful (frame threads)
            stream.options = {"crf": str(int(crf)), "preset": str(preset), "threads": "0"}
        self.stream = stream
        if audio_path is not None:
            try:
                self._audio = _AudioCopy(self.container, Path(audio_path))
            except (ValueError, IndexError, av.FFmpegError) as e:
                log.warning("%s: audio not copied (%s)", self.path, e)
                self._audio = None

    def write(self, image: np.ndarray, timestamp: float) -> None:
        """Encode one RGB uint8 HxWx3 frame shown at ``timestamp`` seconds (input's clock)."""
        if image.shape != (self.height, self.width, 3) or image.dtype != np.uint8:
            raise ValueError(
                f"frame is {image.shape} {image.dtype}, expected ({self.height}, {self.width}, 3) uint8"
            )
        if self._t0 is None:
            self._t0 = float(timestamp)
        rel = float(timestamp) - self._t0
        pts = max(round(rel / self.time_base), self._last_pts + 1)  # strictly increasing
        if (self.out_width, self.out_height) != (self.width, self.height):
            image = cv2.copyMakeBorder(
                image, 0, self.out_height - self.height, 0, self.out_width - self.width, cv2.BORDER_REPLICATE
            )
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
        frame.pts = pts
        frame.time_base = self.time_base
        # A frame lasts as long as the gap before it (the last frame's own length is unknown).
        self._gap = pts - self._last_pts if self.frames else self._gap
        frame.duration = self._gap
        if self._audio is not None:
            self._audio.mux_until(self.container, self._t0, rel + _AUDIO_LEAD)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self._last_pts = pts
        self._last_time = rel
        self.frames += 1

    def close(self) -> Path | None:
        """Flush, finish the file and move it into place. Returns the path (None if no frame came)."""
        if self._closed:
            return self.path if self.path.exists() else None
        if self.frames == 0:
            log.warning("%s: no frames to write; no video written", self.path)
            self.abort()
            return None
        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
            if self._audio is not None:
                end = self._last_time + float(self._gap * self.time_base)
                self._audio.mux_until(self.container, self._t0 or 0.0, end)
                self._audio.close()
                self._audio = None
            self.container.close()
            os.chmod(self.tmp_path, 0o644)
            move_into_place(self.tmp_path, self.path, self.overwrite)
        except OSError as e:
            self.abort()
            raise output_error(self.path, e) from None
        except av.FFmpegError as e:
            self.abort()
            raise OutputError(f"{self.path}: could not be written ({e})") from None
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Stop and delete the partial file; the target path is left untouched."""
        if self._closed:
            return
        self._closed = True
        for closer in (getattr(self, "_audio", None), getattr(self, "container", None)):
            if closer is not None:
                try:
                    closer.close()
                except Exception:  # already failing; the temp file goes either way
                    pass
        self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
