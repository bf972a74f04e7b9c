"""Moving points and boxes by a dense flow field (bilinear sampling, vectorised).

Out-of-frame points: the flow is sampled at the point clamped into the frame, i.e. the flow at the
nearest border pixel is extended outwards. A point that has left the frame keeps moving with the
motion last seen at the border instead of jumping or freezing; callers decide what to do with points
outside the image (the tracker ignores them for boxes).
"""

from __future__ import annotations

import numpy as np


def sample_flow(flow: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``flow`` (H, W, 2) at points ``xy`` (..., 2) → (..., 2) float32."""
    h, w = flow.shape[:2]
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    x = np.clip(pts[:, 0], 0.0, w - 1.0)
    y = np.clip(pts[:, 1], 0.0, h - 1.0)
    x0 = np.floor(x).astype(np.intp)
    y0 = np.floor(y).astype(np.intp)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (x - x0)[:, None]
    fy = (y - y0)[:, None]
    flat = flow.reshape(-1, 2)

    def f(yi: np.ndarray, xi: np.ndarray) -> np.ndarray:  # gather, then float64 (not the whole field)
        return flat[yi * w + xi].astype(np.float64)

    top = f(y0, x0) * (1.0 - fx) + f(y0, x1) * fx
    bottom = f(y1, x0) * (1.0 - fx) + f(y1, x1) * fx
    out = top * (1.0 - fy) + bottom * fy
    return out.astype(np.float32).reshape(np.shape(xy)[:-1] + (2,))


def warp_points(points: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Points (..., 2) or (..., >=2) of the previous frame moved into the current frame.

    Extra columns (e.g. keypoint scores) are copied unchanged.
    """
    pts = np.asarray(points, dtype=np.float32)
    out = pts.copy()
    if pts.size:
        out[..., :2] = pts[..., :2] + sample_flow(flow, pts[..., :2])
    return out


def warp_boxes(boxes: np.ndarray, flow: np.ndarray, grid: int = 5) -> np.ndarray:
    """Boxes (N, 4) x1,y1,x2,y2 shifted by the median flow over a grid x grid lattice inside each.

    The median over the box rather than the flow at its corners: corners usually lie on background,
    whose motion (camera pan) differs from the person's.
    """
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    if not len(b):
        return b.copy()
    return _shift_boxes(b, sample_flow(flow, _lattice(b, grid)))


def _lattice(b: np.ndarray, grid: int) -> np.ndarray:
    t = (np.arange(grid, dtype=np.float32) + 0.5) / grid
    xs = b[:, None, 0] + t[None] * (b[:, None, 2] - b[:, None, 0])  # (N, g)
    ys = b[:, None, 1] + t[None] * (b[:, None, 3] - b[:, None, 1])
    return np.stack(np.broadcast_arrays(xs[:, None, :], ys[:, :, None]), axis=-1)  # (N, g, g, 2)


def _shift_boxes(b: np.ndarray, samples: np.ndarray) -> np.ndarray:
    shift = np.median(samples.reshape(len(b), -1, 2), axis=1)
    return b + np.concatenate([shift, shift], axis=1)


def warp_poses(keypoints: np.ndarray, boxes: np.ndarray, flow: np.ndarray, grid: int = 5):
    """:func:`warp_points` of (N, K, >=2) keypoints and :func:`warp_boxes` of their (N, 4) boxes
    with one sampling of the flow (the same result, for the tracker's per-frame move)."""
    kp = np.asarray(keypoints, dtype=np.float32)
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    if not len(b):
        return kp.copy(), b.copy()
    lattice = _lattice(b, grid).reshape(-1, 2)
    samples = sample_flow(flow, np.concatenate([kp[..., :2].reshape(-1, 2), lattice]))
    n_kp = kp[..., 0].size
    out = kp.copy()
    out[..., :2] = kp[..., :2] + samples[:n_kp].reshape(kp.shape[:-1] + (2,))
    return out, _shift_boxes(b, samples[n_kp:])
