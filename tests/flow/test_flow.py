"""Optical flow: OpenCV DIS / Farneback recover a known shift; RAFT runs; warping points and boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from posetrack.errors import CheckpointError
from posetrack.flow import FlowConfig, build_flow, sample_flow, warp_boxes, warp_points


def _textured(h: int = 120, w: int = 160, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blobs = cv2.resize(rng.uniform(0, 255, (h // 6, w // 6)), (w, h), interpolation=cv2.INTER_CUBIC)
    gray = np.clip(blobs, 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def _shift(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("name,scale", [("dis", 1.0), ("dis", 0.5), ("farneback", 1.0), ("farneback", 0.5)])
def test_opencv_flow_recovers_translation(name, scale):
    prev = _textured()
    cur = _shift(prev, 3.0, -2.0)
    flow = build_flow(FlowConfig(name=name, scale=scale))(prev, cur)
    assert flow.shape == (120, 160, 2) and flow.dtype == np.float32
    inner = np.median(flow[20:-20, 20:-20].reshape(-1, 2), axis=0)
    np.testing.assert_allclose(inner, [3.0, -2.0], atol=0.5)


def test_flow_none_is_none():
    assert build_flow(FlowConfig(name="none")) is None


@pytest.mark.parametrize("name", ["raft-small", "raft-large"])
def test_raft_random_weights_shape(name):
    torch.manual_seed(0)
    est = build_flow(FlowConfig(name=name, weights=None, scale=1.0, raft_iterations=1), "cpu")
    prev = _textured(50, 70)  # not a multiple of 8 and below RAFT's 128 px minimum: padded inside
    flow = est(prev, _shift(prev, 1.0, 0.0))
    assert flow.shape == (50, 70, 2) and flow.dtype == np.float32 and np.isfinite(flow).all()


def test_raft_from_several_threads_equals_raft_called_in_turn():
    """The flow pool calls one RaftFlow from several threads; torchvision's RAFT keeps its
    correlation pyramid on the module, so unguarded calls mix their pyramids (or fail)."""
    from concurrent.futures import ThreadPoolExecutor

    torch.manual_seed(0)
    est = build_flow(FlowConfig(name="raft-small", weights=None, scale=1.0, raft_iterations=2), "cpu")
    pairs = [(_textured(64 + 8 * i, 96), None) for i in range(6)]
    pairs = [(a, _shift(a, 1.0 + i, 0.5)) for i, (a, _) in enumerate(pairs)]
    serial = [est(a, b) for a, b in pairs]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda p: est(*p), pairs))
    for x, y in zip(serial, threaded):
        np.testing.assert_array_equal(x, y)


def test_raft_weights_file_strict(tmp_path):
    path = tmp_path / "bad.pth"
    torch.save({"not_a_raft_key": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="bad.pth"):
        build_flow(FlowConfig(name="raft-small", weights=str(path)))


def test_raft_reduced_scale_scales_vectors_back():
    from posetrack.flow.opencv_flow import upscale_flow

    small = np.zeros((30, 40, 2), np.float32)
    small[..., 0], small[..., 1] = 1.5, -0.5
    full = upscale_flow(small, 60, 80)
    assert full.shape == (60, 80, 2)
    np.testing.assert_allclose(full[..., 0], 3.0)
    np.testing.assert_allclose(full[..., 1], -1.0)


def test_warp_points_constant_flow_and_scores_kept():
    flow = np.zeros((40, 50, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2.5, -1.0
    pts = np.array([[[10.0, 10.0, 0.9], [0.0, 0.0, 0.1]], [[49.0, 39.0, 0.5], [20.3, 7.7, 1.0]]])
    out = warp_points(pts, flow)
    assert out.shape == (2, 2, 3)
    np.testing.assert_allclose(out[..., :2], pts[..., :2] + [2.5, -1.0], atol=1e-5)
    np.testing.assert_allclose(out[..., 2], pts[..., 2])


def test_sample_flow_is_bilinear_and_clamped_outside():
    h, w = 20, 30
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.stack([xs * 0.5, ys * 2.0], -1)  # linear field: bilinear sampling is exact
    pts = np.array([[3.25, 4.5], [10.9, 17.1]])
    np.testing.assert_allclose(sample_flow(flow, pts), np.stack([pts[:, 0] * 0.5, pts[:, 1] * 2.0], -1), atol=1e-5)
    outside = np.array([[-5.0, -3.0], [100.0, 50.0]])  # sampled at the nearest border pixel
    np.testing.assert_allclose(sample_flow(flow, outside), [[0.0, 0.0], [(w - 1) * 0.5, (h - 1) * 2.0]], atol=1e-5)
    moved = warp_points(outside, flow)
    np.testing.assert_allclose(moved, outside + [[0.0, 0.0], [(w - 1) * 0.5, (h - 1) * 2.0]], atol=1e-5)


def test_warp_boxes_constant_flow():
    flow = np.zeros((40, 50, 2), np.float32)
    flow[..., 0], flow[..., 1] = -3.0, 4.0
    boxes = np.array([[5, 5, 20, 30], [30, 10, 45, 38]], np.float32)
    np.testing.assert_allclose(warp_boxes(boxes, flow), boxes + [-3, 4, -3, 4], atol=1e-5)
    assert warp_boxes(np.zeros((0, 4)), flow).shape == (0, 4)


def test_warp_poses_equals_points_and_boxes_apart():
    from posetrack.flow.warp import warp_poses

    rng = np.random.default_rng(0)
    flow = rng.normal(0, 3, (60, 80, 2)).astype(np.float32)
    kps = np.concatenate([rng.uniform(-10, 90, (4, 17, 2)), rng.uniform(0, 1, (4, 17, 1))], -1).astype(np.float32)
    boxes = np.array([[0, 0, 20, 30], [10, 5, 70, 55], [-5, -5, 10, 10], [60, 40, 79, 59]], np.float32)
    k, b = warp_poses(kps, boxes, flow)
    np.testing.assert_array_equal(k, warp_points(kps, flow))
    np.testing.assert_array_equal(b, warp_boxes(boxes, flow))
