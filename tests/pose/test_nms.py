"""Official rescoring and OKS-NMS on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posetrack.pose.nms import crop_areas, oks_nms, rescore


def pose(points, scores=None):
    pts = np.asarray(points, np.float64)
    s = np.ones(len(pts)) if scores is None else np.asarray(scores, np.float64)
    return np.concatenate([pts, s[:, None]], 1)


def test_rescore_is_box_score_times_mean_of_confident_joints():
    kp_scores = np.array([[0.1, 0.5, 0.9], [0.1, 0.2, 0.15], [0.3, 0.3, 0.3]], np.float32)
    out = rescore(kp_scores, np.array([0.8, 0.9, 1.0]), threshold=0.2)
    # 0.8 * (0.5 + 0.9) / 2; none strictly above 0.2 -> 0; 1.0 * 0.3
    np.testing.assert_allclose(out, [0.8 * 0.7, 0.0, 0.3], rtol=1e-6)


def test_crop_area_is_scale_product_times_200_squared():
    np.testing.assert_allclose(crop_areas(np.array([[0.5, 0.25], [1.0, 2.0]])), [5000.0, 80000.0])


def test_single_joint_oks_threshold_by_hand():
    # one joint, sigma 0.1 -> variance (2 * 0.1)^2 = 0.04; areas 100; distance 2
    # e = 4 / 0.04 / 100 / 2 = 0.5 -> OKS = exp(-0.5) = 0.6065
    kps = np.stack([pose([[10, 10]]), pose([[12, 10]])])
    scores, areas, sig = np.array([0.9, 0.8]), np.array([100.0, 100.0]), np.array([0.1])
    assert list(oks_nms(kps, scores, areas, 0.60, sig)) == [0]  # 0.6065 > 0.60: duplicate
    assert list(oks_nms(kps, scores, areas, 0.61, sig)) == [0, 1]  # 0.6065 <= 0.61: kept
    # the mean of the two areas is used: areas 100 and 300 -> 200 -> e = 0.25, OKS = 0.7788
    assert math.exp(-0.25) > 0.77
    assert list(oks_nms(kps, scores, np.array([100.0, 300.0]), 0.77, sig)) == [0]
    assert list(oks_nms(kps, scores, np.array([100.0, 300.0]), 0.78, sig)) == [0, 1]


def test_visibility_quirk_counts_only_the_candidates_joints():
    # joint 0 at distance 2 (OKS term exp(-0.5)), joint 1 identical (term 1)
    kept = pose([[10, 10], [20, 20]], scores=[0.0, 0.0])  # its own scores do not matter
    cand = pose([[12, 10], [20, 20]], scores=[0.9, 0.1])
    kps = np.stack([kept, cand])
    args = (np.array([0.9, 0.8]), np.array([100.0, 100.0]), 0.7, np.array([0.1, 0.1]))
    # all joints: (0.6065 + 1) / 2 = 0.803 > 0.7 -> dropped
    assert list(oks_nms(kps, *args)) == [0]
    # candidate's joint 1 below 0.5 -> only joint 0 counts: 0.6065 <= 0.7 -> kept
    assert list(oks_nms(kps, *args, in_vis_threshold=0.5)) == [0, 1]
    # candidate with no joint above the threshold has OKS 0 -> always kept
    kps[1, :, 2] = 0.0
    assert list(oks_nms(kps, *args, in_vis_threshold=0.5)) == [0, 1]


def test_greedy_order_and_suppressed_poses_do_not_suppress():
    sig = np.full(3, 0.1)
    a = pose([[0, 0], [10, 0], [0, 10]])
    b = a + [[1.0, 0, 0]]  # close to a and c
    c = a + [[2.0, 0, 0]]  # far enough from a, close to b
    kps = np.stack([c, a, b])
    scores = np.array([0.7, 0.9, 0.8])
    areas = np.full(3, 100.0)
    # OKS(a, b) = exp(-1/0.04/100/2) = exp(-0.125) = 0.8825; OKS(a, c) = exp(-0.5) = 0.6065
    keep = oks_nms(kps, scores, areas, 0.85, sig)
    assert list(keep) == [1, 0]  # a first, b dropped by a, c kept (only b, gone, overlapped it)
    assert list(oks_nms(kps, scores, areas, 0.9, sig)) == [1, 2, 0]  # nothing above 0.9, by score
    assert len(oks_nms(np.zeros((0, 3, 3)), np.zeros(0), np.zeros(0), 0.9, sig)) == 0


@pytest.mark.parametrize("n", [1, 7])
def test_identical_poses_collapse_to_the_best(n):
    kps = np.repeat(pose(np.random.default_rng(0).uniform(0, 100, (17, 2)))[None], n, 0)
    scores = np.linspace(0.1, 0.9, n)
    keep = oks_nms(kps, scores, np.full(n, 5000.0), 0.9, np.full(17, 0.05))
    assert list(keep) == [n - 1]
