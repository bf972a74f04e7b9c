"""Small test videos built with PyAV, whose frames say which frame they are.

Every frame's top band is a flat grey whose level encodes the frame index (``level(i)``), which
survives lossy coding to within a few grey levels, so order and gaps can be read back from decoded
pixels. A white block marks the stored frame's top-left corner, for orientation checks.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

W, H = 160, 120
BAND = 40  # rows of the index band


def level(i: int) -> int:
    return 10 + 6 * i  # 40 frames max


def index_of(image: np.ndarray) -> int:
    band = image[4 : BAND - 4, 40:-40].astype(np.float64).mean()
    return int(round((band - 10) / 6))


def pattern(i: int, width: int = W, height: int = H, noise: np.random.Generator | None = None) -> np.ndarray:
    img = np.full((height, width, 3), 128, np.uint8)
    img[:BAND] = level(i)
    img[BAND + 8 : BAND + 28, 4:28] = 255  # marker near the top-left corner
    if noise is not None:  # incompressible lower half: spreads the bytes over the whole file
        rows = height - height // 2 - 10
        img[height // 2 + 10 :] = noise.integers(0, 256, (rows, width, 3), dtype=np.uint8)
    return img


def make_video(
    path: Path,
    codec: str = "libx264",
    n: int = 30,
    fps: int = 25,
    *,
    width: int = W,
    height: int = H,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int | None = None,
    noise: bool = False,
    audio: str | None = None,
    options: dict | None = None,
    gop: int | None = None,
) -> list[np.ndarray]:
    """Write a video and return the RGB frames that went in.

    ``pts`` (in ``time_base`` units) gives irregular timestamps (variable frame rate);
    ``rotation`` sets the display matrix (PyAV convention: counter-clockwise degrees);
    ``audio`` adds a 16 kHz mono tone stream in that codec, as long as the video.
    """
    rng = np.random.default_rng(0) if noise else None
    frames = [pattern(i, width, height, rng) for i in range(n)]
    with av.open(str(path), "w", options=options or {}) as out:
        v = out.add_stream(codec, rate=fps)
        v.width, v.height = width, height
        v.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if time_base is not None:
            v.time_base = time_base
            v.codec_context.time_base = time_base
        if rotation is not None:
            v.set_display_rotation(rotation)
        if gop is not None:
            v.codec_context.gop_size = gop
        a = None
        if audio is not None:
            a = out.add_stream(audio, rate=16000)
            a.layout = "mono"
        sr, sent = 16000, 0
        total = int(round(n / fps * sr))
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            for packet in v.encode(frame):
                out.mux(packet)
            if a is not None:  # audio up to this frame's end, interleaved
                upto = min(total, int(round((i + 1) / fps * sr)))
                sent = _audio(out, a, sent, upto, sr)
        for packet in v.encode():
            out.mux(packet)
        if a is not None:
            for packet in a.encode():
                out.mux(packet)
    return frames


def _audio(out, stream, start: int, stop: int, sr: int) -> int:
    size = stream.codec_context.frame_size or 1024
    fmt = stream.codec_context.format.name
    pos = start
    while stop - pos >= size or (stop - pos > 0 and not stream.codec_context.frame_size):
        m = min(size, stop - pos)
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(pos, pos + m) / sr)).astype(np.float32)[None]
        data = tone if fmt.startswith("flt") else (tone * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        frame.sample_rate, frame.pts = sr, pos
        for packet in stream.encode(frame):
            out.mux(packet)
        pos += m
    return pos


def make_image_folder(
    folder: Path, n: int, width: int = W, height: int = H, ext: str = ".png"
) -> list[np.ndarray]:
    """Numbered images 1..n (not zero-padded, so plain string order would be wrong)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    frames = [pattern(i, width, height) for i in range(n)]
    for i, img in enumerate(frames):
        cv2.imwrite(str(folder / f"frame{i + 1}{ext}"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return frames


def decoded(path: Path) -> list[tuple[float, np.ndarray]]:
    """(seconds, RGB) of every frame, read with plain PyAV (independent of posetrack's reader)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        start = s.start_time or 0
        return [(float((f.pts - start) * s.time_base), f.to_ndarray(format="rgb24")) for f in c.decode(s)]
