"""Box -> center/scale, affine matrices and crops against straightforward re-derivations."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torchvision.transforms as T

from posetrack.pose.transforms import (
    affine_matrices,
    apply_affine,
    boxes_to_center_scale,
    crop_cv2,
    crop_torch,
    normalize_crops,
    opencv_warp_arithmetic,
    xywh_to_center_scale,
)


def reference_cs(x, y, w, h, ratio):
    """HRNet's _xywh2cs, written out for one box."""
    c = np.array([x + w * 0.5, y + h * 0.5], np.float32)
    if w > ratio * h:
        h = w * 1.0 / ratio
    elif w < ratio * h:
        w = h * ratio
    s = np.array([w * 1.0 / 200, h * 1.0 / 200], np.float32)
    if c[0] != -1:
        s = s * 1.25
    return c, s


@pytest.fixture
def boxes():
    rng = np.random.default_rng(0)
    xy = rng.uniform(-100, 500, (200, 2))
    wh = rng.uniform(1, 400, (200, 2))
    wh[:5] = [[30, 40], [75, 100], [300, 400], [10, 10], [1, 300]]  # exact-ratio and extreme boxes
    return np.concatenate([xy, wh], 1)


@pytest.mark.parametrize("ratio", [192 / 256, 288 / 384, 1.0])
def test_center_scale_equals_official_formula(boxes, ratio):
    centers, scales = xywh_to_center_scale(boxes, ratio)
    for (x, y, w, h), c, s in zip(boxes, centers, scales):
        rc, rs = reference_cs(x, y, w, h, ratio)
        np.testing.assert_array_equal(c, rc)
        np.testing.assert_array_equal(s, rs)
    assert centers.dtype == scales.dtype == np.float32
    xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], 1)
    c2, s2 = boxes_to_center_scale(xyxy, ratio)
    np.testing.assert_allclose(c2, centers, rtol=1e-6)
    np.testing.assert_allclose(s2, scales, rtol=1e-6)


def test_center_minus_one_quirk_skips_padding():
    _, s = xywh_to_center_scale(np.array([[-11.0, 0.0, 20.0, 40.0]]), 0.5)  # center x == -1
    np.testing.assert_allclose(s, [[0.1, 0.2]], rtol=1e-6)


def test_affine_matrices_equal_closed_form(boxes):
    size = (192, 256)
    centers, scales = xywh_to_center_scale(boxes, size[0] / size[1])
    m = affine_matrices(centers, scales, size)
    inv = affine_matrices(centers, scales, size, inverse=True)
    k = size[0] / (scales[:, 0].astype(np.float64) * 200.0)  # only scale[0] sets the zoom
    expected = np.zeros_like(m)
    expected[:, 0, 0] = expected[:, 1, 1] = k
    expected[:, 0, 2] = size[0] / 2 - k * centers[:, 0]
    expected[:, 1, 2] = size[1] / 2 - k * centers[:, 1]
    np.testing.assert_allclose(m, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    # crop -> image -> crop is the identity
    pts = np.random.default_rng(1).uniform(0, 200, (len(m), 5, 2))
    back = apply_affine(apply_affine(pts, inv), m)
    np.testing.assert_allclose(back, pts, atol=1e-6)
    # center of the box goes to the middle of the crop
    np.testing.assert_allclose(apply_affine(centers[:, None], m)[:, 0], np.tile([96, 128], (len(m), 1)), atol=1e-6)


def test_crop_cv2_is_official_warp():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    c, s = xywh_to_center_scale(np.array([[10.0, 20.0, 50.0, 70.0]]), 0.75)
    sw = s[0, 0] * 200.0
    src = np.float32([c[0], c[0] + [0, -0.5 * sw], c[0] + [-0.5 * sw, -0.5 * sw]])
    dst = np.float32([[48, 64], [48, 16], [0, 16]])
    ref = cv2.warpAffine(img, cv2.getAffineTransform(src, dst), (96, 128), flags=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(crop_cv2(img, affine_matrices(c, s, (96, 128)), (96, 128))[0], ref)


def test_torch_warp_matches_cv2_pixels(boxes):
    rng = np.random.default_rng(3)
    img = cv2.GaussianBlur(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8), (3, 3), 0)
    img[::7] = rng.integers(0, 256, img[::7].shape, dtype=np.uint8)  # sharp rows too
    size = (48, 64)
    centers, scales = xywh_to_center_scale(boxes[:60] * 0.8, size[0] / size[1])
    m = affine_matrices(centers, scales, size)
    ref = crop_cv2(img, m, size)
    out = crop_torch(torch.from_numpy(img), m, size).permute(0, 2, 3, 1).numpy()
    diff = np.abs(ref.astype(int) - out.astype(int))
    assert opencv_warp_arithmetic() in ("fixed", "float")
    assert diff.max() <= 1
    assert (diff > 0).mean() < 1e-5, (diff > 0).mean()


def float_warp_reference(img, m, size):
    """OpenCV 5's float warp written out: fma source coordinates in float32, float32 lerps, rint."""
    inv = cv2.invertAffineTransform(m).astype(np.float32)
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float32)
    sx = (xs.astype(np.float64) * inv[0, 0] + (inv[0, 1] * ys + inv[0, 2]).astype(np.float64)).astype(np.float32)
    sy = (xs.astype(np.float64) * inv[1, 0] + (inv[1, 1] * ys + inv[1, 2]).astype(np.float64)).astype(np.float32)
    x0, y0 = np.floor(sx), np.floor(sy)
    a, b = (sx - x0)[..., None], (sy - y0)[..., None]
    h, w = img.shape[:2]

    def px(dy, dx):
        xi, yi = (x0 + dx).astype(int), (y0 + dy).astype(int)
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        return np.where(ok[..., None], img[yi.clip(0, h - 1), xi.clip(0, w - 1)], 0).astype(np.float32)

    top = px(0, 0) + a * (px(0, 1) - px(0, 0))
    bottom = px(1, 0) + a * (px(1, 1) - px(1, 0))
    return np.rint(top + b * (bottom - top)).clip(0, 255).astype(np.uint8)


def test_torch_warp_float_arithmetic_matches_its_reference():
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    c, s = xywh_to_center_scale(np.array([[5.5, -3.0, 30.0, 40.0], [40.0, 20.0, 200.0, 90.0]]), 0.75)
    m = affine_matrices(c, s, (24, 32))
    out = crop_torch(torch.from_numpy(img), m, (24, 32), arithmetic="float").permute(0, 2, 3, 1).numpy()
    for i in range(2):
        ref = float_warp_reference(img, m[i], (24, 32))
        assert np.abs(ref.astype(int) - out[i]).max() <= 1
        assert (ref != out[i]).mean() < 1e-3


def test_normalize_equals_totensor_normalize():
    crops = np.random.default_rng(4).integers(0, 256, (3, 16, 12, 3), dtype=np.uint8)
    norm = T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    ref = torch.stack([norm(T.ToTensor()(c)) for c in crops])
    out = normalize_crops(torch.from_numpy(crops).permute(0, 3, 1, 2))
    assert torch.equal(out, ref)
