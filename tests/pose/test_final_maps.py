"""Final bottom-up maps computed tile by tile equal the full upsampling, and group identically."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posetrack.pose.final_maps import DenseMaps, TiledMaps, tiled_maps_apply
from posetrack.pose.grouping import (
    GroupingParams,
    _ranked_top_k,
    adjust,
    group,
    match_by_tag,
    refine_people,
    top_k,
)

from .test_grouping import K, random_people, render


def dense_reference(heat: torch.Tensor, tags: torch.Tensor) -> DenseMaps:
    """The estimator's dense path: upsample every branch x2, average heatmaps, stack tags."""
    size = (2 * heat.shape[2], 2 * heat.shape[3])
    up = F.interpolate(heat, size=size, mode="bilinear", align_corners=False)
    up = (up[0] + up[1]) / 2.0 if len(heat) == 2 else up[0]
    tag_up = F.interpolate(tags, size=size, mode="bilinear", align_corners=False)
    return DenseMaps(up, tag_up.permute(1, 2, 3, 0))


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def torch_threads(request):
    """PyTorch's CPU upsampling picks its kernel partly by thread count: check both."""
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


@pytest.mark.parametrize("h,w", [(24, 41), (40, 56), (60, 44), (64, 64), (97, 130)])
@pytest.mark.parametrize("branches", [1, 2])
def test_tiled_maps_equal_the_full_upsampling_bit_for_bit(h, w, branches, torch_threads):
    assert tiled_maps_apply(torch.zeros(branches, 5, h, w), 8)
    g = torch.Generator().manual_seed(h * w + branches)
    scale = 10.0 ** torch.randint(-3, 3, (branches, 5, 1, 1), generator=g)
    heat = torch.randn(branches, 5, h, w, generator=g) * scale
    tags = torch.randn(branches, 5, h, w, generator=g) * 4
    ref = dense_reference(heat, tags)
    tiled = TiledMaps(heat, tags)
    # Scattered reads first (tiles computed a few at a time), then everything.
    jj = torch.randint(0, 5, (300,), generator=g)
    yy = torch.randint(0, 2 * h, (300,), generator=g)
    xx = torch.randint(0, 2 * w, (300,), generator=g)
    assert torch.equal(tiled.heat_at(jj, yy, xx), ref.heat_at(jj, yy, xx))
    assert torch.equal(tiled.tags_at(jj, yy, xx), ref.tags_at(jj, yy, xx))
    heat_t, tags_t = tiled.dense()
    assert torch.equal(heat_t, ref.heatmaps) and torch.equal(tags_t, ref.tags)


def test_small_or_three_channel_maps_are_left_to_the_dense_path():
    # Their full upsampling takes PyTorch's other (channels-last) CPU kernel.
    assert not tiled_maps_apply(torch.zeros(2, 17, 24, 24), 8)  # output 48 + 48 <= 128
    assert not tiled_maps_apply(torch.zeros(2, 3, 64, 64), 8)
    assert not tiled_maps_apply(torch.zeros(2, 17, 16, 200), 8)  # fewer than 3 tiles a side


def half_resolution_crowd(n: int, seed: int, h: int = 64, w: int = 80, branches: int = 2):
    """Flip-branch half-resolution maps with n people, some joints weak (refine's work) and the
    second branch a slightly different view of the first (as a real flip test gives)."""
    rng = np.random.default_rng(seed)
    people = random_people(rng, n, h, w, missing=0.1, spacing=4.0)
    vals = rng.uniform(0.3, 1.0, (n, K))
    vals[rng.random((n, K)) < 0.15] = 0.07
    heat, tag = render(people, np.arange(n) * 1.5 + 0.5, vals, h, w, sigma=1.0)
    g = torch.Generator().manual_seed(seed)
    heat_b = torch.stack([heat + torch.rand(heat.shape, generator=g) * 0.01 for _ in range(branches)])
    tag_b = torch.stack([tag[..., 0] + torch.randn(heat.shape, generator=g) * 0.1 for _ in range(branches)])
    return heat_b, tag_b


@pytest.mark.parametrize("n", [2, 12, 30])
@pytest.mark.parametrize("branches", [1, 2])
@pytest.mark.parametrize("refine,kernel", [(True, 5), (False, 5), (True, 3), (True, 7)])
def test_grouping_on_tiled_maps_equals_grouping_on_dense_maps(n, branches, refine, kernel, torch_threads):
    heat, tags = half_resolution_crowd(n, n + branches, branches=branches)
    params = GroupingParams(refine=refine, nms_kernel=kernel)
    expected = group(dense_reference(heat, tags), params)
    got = group(TiledMaps(heat, tags), params)
    assert len(expected[0]) >= min(n, 2)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    if refine and kernel == 5:  # and the official per-person refine on the dense maps
        reference = group(dense_reference(heat, tags), params, per_person_refine=True)
        np.testing.assert_array_equal(got[0], reference[0])


def test_top_k_on_tiled_maps_returns_the_dense_candidates_and_tags():
    heat, tags = half_resolution_crowd(12, 3, h=61, w=75)
    dense, tiled = dense_reference(heat, tags), TiledMaps(heat, tags)
    # Some tiles computed by an earlier read (edge tiles included): top_k reads those back.
    tiled.heat_at(torch.arange(17), torch.arange(17) * 7, torch.arange(17) * 8 + 10)
    a = top_k(dense, 30, 5, threshold=0.1)
    b = top_k(tiled, 30, 5, threshold=0.1)
    above = a[2] > 0.1
    assert above.sum() > 12
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x[above], y[above])


def test_ranked_top_k_orders_ties_as_torch_topk():
    # Equal values across peaks and a plateau: which equal value comes first is torch's.
    g = torch.Generator().manual_seed(0)
    num_joints, h, w, k = 4, 40, 50, 30
    det = torch.zeros(num_joints, h * w)
    for j in range(num_joints):
        flat = torch.randperm(h * w, generator=g)[:60]
        det[j, flat] = torch.tensor([0.5, 0.7, 0.9])[torch.randint(0, 3, (60,), generator=g)]
    det[0, :5] = 0.9  # peaks inside the first k elements too
    jj, flat = torch.nonzero(det, as_tuple=True)
    peaks = (jj, torch.div(flat, w, rounding_mode="floor"), flat % w, det[jj, flat])
    val_k, ind = _ranked_top_k(num_joints, k, peaks, w)
    expected_val, expected_ind = det.topk(k, dim=1)
    assert torch.equal(val_k, expected_val) and torch.equal(ind, expected_ind)


def test_no_pixel_above_the_threshold_gives_no_peaks():
    heat = torch.zeros(2, K, 32, 32)
    tiled = TiledMaps(heat, torch.zeros(2, K, 32, 32))
    jj, yy, xx, vals = tiled.peaks_above(0.1, 5)
    assert len(jj) == len(vals) == 0
    people, scores = group(tiled, GroupingParams(refine=True))
    assert people.shape[0] == 0 and scores.shape == (0,)


def coarse_tag_branches(coarse: torch.Tensor) -> torch.Tensor:
    """Half-resolution tags as the estimator makes them from coarse (B, K, h, w) tags flipped
    back at the coarse resolution: branch 0 upsampled, branch 1 upsampled in the mirror's frame
    and then flipped back (equal to upsampling the flipped-back maps up to rounding)."""
    size = (2 * coarse.shape[2], 2 * coarse.shape[3])
    up = F.interpolate(coarse[:1], size=size, mode="bilinear", align_corners=False)
    if len(coarse) == 1:
        return up
    mirrored = F.interpolate(torch.flip(coarse[1:], [3]), size=size, mode="bilinear", align_corners=False)
    return torch.cat((up, torch.flip(mirrored, [3])))


@pytest.mark.parametrize("h,w", [(32, 40), (30, 44), (48, 48)])
def test_tag_bounds_from_coarse_tags_hold_on_every_tile(h, w):
    g = torch.Generator().manual_seed(h + w)
    coarse = torch.randn(2, 5, h // 2, w // 2, generator=g) * 3
    tags = coarse_tag_branches(coarse)
    tiled = TiledMaps(torch.rand(2, 5, h, w, generator=g), tags, coarse_tags=coarse)
    lo, hi = tiled._tag_bounds(torch.arange(5))  # (K, B, ty, tx)
    final = dense_reference(torch.rand(2, 5, h, w, generator=g), tags).tags  # (K, H, W, B)
    t = 16
    for ty in range(lo.shape[2]):
        for tx in range(lo.shape[3]):
            block = final[:, ty * t : (ty + 1) * t, tx * t : (tx + 1) * t].flatten(1, 2)  # (K, n, B)
            assert torch.all(lo[:, :, ty, tx] <= block.amin(dim=1)) and torch.all(hi[:, :, ty, tx] >= block.amax(dim=1))
    # No looser than the coarse crop of the tile (4 pixels and a margin) allows.
    assert torch.isclose(hi[0, 0, 1, 1], coarse[0, 0, 3:9, 3:9].max(), rtol=2e-5, atol=0)


@pytest.mark.parametrize("n", [12, 30])
def test_grouping_with_bounds_from_coarse_tags_equals_dense(n):
    heat, _ = half_resolution_crowd(n, n, h=64, w=80)
    rng = np.random.default_rng(n)
    people = random_people(rng, n, 32, 40, missing=0.1, spacing=2.0)
    _, tag = render(people, np.arange(n) * 1.5 + 0.5, rng.uniform(0.3, 1.0, (n, K)), 32, 40, sigma=0.7)
    coarse = torch.stack([tag[..., 0], tag[..., 0] + 0.05]).float()
    tags = coarse_tag_branches(coarse)
    params = GroupingParams(refine=True)
    expected = group(dense_reference(heat, tags), params)
    got = group(TiledMaps(heat, tags, coarse_tags=coarse), params)
    assert len(expected[0]) >= 2
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_refine_on_maps_whose_last_tiles_reach_past_the_border():
    heat, tags = half_resolution_crowd(20, 7, h=61, w=75)  # 122 x 150 final: not whole tiles
    params = GroupingParams(refine=True)
    expected = group(dense_reference(heat, tags), params, per_person_refine=True)
    got = group(TiledMaps(heat, tags), params)
    assert (expected[0][:, :, 2] > 0).sum() > (expected[0][:, :, 2] > params.detection_threshold).sum()  # refine filled joints
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_refine_hints_only_prune():
    heat, tags = half_resolution_crowd(12, 5)
    params = GroupingParams(refine=True)
    tiled = TiledMaps(heat, tags)
    tag_k, loc_k, val_k = top_k(tiled, 30, 5, threshold=0.1)
    people = adjust(match_by_tag(tag_k, loc_k, val_k, params), tiled)
    no_hints = refine_people(people, TiledMaps(heat, tags), np.full_like(loc_k, -1))
    assert (no_hints[:, :, 2] > 0).sum() > (people[:, :, 2] > 0).sum()
    np.testing.assert_array_equal(refine_people(people, tiled, np.where((val_k > 0.1)[..., None], loc_k, -1)), no_hints)
    np.testing.assert_array_equal(refine_people(people, TiledMaps(heat, tags)), no_hints)


@pytest.mark.parametrize("h,w", [(24, 41), (64, 64), (61, 75)])
def test_heat_bound_holds_on_every_tile(h, w):
    g = torch.Generator().manual_seed(h * w)
    heat = torch.randn(2, 5, h, w, generator=g) + torch.linspace(-3, 3, w)  # signs mixed, slopes
    ref = dense_reference(heat, torch.zeros_like(heat)).heatmaps  # (K, 2h, 2w)
    ub = TiledMaps(heat, torch.zeros_like(heat)).heat_upper_bound()  # (K, ty, tx)
    padded = F.pad(ref, (0, ub.shape[2] * 16 - 2 * w, 0, ub.shape[1] * 16 - 2 * h), value=float("-inf"))
    tile_max = padded.unflatten(2, (ub.shape[2], 16)).unflatten(1, (ub.shape[1], 16)).amax(dim=(2, 4))
    assert torch.all(ub >= tile_max)
