"""Training targets, exactly as the official generators build them (vectorised, same numbers).

* :func:`topdown_target` = ``JointsDataset.generate_target`` (HRNet, target type 'gaussian');
* :func:`bottomup_heatmaps` = ``HeatmapGenerator`` and :func:`bottomup_joints` = ``JointsGenerator``
  (HigherHRNet).

Both gaussians are built once as the official table ``g`` and *gathered* (never recomputed per
pixel), so every target value is bit-identical to the official loops.
"""

from __future__ import annotations

import numpy as np


def _topdown_table(sigma: float) -> tuple[np.ndarray, float]:
    tmp_size = sigma * 3
    size = 2 * tmp_size + 1
    x = np.arange(0, size, 1, np.float32)
    y = x[:, np.newaxis]
    x0 = size // 2
    # float32 table, as the official (float32 arange, python-float centre and sigma)
    g = np.exp(-((x - x0) ** 2 + (y - x0) ** 2) / (2 * sigma**2))
    return g, tmp_size


def topdown_target(
    joints: np.ndarray,
    image_size: tuple[int, int],
    heatmap_size: tuple[int, int],
    sigma: float,
    joints_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian heatmaps (K, H, W) float32 and joint weights (K,) float32 for one crop.

    ``joints`` (K, 3): x, y in crop (input) pixels and visibility (the weight, official
    ``joints_3d_vis[:, 0]``); sizes are (width, height). Official rules kept:

    * the centre is ``int(x / stride + 0.5)`` with Python ``int`` (truncation towards zero, so
      ``x / stride`` in (-1.5, 0.5) lands on column 0);
    * the window is ``[int(mu - 3 sigma), int(mu + 3 sigma + 1))``; a joint whose window lies
      wholly outside the map gets weight 0 (and no gaussian); one partly outside is clipped; the
      official test is ``br < 0``, so a window ending exactly at column 0 keeps weight 1 with an
      empty map;
    * only joints with weight > 0.5 are drawn; an invisible joint keeps weight 0 even when inside;
    * ``joints_weight`` (per joint, e.g. the official COCO 1/1.2/1.5 table) multiplies the weight
      (``USE_DIFFERENT_JOINTS_WEIGHT``).
    """
    joints = np.asarray(joints, dtype=np.float64).reshape(-1, 3)
    k = len(joints)
    image_size = np.asarray(image_size, dtype=np.float64)
    hw, hh = int(heatmap_size[0]), int(heatmap_size[1])
    weight = joints[:, 2].astype(np.float32).copy()
    g, tmp_size = _topdown_table(float(sigma))
    size = g.shape[0]
    stride = image_size / np.asarray(heatmap_size, dtype=np.float64)
    mu_x = np.trunc(joints[:, 0] / stride[0] + 0.5)
    mu_y = np.trunc(joints[:, 1] / stride[1] + 0.5)
    ul_x, ul_y = np.trunc(mu_x - tmp_size).astype(np.int64), np.trunc(mu_y - tmp_size).astype(np.int64)
    br_x = np.trunc(mu_x + tmp_size + 1).astype(np.int64)
    br_y = np.trunc(mu_y + tmp_size + 1).astype(np.int64)
    outside = (ul_x >= hw) | (ul_y >= hh) | (br_x < 0) | (br_y < 0)
    weight[outside] = 0
    draw = (weight > 0.5) & ~outside
    # pixel p of the window shows g[p - ul]; the window is clipped to [max(0, ul), min(br, W))
    ix = np.arange(hw)[None, :] - ul_x[:, None]  # (K, W)
    iy = np.arange(hh)[None, :] - ul_y[:, None]  # (K, H)
    okx = (ix >= 0) & (ix < size) & (np.arange(hw)[None, :] < br_x[:, None])
    oky = (iy >= 0) & (iy < size) & (np.arange(hh)[None, :] < br_y[:, None])
    vals = g[np.clip(iy, 0, size - 1)[:, :, None], np.clip(ix, 0, size - 1)[:, None, :]]  # (K, H, W)
    mask = oky[:, :, None] & okx[:, None, :] & draw[:, None, None]
    target = np.where(mask, vals, np.float32(0)).astype(np.float32)
    if joints_weight is not None:
        weight = np.multiply(weight, np.asarray(joints_weight, np.float32).reshape(-1)).astype(np.float32)
    assert target.shape == (k, hh, hw)
    return target, weight


def _bottomup_table(sigma: float) -> np.ndarray:
    size = 6 * sigma + 3
    x = np.arange(0, size, 1, float)
    y = x[:, np.newaxis]
    x0 = y0 = 3 * sigma + 1
    return np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))  # float64, as the official


def bottomup_heatmaps(people: np.ndarray, output_res: int, sigma: float) -> np.ndarray:
    """(K, R, R) float32 heatmaps of every person, as HigherHRNet's ``HeatmapGenerator``.

    ``people`` (P, K, 3+) at the output resolution: x, y, visibility. Official rules: a joint with
    visibility > 0 whose truncated ``int(x), int(y)`` lies in the map is drawn as the max with what
    is there; the window starts at ``round(int(x) - 3 sigma - 1)`` (numpy rounding); sigma is not
    scaled with the resolution; ``sigma < 0`` means ``R / 64`` as in the official default.
    """
    if sigma < 0:
        sigma = output_res / 64
    people = np.asarray(people, dtype=np.float64)
    k = people.shape[1] if people.ndim == 3 else 0
    r = int(output_res)
    hms = np.zeros((k, r, r), dtype=np.float32)
    if people.size == 0:
        return hms
    g = _bottomup_table(float(sigma)).astype(np.float32)  # max(f32, f64) stored as f32 == max(f32, f32(g))
    size = g.shape[0]
    xs, ys = np.trunc(people[..., 0]), np.trunc(people[..., 1])
    ok = (people[..., 2] > 0) & (xs >= 0) & (ys >= 0) & (xs < r) & (ys < r)
    pi, ji = np.nonzero(ok)
    if len(pi) == 0:
        return hms
    x, y = xs[pi, ji], ys[pi, ji]
    ul_x = np.round(x - 3 * sigma - 1).astype(np.int64)
    ul_y = np.round(y - 3 * sigma - 1).astype(np.int64)
    br_x = np.round(x + 3 * sigma + 2).astype(np.int64)
    br_y = np.round(y + 3 * sigma + 2).astype(np.int64)
    d = np.arange(size)
    px = ul_x[:, None] + d[None, :]  # (N, size) map columns of the window
    py = ul_y[:, None] + d[None, :]
    okx = (px >= 0) & (px < r) & (px < br_x[:, None])
    oky = (py >= 0) & (py < r) & (py < br_y[:, None])
    valid = oky[:, :, None] & okx[:, None, :]  # (N, size, size)
    flat = (ji[:, None, None] * r + py[:, :, None]) * r + px[:, None, :]
    vals = np.broadcast_to(g, valid.shape)
    np.maximum.at(hms.reshape(-1), flat[valid], vals[valid])
    return hms


def bottomup_joints(people: np.ndarray, output_res: int, max_people: int, tag_per_joint: bool) -> np.ndarray:
    """(max_people, K, 2) int32 (flat tag index, 1) per visible joint, as ``JointsGenerator``.

    Per person, the visible in-map joints are packed from slot 0 in joint order (the official
    ``tot`` counter), each as ``(k * R^2 + y * R + x, 1)`` with ``tag_per_joint`` else
    ``(y * R + x, 1)``; coordinates are truncated with ``int`` (so -0.5 counts as column 0). The
    official code raises IndexError beyond ``max_people`` people; here the extra people are dropped.
    """
    people = np.asarray(people, dtype=np.float64)
    r = int(output_res)
    k = people.shape[1] if people.ndim == 3 else 0
    out = np.zeros((max_people, k, 2), dtype=np.int32)
    if people.size == 0:
        return out
    people = people[:max_people]
    xs, ys = np.trunc(people[..., 0]), np.trunc(people[..., 1])
    ok = (people[..., 2] > 0) & (xs >= 0) & (ys >= 0) & (xs < r) & (ys < r)
    slot = np.cumsum(ok, axis=1) - 1
    pi, ji = np.nonzero(ok)
    idx = ys[pi, ji] * r + xs[pi, ji]
    if tag_per_joint:
        idx = idx + ji * r * r
    out[pi, slot[pi, ji], 0] = idx.astype(np.int64)
    out[pi, slot[pi, ji], 1] = 1
    return out
