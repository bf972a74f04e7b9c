"""Bottom-up input geometry: the official aspect-preserving resize and its inverse.

HigherHRNet resizes the whole image so that its short side becomes ``input_size * scale`` and its
long side is rounded up to a multiple of 64 (so every stride-64 feature map is whole); the image is
centred and the rest padded with black by an affine warp. Predictions go back to the image through
the inverse of the same affine (``center``, ``scale`` in units of 200 px, as the official code).
"""

from __future__ import annotations

import cv2
import numpy as np


def multi_scale_size(
    width: int, height: int, input_size: int, current_scale: float, min_scale: float
) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
    """Network input size (w, h), center (px) and scale (w, h in 200-px units) for one test scale.

    Sizes are computed at the smallest scale first (rounded up to 64) and multiplied up, so that
    every scale's maps line up, as the official ``get_multi_scale_size``.
    """
    center = np.array([int(width / 2.0 + 0.5), int(height / 2.0 + 0.5)])
    min_input = int((min_scale * input_size + 63) // 64 * 64)
    factor = current_scale / min_scale
    if width < height:
        w_res = int(min_input * factor)
        h_res = int(int((min_input / width * height + 63) // 64 * 64) * factor)
        scale_w = width / 200.0
        scale_h = h_res / w_res * width / 200.0
    else:
        h_res = int(min_input * factor)
        w_res = int(int((min_input / height * width + 63) // 64 * 64) * factor)
        scale_h = height / 200.0
        scale_w = w_res / h_res * height / 200.0
    return (w_res, h_res), center, np.array([scale_w, scale_h])


def affine_matrix(
    center: np.ndarray, scale: np.ndarray, output_size: tuple[int, int], inverse: bool = False
) -> np.ndarray:
    """2x3 affine from the image box (center, scale*200 wide) to an output_size canvas, no rotation.

    Built from the same three float32 point pairs as the official ``get_affine_transform`` so that
    the matrix (and hence the warp) is bit-identical; only the box width sets the zoom.
    """
    src_w = float(np.asarray(scale, dtype=np.float64)[0]) * 200.0
    dst_w, dst_h = float(output_size[0]), float(output_size[1])
    c = np.asarray(center, dtype=np.float64)
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = c
    src[1] = c + np.array([0.0, -0.5 * src_w])
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = np.array([dst_w * 0.5, dst_h * 0.5]) + np.array([0.0, -0.5 * dst_w])
    # Third point: the second one turned 90 degrees about the first (keeps the map a similarity).
    for pts in (src, dst):
        d = pts[0] - pts[1]
        pts[2] = pts[1] + np.array([-d[1], d[0]], np.float32)
    if inverse:
        return cv2.getAffineTransform(dst, src)
    return cv2.getAffineTransform(src, dst)


def resize_for_scale(
    image: np.ndarray, input_size: int, current_scale: float, min_scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Warp an HxWx3 image to the network input of one test scale (bilinear, black padding)."""
    h, w = image.shape[:2]
    size, center, scale = multi_scale_size(w, h, input_size, current_scale, min_scale)
    trans = affine_matrix(center, scale, size)
    return cv2.warpAffine(image, trans, size), center, scale


def to_image_coords(
    points: np.ndarray, center: np.ndarray, scale: np.ndarray, map_size: tuple[int, int]
) -> np.ndarray:
    """Map (..., 2) points in a (w, h) map at the scale-1 input size back to image pixels."""
    trans = affine_matrix(center, scale, map_size, inverse=True)
    pts = np.asarray(points, dtype=np.float64)
    out = pts @ trans[:, :2].T + trans[:, 2]
    return out.astype(np.float32)
