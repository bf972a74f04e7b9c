"""Display-matrix rotation: how a stored frame must be turned so it shows upright.

Phones store portrait video as landscape frames plus a display matrix (MP4 ``tkhd`` / side data).
FFmpeg exposes the matrix as frame side data; we read it from the first decoded frame and apply the
same transform the ``ffmpeg`` command line applies with ``-autorotate`` (fftools' choice of
``transpose`` / ``hflip`` / ``vflip``), so our frames match what players show.
"""

from __future__ import annotations

import math
from typing import Callable

import cv2
import numpy as np

Transform = Callable[[np.ndarray], np.ndarray]


def matrix_from_frame(frame) -> np.ndarray | None:
    """The 3x3 int32 display matrix attached to a decoded PyAV frame, or None."""
    side_data = getattr(frame, "side_data", None)
    if side_data is None:
        return None
    try:
        from av.sidedata.sidedata import Type

        entry = side_data.get(Type.DISPLAYMATRIX)
    except (ImportError, AttributeError, KeyError, TypeError):
        return None
    if entry is None:
        return None
    raw = bytes(entry)
    if len(raw) < 36:
        return None
    return np.frombuffer(raw[:36], dtype="<i4").reshape(3, 3)


def rotation_degrees(matrix: np.ndarray | None) -> int:
    """Clockwise degrees (0, 90, 180, 270) a player turns the stored frame by.

    Mirrors fftools ``get_rotation``: FFmpeg's ``av_display_rotation_get`` returns the
    counter-clockwise angle; the player rotates by its negative.
    """
    if matrix is None:
        return 0
    m = matrix.reshape(-1).astype(np.float64) / 65536.0
    sx, sy = math.hypot(m[0], m[3]), math.hypot(m[1], m[4])
    if sx == 0 or sy == 0:
        return 0
    ccw = -math.degrees(math.atan2(m[1] / sy, m[0] / sx))
    theta = -round(ccw)
    theta -= 360 * math.floor(theta / 360 + 0.9 / 360)
    return int(round(theta / 90.0)) * 90 % 360


def _transpose(img: np.ndarray) -> np.ndarray:
    return cv2.transpose(img)


def _anti_transpose(img: np.ndarray) -> np.ndarray:
    return cv2.flip(cv2.transpose(img), -1)


def _rot_cw(img: np.ndarray) -> np.ndarray:
    return cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)


def _rot_ccw(img: np.ndarray) -> np.ndarray:
    return cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE)


def _hflip(img: np.ndarray) -> np.ndarray:
    return cv2.flip(img, 1)


def _vflip(img: np.ndarray) -> np.ndarray:
    return cv2.flip(img, 0)


def _rot180(img: np.ndarray) -> np.ndarray:
    return cv2.flip(img, -1)


def transform_for(matrix: np.ndarray | None) -> Transform | None:
    """The image operation that makes frames upright, or None when they already are.

    Same cases as fftools' autorotate: 90/270 degrees become a transpose (with the flip variants
    when the matrix mirrors), 180 becomes h/v flips, 0 with a mirrored y axis becomes a vflip.
    Angles that are not multiples of 90 degrees are rare and left alone.
    """
    if matrix is None:
        return None
    m = matrix.reshape(-1)
    theta = rotation_degrees(matrix)
    if theta == 90:
        return _transpose if m[3] > 0 else _rot_cw
    if theta == 270:
        return _anti_transpose if m[3] < 0 else _rot_ccw
    if theta == 180:
        h, v = m[0] < 0, m[4] < 0
        if h and v:
            return _rot180
        if h:
            return _hflip
        if v:
            return _vflip
        return None
    if m[4] < 0:
        return _vflip
    return None
