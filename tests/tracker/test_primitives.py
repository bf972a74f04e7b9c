"""IoU, NMS, keypoint boxes, OKS similarity and matching against hand-computed cases."""

from __future__ import annotations

import numpy as np

from posetrack.keypoints import COCO17
from posetrack.tracker import TrackerConfig, build_tracker
from posetrack.tracker.boxes import iou_matrix, keypoint_boxes, nms
from posetrack.tracker.matching import greedy_match, hungarian_match
from posetrack.tracker.smoothing import OneEuroFilter
from posetrack.types import Poses


def test_iou_hand_computed():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
    np.testing.assert_allclose(iou_matrix(a, b), [[50 / 150, 0.0, 1.0]])


def test_nms_priority_and_protection():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10.5], [30, 30, 40, 40]], float)
    scores = np.array([0.6, 0.9, 0.95, 0.5])
    # plain NMS by score: box 2 (0.95) suppresses 0 (IoU 0.95) and 1 (IoU 0.78)
    assert nms(boxes, scores, 0.5).tolist() == [2, 3]
    # boxes 0, 1 are detections (priority, protected), 2 and 3 propagated: 2 overlaps a detection
    prio = np.array([1, 1, 0, 0])
    assert sorted(nms(boxes, scores, 0.5, prio, protected=prio.astype(bool)).tolist()) == [0, 1, 3]


def test_keypoint_boxes_extent_enlarged():
    kp = np.zeros((2, 17, 3), np.float32)
    kp[0, :3] = [[10, 20, 0.9], [30, 60, 0.8], [100, 100, 0.1]]  # third joint not confident
    kp[1, 0] = [5, 5, 0.9]  # only one confident joint: no box
    boxes, ok = keypoint_boxes(kp, 0.3, 0.5)
    assert ok.tolist() == [True, False]
    np.testing.assert_allclose(boxes[0], [5, 10, 35, 70])  # 20x40 extent grown by 50 % about (20, 40)


def test_oks_similarity_hand_computed():
    tracker = build_tracker(TrackerConfig(keypoint_threshold=0.3), COCO17)
    base = np.zeros((17, 3), np.float32)
    base[:, 0] = np.linspace(0, 40, 17)
    base[:, 1] = np.linspace(0, 80, 17)
    base[:, 2] = 0.9
    moved = base.copy()
    moved[:, 0] += 2.0  # every joint 2 px to the right
    moved[16, 2] = 0.1  # one joint not confident: left out of the mean
    prev = Poses(base[None], [[0, 0, 40, 80]], [1.0], COCO17)
    tracker.update(prev, None)
    cur = Poses(moved[None], [[2, 0, 42, 80]], [1.0], COCO17)
    sim = tracker.associator.similarity(cur, tracker.tracks.keypoints, tracker.tracks.boxes)
    area = 40.0 * 80.0  # s^2: mean of the two boxes' areas, both 40 x 80
    k = 2 * COCO17.sigma_array[:16]
    expected = np.mean(np.exp(-4.0 / (2 * area * k**2)))
    np.testing.assert_allclose(sim, [[expected]], rtol=1e-6)


def test_greedy_takes_highest_first_hungarian_maximises_total():
    sim = np.array([[0.9, 0.8], [0.85, 0.1]])
    assert greedy_match(sim, 0.3) == [(0, 0)]  # (1, 1) is below the threshold
    assert sorted(hungarian_match(sim, 0.3)) == [(0, 1), (1, 0)]  # 0.8 + 0.85 > 0.9
    sim2 = np.array([[0.5, 0.7, 0.2], [0.6, 0.65, 0.1]])
    assert greedy_match(sim2, 0.3) == [(0, 1), (1, 0)]
    assert greedy_match(np.zeros((0, 3)), 0.3) == []


def test_greedy_tie_goes_to_most_recent_track():
    sim = np.array([[0.6, 0.6]])
    assert greedy_match(sim, 0.3, tiebreak=np.array([3.0, 7.0])) == [(0, 1)]
    assert greedy_match(sim, 0.3, tiebreak=np.array([9.0, 7.0])) == [(0, 0)]


def test_one_euro_reduces_jitter_and_follows_steps():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=0.05, beta=0.0)
    noisy = 50 + rng.normal(0, 2, size=(60, 3, 2))
    out = np.stack([f(x) for x in noisy])
    assert out[10:].std() < 0.5 * noisy[10:].std()
    assert abs(out[10:].mean() - 50) < 1.0
    # a jump: with beta the cut-off rises with speed and the filter catches up; without it lags
    steps = [np.full((1, 2), 50.0)] * 5 + [np.full((1, 2), 100.0)] * 3
    fast, slow = OneEuroFilter(0.05, beta=1.0), OneEuroFilter(0.05, beta=0.0)
    last_fast = [fast(x) for x in steps][-1]
    last_slow = [slow(x) for x in steps][-1]
    assert np.abs(last_fast - 100).max() < 2.0 and np.abs(last_slow - 100).max() > 5.0


def test_merge_proposals_nms_and_one_to_one():
    from posetrack.tracker.boxes import merge_proposals

    det = np.array([[0, 0, 10, 20]], float)  # person A detected; B (behind A) missed
    prop = np.array([[0.5, 0, 10.5, 20], [2, 0, 12, 20], [50, 0, 60, 20]], float)  # A, B, C propagated
    scores = np.array([0.9, 0.8, 0.7])
    d, p = merge_proposals(det, [0.95], prop, scores, 0.5)
    assert d.tolist() == [0] and p.tolist() == [2]  # NMS: the detection removes A's and B's boxes
    d, p = merge_proposals(det, [0.95], prop, scores, 0.5, one_to_one=True)
    assert d.tolist() == [0] and p.tolist() == [1, 2]  # the detection stands in for A only
    d, p = merge_proposals(np.zeros((0, 4)), [], prop, scores, 0.5, one_to_one=True)
    assert p.tolist() == [0, 2]  # without detections: NMS among propagated boxes (A beats B)
