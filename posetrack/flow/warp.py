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
    f = flow.astype(np.float64, copy=False)
    top = f[y0, x0] * (1.0 - fx) + f[y0, x1] * fx
    bottom = f[y1, x0] * (1.0 - fx) + f[y1, x1] * fx
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
    t = (np.arange(grid, dtype=np.float32) + 0.5) / grid
    xs = b[:, None, 0] + t[None] * (b[:, None, 2] - b[:, None, 0])  # (N, g)
    ys = b[:, None, 1] + t[None] * (b[:, None, 3] - b[:, None, 1])
    lattice = np.stack(np.broadcast_arrays(xs[:, None, :], ys[:, :, None]), axis=-1)  # (N, g, g, 2)
    shift = np.median(sample_flow(flow, lattice).reshape(len(b), -1, 2), axis=1)
    return b + np.concatenate([shift, shift], axis=1)
