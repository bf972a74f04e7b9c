"""Draw tracked poses on a frame: skeleton, joints, box and id label, one fixed colour per track.

Drawing is batched per person: all visible limbs go to OpenCV in one ``polylines`` call and all
visible joints in another (a zero-length line with round caps is a dot), so the Python work per
frame is a handful of calls per person, not per joint. Sub-pixel coordinates are kept with
OpenCV's fixed-point ``shift``. The image is RGB, so colours here are RGB.
"""

from __future__ import annotations

import cv2
import numpy as np

from posetrack.types import Poses

UNTRACKED_COLOR = (160, 160, 160)  # track id -1: not (yet) associated
_SHIFT = 4  # fixed-point bits for sub-pixel drawing
_SCALE = 1 << _SHIFT
_GOLDEN = 0.6180339887498949


def track_colors(track_ids: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 RGB colours: a deterministic palette indexed by track id, grey for -1.

    Hues step by the golden ratio, so consecutive ids (the usual neighbours on screen) get far
    apart hues; saturation and value alternate a little to separate ids whose hues come close.
    """
    ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    h = (ids * _GOLDEN + 0.08) % 1.0 * 6.0
    s = np.where(ids % 3 == 2, 0.6, 0.85)
    v = np.where(ids % 2 == 1, 0.85, 1.0)
    i = np.floor(h).astype(np.int64) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    # HSV sector table: which of (v, t, p, q) goes to R, G, B in each sixth of the hue circle.
    choices = np.stack([v, t, p, q], axis=-1)
    table = np.array([[0, 1, 2], [3, 0, 2], [2, 0, 1], [2, 3, 0], [1, 2, 0], [0, 2, 3]])
    rgb = np.take_along_axis(choices, table[i], axis=-1)
    colors = np.round(rgb * 255).astype(np.uint8)
    colors[ids < 0] = UNTRACKED_COLOR
    return colors


def line_width(height: int, width: int) -> int:
    """Limb thickness in pixels: readable at 480p, not heavy at 4K."""
    return max(1, int(round(min(height, width) / 240)))


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(points * _SCALE).astype(np.int32)


def draw_poses(
    image_rgb: np.ndarray, poses: Poses, threshold: float, *, inplace: bool = False
) -> np.ndarray:
    """The frame with every person drawn; keypoints scoring below ``threshold`` (and limbs that
    touch them) are hidden. Returns a copy unless ``inplace``. Works for any keypoint layout: the
    limbs come from ``poses.layout.skeleton``."""
    canvas = image_rgb if inplace else image_rgb.copy()
    if len(poses) == 0:
        return canvas
    height, width = canvas.shape[:2]
    thick = line_width(height, width)
    dot = 2 * thick + 2
    font_scale = max(0.35, min(height, width) / 1000)
    font_thick = max(1, thick // 2)

    edges = np.asarray(poses.layout.skeleton, dtype=np.int64).reshape(-1, 2)
    xy = poses.keypoints[..., :2]
    visible = (poses.keypoints[..., 2] >= threshold) & np.isfinite(xy).all(axis=-1)  # (N, K)
    limb_visible = visible[:, edges[:, 0]] & visible[:, edges[:, 1]]  # (N, E)
    limbs = _fixed(np.nan_to_num(xy[:, edges]))  # (N, E, 2, 2)
    joints = _fixed(np.nan_to_num(xy))  # (N, K, 2)
    boxes = _fixed(np.nan_to_num(poses.boxes))
    colors = track_colors(poses.track_ids)
    joint_colors = (colors.astype(np.int32) * 3 + 255 * 2) // 5  # lighter: joints stand out on limbs

    for n in range(len(poses)):
        color = tuple(int(c) for c in colors[n])
        x1, y1, x2, y2 = (int(v) for v in boxes[n])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, max(1, thick // 2), cv2.LINE_AA, _SHIFT)
        if limb_visible[n].any():
            cv2.polylines(canvas, limbs[n][limb_visible[n]], False, color, thick, cv2.LINE_AA, _SHIFT)
        if visible[n].any():
            pts = joints[n][visible[n]][:, None, :].repeat(2, axis=1)  # zero-length lines = dots
            jc = tuple(int(c) for c in joint_colors[n])
            cv2.polylines(canvas, pts, False, jc, dot, cv2.LINE_AA, _SHIFT)
        track_id = int(poses.track_ids[n])
        if track_id >= 0:
            _label(canvas, str(track_id), x1 >> _SHIFT, y1 >> _SHIFT, color, font_scale, font_thick)
    return canvas


def _label(canvas: np.ndarray, text: str, x: int, y: int, color, scale: float, thick: int) -> None:
    """The id on a filled tag at the box's top-left corner (inside the frame)."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    height, width = canvas.shape[:2]
    pad = 2
    x = min(max(x, 0), max(0, width - tw - 2 * pad))
    top = y - th - base - 2 * pad
    if top < 0:  # no room above the box: put the tag just inside it
        top = max(0, y)
    cv2.rectangle(canvas, (x, top), (x + tw + 2 * pad, top + th + base + 2 * pad), color, -1)
    luminance = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
    ink = (0, 0, 0) if luminance > 140 else (255, 255, 255)
    origin = (x + pad, top + pad + th)
    cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thick, cv2.LINE_AA)
