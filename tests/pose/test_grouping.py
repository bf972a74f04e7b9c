"""Associative-embedding grouping on planted heatmaps and tags (no network)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from posetrack.pose.bottomup_hungarian import munkres_assign
from posetrack.pose.final_maps import DenseMaps
from posetrack.pose.grouping import (
    COCO_JOINT_ORDER,
    GroupingParams,
    adjust,
    assign,
    group,
    heatmap_nms,
    match_by_tag,
    refine,
    refine_people,
    top_k,
    window_max,
)

K = 17


def render(people_xy: np.ndarray, tags: np.ndarray, vals: np.ndarray, h: int, w: int, sigma=1.5):
    """Heatmaps (max of Gaussians) and per-joint tag maps (tag of the nearest person's joint).

    people_xy: (P, K, 2) pixel coordinates, NaN for missing joints. Returns torch (K, H, W) and
    (K, H, W, 1).
    """
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    heat = np.zeros((K, h, w))
    tag = np.zeros((K, h, w, 1))
    best = np.full((K, h, w), np.inf)
    for p in range(len(people_xy)):
        for k in range(K):
            x, y = people_xy[p, k]
            if np.isnan(x):
                continue
            d2 = (xs - x) ** 2 + (ys - y) ** 2
            heat[k] = np.maximum(heat[k], vals[p, k] * np.exp(-d2 / (2 * sigma**2)))
            closer = d2 < best[k]
            best[k][closer] = d2[closer]
            tag[k][closer, 0] = tags[p]
    return torch.from_numpy(heat).float(), torch.from_numpy(tag).float()


def random_people(rng, n: int, h: int, w: int, missing: float = 0.0, spacing: float = 9.0):
    """n people whose same-type joints are at least `spacing` px apart (integer pixel centres)."""
    people = np.full((n, K, 2), np.nan)
    for k in range(K):
        taken: list[np.ndarray] = []
        for p in range(n):
            for _ in range(1000):
                pt = np.array([rng.integers(2, w - 2), rng.integers(2, h - 2)], float)
                if all(np.hypot(*(pt - q)) >= spacing for q in taken):
                    break
            taken.append(pt)
            people[p, k] = pt
    if missing:
        drop = rng.random((n, K)) < missing
        drop[:, 0] = drop[:, 0] & (rng.random(n) < 0.5)
        drop[np.arange(n), rng.integers(0, K, n)] = False  # nobody vanishes entirely
        people[drop] = np.nan
    return people


def check_people(found: np.ndarray, planted: np.ndarray, tol: float = 1.0) -> None:
    """Same number of people, each planted joint found within tol px, missing joints absent."""
    assert len(found) == len(planted)
    present = ~np.isnan(planted[:, :, 0])
    cost = np.zeros((len(found), len(planted)))
    for i, j in itertools.product(range(len(found)), range(len(planted))):
        d = np.hypot(*(found[i, :, :2] - np.nan_to_num(planted[j])).T)
        cost[i, j] = np.where(present[j], d, 0).sum() + 1e3 * ((found[i, :, 2] > 0) != present[j]).sum()
    rows, cols = linear_sum_assignment(cost)
    for i, j in zip(rows, cols):
        assert np.array_equal(found[i, :, 2] > 0, present[j])
        d = np.hypot(*(found[i, :, :2] - planted[j]).T)[present[j]]
        assert d.max() <= tol, d


@pytest.mark.parametrize("n,missing", [(1, 0.0), (2, 0.0), (5, 0.3), (12, 0.0), (20, 0.2)])
def test_planted_people_are_grouped_back(n, missing):
    rng = np.random.default_rng(n)
    h, w = 72, 96
    people = random_people(rng, n, h, w, missing)
    tags = np.arange(n) * 2.0 + 0.25
    vals = rng.uniform(0.5, 1.0, (n, K))
    heat, tag = render(people, tags, vals, h, w)
    found, scores = group(DenseMaps(heat, tag), GroupingParams())
    # Peaks at integer pixels: adjust moves them to pixel centre +- a quarter.
    check_people(found, people + 0.5, tol=0.36)
    # Person score = mean detection value over all 17 joints (0 for the missing ones).
    order = np.argsort(found[:, :, 3].max(axis=1))
    expected = np.where(np.isnan(people[:, :, 0]), 0, vals).mean(axis=1)
    np.testing.assert_allclose(scores[order], expected[np.argsort(tags)], atol=1e-5)


def test_more_people_than_top_k_keeps_k_per_joint():
    rng = np.random.default_rng(3)
    people = random_people(rng, 6, 64, 64)
    vals = np.linspace(0.9, 0.4, 6)[:, None].repeat(K, axis=1)
    heat, tag = render(people, np.arange(6) * 2.0, vals, 64, 64)
    found, _ = group(DenseMaps(heat, tag), GroupingParams(max_people=4))
    assert len(found) == 4
    assert (found[:, :, 2] > 0).all()
    np.testing.assert_allclose(np.sort(found[:, 0, 2]), np.sort(vals[:4, 0]), atol=1e-6)


def test_nms_keeps_window_maxima_only():
    hm = torch.zeros(1, 1, 12, 12)
    hm[0, 0, 5, 5] = 1.0
    hm[0, 0, 5, 7] = 0.8  # 2 px away: suppressed by a 5x5 window, kept by 3x3
    hm[0, 0, 5, 10] = 0.7  # 5 px away: kept
    kept5 = heatmap_nms(hm, 5)[0, 0]
    kept3 = heatmap_nms(hm, 3)[0, 0]
    assert set(zip(*np.nonzero(kept5.numpy()))) == {(5, 5), (5, 10)}
    assert set(zip(*np.nonzero(kept3.numpy()))) == {(5, 5), (5, 7), (5, 10)}


@pytest.mark.parametrize("kernel", [3, 5, 7])
def test_window_max_equals_max_pool(kernel):
    maps = torch.rand(2, 3, 17, 23)
    maps[0, 0, 4:8, 4:8] = 0.5  # plateaus and ties
    expected = torch.nn.functional.max_pool2d(maps, kernel, 1, kernel // 2)
    assert torch.equal(window_max(maps, kernel), expected)


def test_top_k_returns_locations_values_and_tags():
    heat = torch.zeros(K, 10, 20)
    tags = torch.zeros(K, 10, 20, 2)
    heat[3, 7, 15] = 0.9
    tags[3, 7, 15] = torch.tensor([4.0, 5.0])
    heat[3, 2, 4] = 0.4
    tag_k, loc_k, val_k = top_k(DenseMaps(heat, tags), 3, 5)
    assert loc_k.shape == (K, 3, 2) and tag_k.shape == (K, 3, 2)
    assert loc_k[3, 0].tolist() == [15, 7] and loc_k[3, 1].tolist() == [4, 2]
    np.testing.assert_allclose(val_k[3], [0.9, 0.4, 0.0], atol=1e-7)
    np.testing.assert_allclose(tag_k[3, 0], [4.0, 5.0])


@pytest.mark.parametrize("dense", [False, True])
def test_thresholded_top_k_keeps_every_candidate_above_threshold(dense):
    rng = np.random.default_rng(4)
    if dense:  # most pixels above the threshold: falls back to the full max filter
        heat = torch.rand(K, 80, 100)
    else:
        heat, _ = render(random_people(rng, 4, 80, 100), np.zeros(4), rng.uniform(0.05, 1, (4, K)), 80, 100)
    heat[2, 10, 10:12] = 1.5  # a plateau: both pixels survive NMS, as with max pooling
    assert (DenseMaps(heat, torch.zeros(K, 80, 100, 1)).peaks_above(0.1, 5) is None) == dense
    tags = torch.randn(K, 80, 100, 2)
    full = top_k(DenseMaps(heat, tags), 5, 5)
    fast = top_k(DenseMaps(heat, tags), 5, 5, threshold=0.1)
    above = full[2] > 0.1
    np.testing.assert_array_equal(fast[2] > 0.1, above)
    assert sorted(fast[1][2, :2].tolist()) == [[10, 10], [11, 10]]
    for a, b in zip(full, fast):
        np.testing.assert_array_equal(a[above], b[above])


def _candidates(per_joint: dict[int, list[tuple[float, float, float, float]]], k: int = 4):
    """tag_k, loc_k, val_k from {joint: [(x, y, val, tag), ...]}."""
    tag_k = np.zeros((K, k, 1), np.float32)
    loc_k = np.zeros((K, k, 2), np.int64)
    val_k = np.zeros((K, k), np.float32)
    for j, cands in per_joint.items():
        for i, (x, y, v, t) in enumerate(cands):
            loc_k[j, i] = (x, y)
            val_k[j, i] = v
            tag_k[j, i, 0] = t
    return tag_k, loc_k, val_k


def test_match_by_tag_joins_by_tag_and_starts_new_people():
    cands = {
        0: [(10, 10, 0.9, 0.0), (40, 10, 0.8, 3.0)],  # two noses seed two people
        5: [(41, 20, 0.7, 3.2), (11, 20, 0.6, -0.3), (70, 20, 0.5, 9.0)],  # third: a new person
        11: [(12, 30, 0.05, 0.0)],  # below the detection threshold
    }
    people = match_by_tag(*_candidates(cands), GroupingParams())
    assert people.shape == (3, K, 4)
    assert people[0, 0, :3].tolist() == pytest.approx([10, 10, 0.9])
    assert people[0, 5, :3].tolist() == pytest.approx([11, 20, 0.6])
    assert people[1, 5, :3].tolist() == pytest.approx([41, 20, 0.7])
    assert people[2, 5, :3].tolist() == pytest.approx([70, 20, 0.5])
    assert (people[:, 11] == 0).all()
    assert people[2, 0, 2] == 0


def test_match_uses_rounded_distance_then_detection_value():
    # Tag distances 0.3 and 0.45 both round to 0: the higher-valued candidate wins the person,
    # the other (distance < threshold, but its person is taken) starts a new person.
    cands = {0: [(10, 10, 0.9, 1.0)], 1: [(11, 9, 0.5, 1.3), (12, 9, 0.8, 1.45)]}
    people = match_by_tag(*_candidates(cands), GroupingParams())
    assert len(people) == 2
    assert people[0, 1, :3].tolist() == pytest.approx([12, 9, 0.8])
    assert people[1, 1, :3].tolist() == pytest.approx([11, 9, 0.5])


def test_new_candidate_with_an_existing_key_joins_that_person():
    # The official parser keys people by their first tag value: an unmatched candidate with the
    # same value lands in (and resets the tags of) that person.
    cands = {0: [(10, 10, 0.9, 5.0), (30, 10, 0.9, 5.0)]}
    people = match_by_tag(*_candidates(cands), GroupingParams())
    assert len(people) == 1
    assert people[0, 0, :2].tolist() == [30, 10]


def test_joint_order_is_the_official_one():
    assert COCO_JOINT_ORDER == (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16)
    # A person seeded by a hip (index 11) before the elbows (7) are visited: only hips seed.
    cands = {7: [(5, 5, 0.9, 7.0)], 11: [(6, 6, 0.9, 0.0)]}
    people = match_by_tag(*_candidates(cands), GroupingParams())
    assert [p[:, 3].max() for p in people] == [0.0, 7.0]


def test_adjust_moves_a_quarter_towards_the_higher_neighbour():
    heat = torch.zeros(K, 8, 8)
    heat[0, 4, 4] = 1.0
    heat[0, 4, 5] = 0.5  # right > left
    heat[0, 3, 4] = 0.5  # up > down
    people = np.zeros((1, K, 4), np.float32)
    people[0, 0, :3] = (4, 4, 1.0)
    out = adjust(people, DenseMaps(heat, torch.zeros(K, 8, 8, 1)))
    assert out[0, 0, :2].tolist() == [4.75, 4.25]
    assert (out[0, 1:] == 0).all()


def test_refine_fills_a_joint_below_the_detection_threshold():
    h, w = 40, 40
    xy = np.full((2, K, 2), np.nan)
    xy[0, :4] = [(8, 8), (10, 8), (12, 8), (14, 8)]
    xy[1, :4] = [(28, 28), (30, 28), (32, 28), (34, 28)]
    xy[0, 4] = (20, 8)
    xy[1, 4] = (20, 30)
    vals = np.full((2, K), 0.9)
    vals[:, 4] = 0.05  # too weak to be detected, but refine looks for it by tag
    heat, tag = render(xy, np.array([0.0, 5.0]), vals, h, w)
    without, _ = group(DenseMaps(heat, tag), GroupingParams())
    assert (without[:, 4, 2] == 0).all()
    found, _ = group(DenseMaps(heat, tag), GroupingParams(refine=True))
    by_tag = found[np.argsort(found[:, 0, 3])]
    assert by_tag[0, 4, :2].tolist() == pytest.approx([20.25, 8.25], abs=0.3)
    assert by_tag[1, 4, :2].tolist() == pytest.approx([20.25, 30.25], abs=0.3)
    assert by_tag[:, 4, 2] == pytest.approx([0.05, 0.05], abs=1e-6)
    one = refine(without[0], heat, tag)
    assert one[4, 2] > 0


# (rounded tag distances, detection values, pairs returned by the munkres 1.1.4 package on the
# official padded matrix). scipy picks another optimum of the same cost on each of these.
TIED = [
    ([[0, 0], [0, 0], [0, 1], [1, 0]], [0.8, 0.8, 0.8, 0.8], [(0, 2), (1, 1), (2, 0), (3, 3)]),
    ([[0, 2, 2], [2, 0, 0], [1, 1, 1], [2, 0, 1], [0, 0, 2]], [0.5] * 5,
     [(0, 4), (1, 2), (2, 3), (3, 1), (4, 0)]),
    ([[1, 0, 2, 2], [0, 0, 0, 0], [2, 1, 1, 0], [1, 2, 0, 2], [0, 0, 2, 2]],
     [0.5, 0.9, 0.9, 0.5, 0.5], [(0, 4), (1, 0), (2, 3), (3, 2), (4, 1)]),
    ([[0, 1], [0, 2], [2, 1]], [0.5, 0.9, 0.5], [(0, 2), (1, 0), (2, 1)]),
    ([[0, 2, 2], [0, 2, 1], [0, 2, 2], [0, 0, 0], [2, 2, 2]], [0.9, 0.5, 0.5, 0.9, 0.5],
     [(0, 0), (1, 2), (2, 4), (3, 1), (4, 3)]),
    ([[2, 2, 2, 0], [0, 2, 2, 2], [0, 0, 2, 2]], [0.3] * 3, [(0, 3), (1, 0), (2, 1)]),
    ([[0, 0], [0, 0]], [0.9, 0.9], [(0, 0), (1, 1)]),
]  # fmt: skip


def _official_matrix(d, v):
    d = np.asarray(d, float)
    c = d * 100 - np.asarray(v)[:, None]
    if c.shape[0] > c.shape[1]:
        c = np.concatenate((c, np.full((c.shape[0], c.shape[0] - c.shape[1]), 1e10)), axis=1)
    return c


@pytest.mark.parametrize("d,v,expected", TIED)
def test_assignment_matches_munkres_package_on_ties(d, v, expected):
    c = _official_matrix(d, v)
    assert assign(c) == expected
    ours = sum(c[i, j] for i, j in assign(c, "scipy"))
    assert ours == pytest.approx(sum(c[i, j] for i, j in expected))


def test_munkres_assign_is_optimal_on_random_matrices():
    rng = np.random.default_rng(0)
    for _ in range(300):
        na, ng = rng.integers(1, 9, 2)
        c = _official_matrix(rng.integers(0, 4, (na, ng)), rng.choice([0.2, 0.5, 0.9], na))
        pairs = munkres_assign(c)
        assert [i for i, _ in pairs] == list(range(na))
        assert len({j for _, j in pairs}) == na
        r, k = linear_sum_assignment(c)
        assert sum(c[i, j] for i, j in pairs) == pytest.approx(c[r, k].sum())


def _crowd_maps(n: int, seed: int, h: int = 128, w: int = 128, spacing: float = 6.0):
    """Planted maps with n people, some joints weak (below the detection threshold) so that refine
    has missing joints to look for, and tags a little noisy (people close in tag space)."""
    rng = np.random.default_rng(seed)
    people = random_people(rng, n, h, w, missing=0.15, spacing=spacing)
    vals = rng.uniform(0.3, 1.0, (n, K))
    vals[rng.random((n, K)) < 0.2] = 0.06  # too weak to be detected: refine's work
    heat, tag = render(people, np.arange(n) * 1.5 + 0.3, vals, h, w)
    tag = torch.cat((tag, tag + torch.randn(tag.shape, generator=torch.Generator().manual_seed(seed)) * 0.2), 3)
    return heat, tag


@pytest.mark.parametrize("n", [2, 10, 30])
@pytest.mark.parametrize("seed", [0, 1])
def test_batched_refine_equals_per_person_refine_on_planted_crowds(n, seed):
    heat, tag = _crowd_maps(n, seed)
    params = GroupingParams(refine=True)
    fast, fast_scores = group(DenseMaps(heat, tag), params)
    ref, ref_scores = group(DenseMaps(heat, tag), params, per_person_refine=True)
    assert len(ref) > 0
    unrefined, _ = group(DenseMaps(heat, tag), GroupingParams(refine=False))
    assert (unrefined[:, :, 2] == 0).sum() > 0  # refine had joints to look for
    assert not np.array_equal(unrefined, ref[:, :, : unrefined.shape[2]])
    np.testing.assert_array_equal(fast, ref)  # same people, same keypoints, bit for bit
    np.testing.assert_array_equal(fast_scores, ref_scores)


def test_refine_people_handles_dense_maps_and_people_without_hints():
    # Noise everywhere (every pixel a candidate: the dense path) and no top-k hints.
    g = torch.Generator().manual_seed(5)
    heat = torch.rand(K, 24, 32, generator=g) * 0.5
    tag = torch.randn(K, 24, 32, 2, generator=g) * 3
    people = np.zeros((3, K, 5), np.float32)
    people[:, :5, :2] = np.array([[3, 4], [10, 20], [30, 2]], np.float32)[:, None] + 0.25
    people[:, :5, 2] = 0.5
    people[1, :, 2] = 0  # nobody found: left as is
    ref = np.stack([refine(p, heat, tag) for p in people])
    np.testing.assert_array_equal(refine_people(people, DenseMaps(heat, tag)), ref)
    assert (ref[0, 5:, 2] > 0).all()
