"""Heatmaps -> keypoints: the official HRNet decoder and DARK, vectorised over people and joints.

Official (HRNet ``get_final_preds`` with POST_PROCESS): argmax of each heatmap (a non-positive peak
gives (0, 0)), then a quarter-pixel step toward the higher neighbour along x and along y, applied
only when the rounded peak satisfies ``1 < px < W - 1`` and ``1 < py < H - 1``.

DARK (Zhang et al., CVPR 2020, official DarkPose ``get_final_preds``): the argmax refined by a
second-order Taylor expansion of the log of the heatmap after Gaussian modulation (kernel 11:
zero-padded Gaussian blur, rescaled to the original peak), applied only when
``1 < px < W - 2`` and ``1 < py < H - 2`` and the Hessian is invertible.

Both return heatmap coordinates; :func:`heatmap_to_image` maps them back with the official inverse
affine transform (heatmap pixel u corresponds to network input pixel u * stride).
"""

from __future__ import annotations

import cv2
import numpy as np

from posetrack.pose.transforms import affine_matrices, apply_affine


def get_max_preds(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Argmax of (N, K, H, W) heatmaps -> coords (N, K, 2) float32 (x, y), peaks (N, K) float32."""
    hm = np.asarray(heatmaps)
    n, k, _, w = hm.shape
    flat = hm.reshape(n, k, -1)
    idx = np.argmax(flat, axis=2)
    maxvals = np.take_along_axis(flat, idx[..., None], axis=2)[..., 0].astype(np.float32)
    coords = np.stack([idx % w, idx // w], axis=-1).astype(np.float32)
    coords *= (maxvals > 0.0)[..., None].astype(np.float32)
    return coords, maxvals


def _gather(hm: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """hm[n, k, ys[n, k], xs[n, k]] for (N, K) index arrays (indices clipped into the map)."""
    n, k, h, w = hm.shape
    ys = np.clip(ys, 0, h - 1)
    xs = np.clip(xs, 0, w - 1)
    ni = np.arange(n)[:, None]
    ki = np.arange(k)[None, :]
    return hm[ni, ki, ys, xs]


def quarter_offset(heatmaps: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Official post-processing: move each argmax a quarter pixel toward the higher neighbour."""
    hm = np.asarray(heatmaps, dtype=np.float32)
    _, _, h, w = hm.shape
    coords = np.array(coords, dtype=np.float32, copy=True)
    px = np.floor(coords[..., 0] + 0.5).astype(np.int64)
    py = np.floor(coords[..., 1] + 0.5).astype(np.int64)
    inside = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    dx = _gather(hm, py, px + 1) - _gather(hm, py, px - 1)
    dy = _gather(hm, py + 1, px) - _gather(hm, py - 1, px)
    step = np.stack([np.sign(dx), np.sign(dy)], axis=-1).astype(np.float32) * np.float32(0.25)
    coords += np.where(inside[..., None], step, np.float32(0.0))
    return coords


def modulate(heatmaps: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK distribution modulation: zero-padded Gaussian blur, rescaled to each map's peak.

    The official code blurs each map, padded by (kernel - 1) / 2 zeros, with
    ``cv2.GaussianBlur(ksize=kernel, sigma=0)`` in float64. Here all maps, each with that zero
    border, are stacked into one tall float64 image and blurred by a single call: the borders keep
    the maps apart, so every map gets exactly the official result.
    """
    hm = np.asarray(heatmaps, dtype=np.float32)
    n, k, h, w = hm.shape
    b = (kernel - 1) // 2
    mosaic = np.zeros((n * k, h + 2 * b, w + 2 * b), np.float64)
    mosaic[:, b : b + h, b : b + w] = hm.reshape(n * k, h, w)
    blurred = cv2.GaussianBlur(mosaic.reshape(n * k * (h + 2 * b), w + 2 * b), (kernel, kernel), 0)
    blurred = blurred.reshape(n * k, h + 2 * b, w + 2 * b)[:, b : b + h, b : b + w]
    blurred = blurred.reshape(n, k, h, w).astype(np.float32)  # stored as float32, as official
    origin_max = hm.max(axis=(2, 3), keepdims=True)
    new_max = blurred.max(axis=(2, 3), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (origin_max / new_max).astype(np.float32)
    return blurred * ratio


def dark_refine(heatmaps: np.ndarray, coords: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK: Taylor-expansion refinement of integer argmax ``coords`` on modulated log-heatmaps."""
    hm = np.log(np.maximum(modulate(heatmaps, kernel), np.float32(1e-10)))
    _, _, h, w = hm.shape
    coords = np.array(coords, dtype=np.float32, copy=True)
    px = coords[..., 0].astype(np.int64)  # int() truncation, as official
    py = coords[..., 1].astype(np.int64)

    def at(dy: int, dx: int) -> np.ndarray:
        return _gather(hm, py + dy, px + dx)

    c = at(0, 0)
    dx = np.float32(0.5) * (at(0, 1) - at(0, -1))
    dy = np.float32(0.5) * (at(1, 0) - at(-1, 0))
    dxx = np.float32(0.25) * (at(0, 2) - 2 * c + at(0, -2))
    dxy = np.float32(0.25) * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    dyy = np.float32(0.25) * (at(2, 0) - 2 * c + at(-2, 0))
    det = dxx * dyy - dxy**2
    ok = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2) & (det != 0)
    safe = np.where(ok, det, np.float32(1.0))
    # offset = -H^-1 g with H = [[dxx, dxy], [dxy, dyy]]
    with np.errstate(invalid="ignore", over="ignore"):
        ox = -(dyy * dx - dxy * dy) / safe
        oy = -(-dxy * dx + dxx * dy) / safe
    offset = np.stack([ox, oy], axis=-1).astype(np.float32)
    # Deviation from the official code, degenerate maps only: an all-zero map makes the official
    # modulation 0/0 and its keypoint NaN; we keep the argmax instead.
    ok &= np.isfinite(offset).all(axis=-1)
    coords += np.where(ok[..., None], offset, np.float32(0.0))
    return coords


def heatmap_to_image(
    coords: np.ndarray, centers: np.ndarray, scales: np.ndarray, heatmap_size: tuple[int, int]
) -> np.ndarray:
    """Official ``transform_preds``: (N, K, 2) heatmap coords -> image coords (float64)."""
    inv = affine_matrices(centers, scales, heatmap_size, inverse=True)
    return apply_affine(coords, inv)


def decode_heatmaps(
    heatmaps: np.ndarray,
    centers: np.ndarray,
    scales: np.ndarray,
    method: str = "official",
    blur_kernel: int = 11,
) -> np.ndarray:
    """(N, K, H, W) float32 heatmaps of N crops -> (N, K, 3) float32 image x, y and peak score."""
    hm = np.ascontiguousarray(heatmaps, dtype=np.float32)
    n, k, h, w = hm.shape
    if n == 0:
        return np.zeros((0, k, 3), np.float32)
    coords, maxvals = get_max_preds(hm)
    if method == "official":
        coords = quarter_offset(hm, coords)
    elif method == "dark":
        coords = dark_refine(hm, coords, blur_kernel)
    else:
        raise ValueError(f"unknown heatmap decoder {method!r} (official, dark)")
    xy = heatmap_to_image(coords, centers, scales, (w, h))
    return np.concatenate([xy.astype(np.float32), maxvals[..., None]], axis=-1)
