"""Heatmap decoding on planted heatmaps: official argmax + quarter offset, DARK, back-projection."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posetrack.pose.decode import (
    dark_refine,
    decode_heatmaps,
    get_max_preds,
    heatmap_to_image,
    modulate,
    quarter_offset,
)


def gaussian(h, w, x, y, sigma=2.0):
    ys, xs = np.mgrid[0:h, 0:w]
    return np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2)).astype(np.float32)


def planted(points, h=64, w=48, sigma=2.0):
    """(N, K, h, w) heatmaps with one Gaussian per map at points (N, K, 2)."""
    pts = np.asarray(points, np.float64)
    return np.stack([np.stack([gaussian(h, w, x, y, sigma) for x, y in person]) for person in pts])


def test_argmax_and_nonpositive_maps():
    hm = planted([[[10, 20], [30.0, 5.0]]])
    hm[0, 1] -= 2.0  # all negative: official gives (0, 0) with the negative peak as score
    coords, maxvals = get_max_preds(hm)
    np.testing.assert_array_equal(coords[0, 0], [10, 20])
    np.testing.assert_array_equal(coords[0, 1], [0, 0])
    assert maxvals[0, 0] == pytest.approx(1.0) and maxvals[0, 1] == pytest.approx(-1.0)


def test_quarter_offset_moves_toward_higher_neighbour():
    hm = planted([[[10.3, 20.0], [10.0, 19.7], [25.0, 30.0], [12.6, 33.4]]])
    coords, _ = get_max_preds(hm)
    out = quarter_offset(hm, coords)
    np.testing.assert_array_equal(out[0, 0], [10.25, 20.0])  # +x; y neighbours equal -> no step
    np.testing.assert_array_equal(out[0, 1], [10.0, 19.75])  # -y
    np.testing.assert_array_equal(out[0, 2], [25.0, 30.0])  # centred: sign(0) = 0
    np.testing.assert_array_equal(out[0, 3], [12.75, 33.25])


@pytest.mark.parametrize(
    "peak, moved",
    [((1, 20), False), ((2, 20), True), ((46, 20), True), ((47, 20), False), ((0, 20), False),
     ((20, 1), False), ((20, 2), True), ((20, 62), True), ((20, 63), False), ((1, 1), False)],
)
def test_quarter_offset_border_rule(peak, moved):
    # official: 1 < px < W - 1 and 1 < py < H - 1 (W = 48, H = 64), both axes gate both steps
    x, y = peak
    hm = planted([[[x + 0.3, y + 0.3]]])
    hm[0, 0, y, x] = 2.0  # force the argmax
    coords, _ = get_max_preds(hm)
    out = quarter_offset(hm, coords)
    assert bool(np.any(out != coords)) == moved


def official_loop(hm, centers, scales):
    """HRNet get_final_preds (POST_PROCESS) written out with loops, for comparison."""
    n, k, h, w = hm.shape
    out = np.zeros((n, k, 3), np.float64)
    for i in range(n):
        sw = scales[i][0] * 200.0
        for j in range(k):
            m = hm[i, j]
            idx = int(np.argmax(m))
            v = m.reshape(-1)[idx]
            x, y = (float(idx % w), float(idx // w)) if v > 0 else (0.0, 0.0)
            px, py = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
            if 1 < px < w - 1 and 1 < py < h - 1:
                x += 0.25 * np.sign(m[py, px + 1] - m[py, px - 1])
                y += 0.25 * np.sign(m[py + 1, px] - m[py - 1, px])
            out[i, j] = [centers[i][0] + (x - w / 2) * sw / w, centers[i][1] + (y - h / 2) * sw / w, v]
    return out


def test_official_decoder_equals_loop_reference():
    rng = np.random.default_rng(0)
    hm = rng.normal(0, 0.05, (6, 17, 64, 48)).astype(np.float32)
    hm += planted(rng.uniform(-2, 50, (6, 17, 2)))
    hm[0, 0] = -1.0  # non-positive map
    hm[1, 1] = 0.0  # flat map
    centers = rng.uniform(0, 500, (6, 2)).astype(np.float32)
    scales = rng.uniform(0.2, 3, (6, 2)).astype(np.float32)
    out = decode_heatmaps(hm, centers, scales, "official")
    ref = official_loop(hm, centers, scales)
    np.testing.assert_allclose(out, ref, atol=1e-3 * scales[:, 0].max())
    assert out.dtype == np.float32


def dark_loop(hm, kernel=11):
    """DarkPose get_final_preds on heatmap coordinates, written out with loops."""
    coords, _ = get_max_preds(hm)
    hm = hm.copy()
    border = (kernel - 1) // 2
    n, k, h, w = hm.shape
    for i in range(n):
        for j in range(k):
            origin_max = np.max(hm[i, j])
            dr = np.zeros((h + 2 * border, w + 2 * border))
            dr[border:-border, border:-border] = hm[i, j]
            dr = cv2.GaussianBlur(dr, (kernel, kernel), 0)
            hm[i, j] = dr[border:-border, border:-border]
            hm[i, j] *= origin_max / np.max(hm[i, j])
    hm = np.log(np.maximum(hm, 1e-10))
    for i in range(n):
        for j in range(k):
            m = hm[i, j]
            px, py = int(coords[i, j, 0]), int(coords[i, j, 1])
            if 1 < px < w - 2 and 1 < py < h - 2:
                dx = 0.5 * (m[py, px + 1] - m[py, px - 1])
                dy = 0.5 * (m[py + 1, px] - m[py - 1, px])
                dxx = 0.25 * (m[py, px + 2] - 2 * m[py, px] + m[py, px - 2])
                dxy = 0.25 * (m[py + 1, px + 1] - m[py - 1, px + 1] - m[py + 1, px - 1] + m[py - 1, px - 1])
                dyy = 0.25 * (m[py + 2, px] - 2 * m[py, px] + m[py - 2, px])
                hess = np.array([[dxx, dxy], [dxy, dyy]], np.float64)
                if dxx * dyy - dxy**2 != 0:
                    coords[i, j] -= np.linalg.inv(hess) @ np.array([dx, dy])
    return coords


def test_modulation_equals_padded_cv2_blur():
    rng = np.random.default_rng(1)
    hm = (planted(rng.uniform(0, 48, (2, 3, 2))) + rng.uniform(0, 0.1, (2, 3, 64, 48))).astype(np.float32)
    out = modulate(hm, 11)
    for i in range(2):
        for j in range(3):
            dr = np.zeros((74, 58))
            dr[5:-5, 5:-5] = hm[i, j]
            ref = cv2.GaussianBlur(dr, (11, 11), 0)[5:-5, 5:-5].astype(np.float32)
            ref *= hm[i, j].max() / ref.max()
            np.testing.assert_array_equal(out[i, j], ref)


def test_dark_equals_loop_reference():
    rng = np.random.default_rng(2)
    hm = planted(rng.uniform(-1, 49, (4, 17, 2))) * rng.uniform(0.3, 1.0, (4, 17, 1, 1)).astype(np.float32)
    hm += rng.normal(0, 0.01, hm.shape).astype(np.float32)
    coords, _ = get_max_preds(hm)
    np.testing.assert_allclose(dark_refine(hm, coords), dark_loop(hm), atol=1e-4)


def test_dark_is_sub_pixel_accurate_and_beats_official():
    rng = np.random.default_rng(3)
    truth = np.stack([rng.uniform(4, 43, (8, 17)), rng.uniform(4, 59, (8, 17))], -1)
    hm = planted(truth)
    coords, _ = get_max_preds(hm)
    err_dark = np.linalg.norm(dark_refine(hm, coords) - truth, axis=-1)
    err_official = np.linalg.norm(quarter_offset(hm, coords) - truth, axis=-1)
    assert err_dark.max() < 0.05
    assert err_dark.mean() < 0.2 * err_official.mean()


def test_dark_border_and_flat_maps_keep_argmax():
    hm = planted([[[1.3, 30.0], [46.0, 2.0], [20.0, 20.0]]])
    hm[0, 2] = 0.0  # all zero: keep (0, 0) rather than NaN
    coords, _ = get_max_preds(hm)
    out = dark_refine(hm, coords)
    np.testing.assert_array_equal(out[0, 0], coords[0, 0])  # px = 1: outside 1 < px < W - 2
    np.testing.assert_array_equal(out[0, 1], coords[0, 1])  # px = 46 = W - 2: outside
    np.testing.assert_array_equal(out[0, 2], [0, 0])


def test_heatmap_to_image_maps_heatmap_pixels_through_the_crop():
    centers = np.array([[100.0, 200.0], [50.5, 60.25]], np.float32)
    scales = np.array([[1.5, 2.0], [0.3, 0.4]], np.float32)
    uv = np.array([[[24.0, 32.0], [0.0, 0.0]], [[10.0, 5.0], [47.0, 63.0]]])
    out = heatmap_to_image(uv, centers, scales, (48, 64))
    k = scales[:, 0:1].astype(np.float64) * 200 / 48
    expected = centers[:, None].astype(np.float64) + (uv - [24, 32]) * k[:, None]
    np.testing.assert_allclose(out, expected, atol=1e-6)
