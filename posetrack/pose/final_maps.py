"""The final maps of a bottom-up network (heatmaps and tags at the scale-1 input size), as grouping reads them.

Grouping reads these maps at few places: the pixels above the detection threshold and their
neighbours, the tags at the chosen peaks, and for 'refine' the pixels that can still win. On a
CPU, upsampling the whole half-resolution maps to full resolution costs more than all of
grouping, so there are two implementations of one small interface:

* :class:`DenseMaps` holds the full tensors (GPU, multi-scale test, small maps; the reference).
* :class:`TiledMaps` keeps the flipped-back half-resolution maps of each flip branch and computes
  the final maps exactly, tile by tile, the first time a query needs a tile, skipping tiles whose
  upper bound rules them out.

Exactness of the tiles: an output pixel of bilinear x2 upsampling (align_corners=False) depends
only on the 2x2 input pixels around it, so a crop with a one-pixel margin upsampled on its own
gives the full map's values everywhere but on its outer output ring (where the crop's border
clamps). PyTorch's CPU kernel computes those values with the same arithmetic only on the same
code path: outputs with H + W <= 128 take another (vectorised channels-last) path whose results
differ in the last bit, and so do channels-last inputs. Crops are therefore laid out side by side
on canvases at least 65 input pixels high + wide (the seams fall on the discarded rings), and a
tile on the map's border is placed on the canvas's border so that it clamps as the full map does.
The test suite checks tiled == dense bit for bit on random maps of many sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

_NEG_INF = float("-inf")
# A canvas needs H + W > 128 at the output (= 2x input) to take the generic kernel the full map takes.
_MIN_CANVAS_HALF_PERIMETER = 65
# Relative slack on bounds of upsampled values: a bilinear output is a convex sum of its inputs
# with exact (dyadic) weights, so it exceeds their maximum by float rounding only.
_SLACK = 1e-5


class FinalMaps(Protocol):
    """What grouping needs of one image's final maps: (K, H, W) heatmaps, (K, H, W, L) tags."""

    num_joints: int
    height: int
    width: int
    tag_dim: int
    device: torch.device

    def dense(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The full (heatmaps (K, H, W), tags (K, H, W, L))."""

    def peaks_above(
        self, threshold: float, kernel: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """(joint, y, x, value) of every pixel above threshold that is the maximum of its
        kernel x kernel window (-inf outside the map), sorted by (joint, y, x); None when so
        many pixels pass that a dense max filter is cheaper."""

    def heat_at(self, jj: torch.Tensor, yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        """Heatmap values at (joint, y, x) pixels."""

    def tags_at(self, jj: torch.Tensor, yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        """(n, L) tags at (joint, y, x) pixels."""

    def refine_argmax(self, joints: torch.Tensor, mean_tags: torch.Tensor, floors: torch.Tensor) -> torch.Tensor:
        """(R,) flat pixel index (y * W + x) of the maximum of :func:`refine_scores` of joint
        joints[r] for mean tag mean_tags[r] (R, L), the first in flat order on ties, as a dense
        argmax finds it. ``floors`` (R,) are scores some pixel is known to reach (they prune)."""


def refine_scores(heat: torch.Tensor, tags: torch.Tensor, mean_tags: torch.Tensor) -> torch.Tensor:
    """The official refine score heat - round(|tag - mean tag|), broadcasting.

    tags and mean_tags have the tag dimension L first (tags[l] broadcasts with mean_tags[l] and
    heat). The squared distance is summed over L in order, as a sum over the official (..., L)
    last axis is (bit for bit), on contiguous planes.
    """
    dist2 = (tags[0] - mean_tags[0]) ** 2
    for c in range(1, len(tags)):
        dist2 = dist2 + (tags[c] - mean_tags[c]) ** 2
    return heat - torch.round(dist2.sqrt())


def first_argmax(scores: torch.Tensor, pix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row of scores (M, n): the maximum and, among the pixels reaching it, the lowest of pix
    (broadcastable to scores)."""
    best = scores.amax(dim=1)
    big = torch.iinfo(torch.int64).max
    return best, torch.where(scores == best[:, None], pix, big).amin(dim=1)


def window_max(maps: torch.Tensor, kernel: int) -> torch.Tensor:
    """kernel x kernel max filter over the last two axes, stride 1, -inf beyond the borders:
    F.max_pool2d's result.

    On the CPU max_pool2d is slow (more so for many small maps); the same maxima come from
    shifted element-wise maxima along x then y of the -inf padded maps (max is exact, so the
    result is bit-identical).
    """
    if maps.device.type != "cpu":
        return F.max_pool2d(maps, kernel, 1, kernel // 2)
    r = kernel // 2
    padded = F.pad(maps, (r, r, r, r), value=_NEG_INF)
    h, w = padded.shape[-2:]
    rows = padded[..., : w - 2 * r]
    for d in range(1, kernel):
        rows = torch.maximum(rows, padded[..., d : w - 2 * r + d])
    out = rows[..., : h - 2 * r, :]
    for d in range(1, kernel):
        out = torch.maximum(out, rows[..., d : h - 2 * r + d, :])
    return out


def window_peaks(
    lookup: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    jj: torch.Tensor, yy: torch.Tensor, xx: torch.Tensor, vals: torch.Tensor, kernel: int
) -> torch.Tensor:
    """Mask of the candidates that no pixel of their kernel x kernel window exceeds.

    ``lookup(jj, yy, xx)`` gives heatmap values, -inf outside the map (or any value below every
    candidate); ties survive, as with max-pool NMS.
    """
    d = torch.arange(-(kernel // 2), kernel // 2 + 1, device=vals.device)
    shape = (len(vals), kernel, kernel)
    window = lookup(
        jj[:, None, None].expand(shape), (yy[:, None, None] + d[None, :, None]).expand(shape), (xx[:, None, None] + d[None, None, :]).expand(shape)
    )
    return window.flatten(1).amax(dim=1) <= vals


class DenseMaps:
    """Final maps held in full: (K, H, W) heatmaps, (K, H, W, L) tags (any strides)."""

    def __init__(self, heatmaps: torch.Tensor, tags: torch.Tensor) -> None:
        self.heatmaps = heatmaps.float()
        self.tags = tags.float()
        self.num_joints, self.height, self.width = (int(s) for s in heatmaps.shape)
        self.tag_dim = int(tags.shape[3])
        self.device = heatmaps.device

    def dense(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heatmaps, self.tags

    def peaks_above(self, threshold: float, kernel: int):
        jj, yy, xx = torch.nonzero(self.heatmaps > threshold, as_tuple=True)
        if len(jj) > self.heatmaps.numel() // 16:
            return None
        vals = self.heatmaps[jj, yy, xx]
        keep = window_peaks(self._heat_or_neg_inf, jj, yy, xx, vals, kernel)
        return jj[keep], yy[keep], xx[keep], vals[keep]

    def _heat_or_neg_inf(self, jj, yy, xx):
        inside = (yy >= 0) & (yy < self.height) & (xx >= 0) & (xx < self.width)
        v = self.heatmaps[jj, yy.clamp(0, self.height - 1), xx.clamp(0, self.width - 1)]
        return torch.where(inside, v, _NEG_INF)

    def heat_at(self, jj, yy, xx):
        return self.heatmaps[jj, yy, xx]

    def tags_at(self, jj, yy, xx):
        return self.tags[jj, yy, xx]

    def refine_argmax(self, joints, mean_tags, floors):
        best = torch.empty(len(joints), dtype=torch.int64, device=self.device)
        for joint in torch.unique(joints).tolist():
            rows = torch.nonzero(joints == joint).squeeze(1)
            best[rows] = self._refine_argmax_of(joint, mean_tags[rows], floors[rows])
        return best

    def _refine_argmax_of(self, joint: int, mean_tags: torch.Tensor, floors: torch.Tensor) -> torch.Tensor:
        heat = self.heatmaps[joint].reshape(-1)
        # The score is at most the heatmap value: only pixels at or above a row's floor can win.
        pix = torch.nonzero(heat >= floors.min()).squeeze(1)
        if len(pix) > heat.shape[0] // 4:  # most of the map: every pixel, a few rows at a time
            pix = torch.arange(heat.shape[0], device=heat.device)
        tags = self.tags[joint].reshape(heat.shape[0], -1)[pix].T
        heat = heat[pix]
        chunk = max(1, (1 << 22) // max(len(pix), 1))
        return torch.cat([
            first_argmax(refine_scores(heat[None], tags[:, None], mean_tags[i : i + chunk].T[:, :, None]), pix[None])[1]
            for i in range(0, len(mean_tags), chunk)
        ])  # fmt: skip


@dataclass(frozen=True)
class _Axis:
    """Tiles of ``tile`` half-resolution pixels along one axis of ``size`` pixels."""

    size: int
    tile: int

    @property
    def count(self) -> int:
        return -(-self.size // self.tile)

    def core(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start = t * self.tile
        return start, np.minimum(start + self.tile, self.size) - start

    def crop(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crop start and length: the core plus a one-pixel margin where the map goes on."""
        start, length = self.core(t)
        lo = np.maximum(start - 1, 0)
        return lo, np.minimum(start + length + 1, self.size) - lo

    def side(self, t: np.ndarray) -> np.ndarray:
        """0 first tile (no margin before), 1 inside, 2 last tile (no margin after)."""
        return np.where(t == 0, 0, np.where(t == self.count - 1, 2, 1))

    def block_max(self, x: torch.Tensor, dim: int, lowest: bool = False, margin: bool = True) -> torch.Tensor:
        """Max (min with ``lowest``) of x over each tile's crop along ``dim`` (size -> count):
        the tile's own pixels and the pixel either side of it (only its own without ``margin``)."""
        n, t = self.count, self.tile
        pick = torch.minimum if lowest else torch.maximum
        if n * t != self.size:
            edge = x.narrow(dim, self.size - 1, 1)  # repeating the last pixel changes no extreme
            x = torch.cat((x, edge.expand(*x.shape[:dim], n * t - self.size, *x.shape[dim + 1 :])), dim=dim)
        blocks = x.unflatten(dim, (n, t))
        out = blocks.amin(dim + 1) if lowest else blocks.amax(dim + 1)
        if not margin:
            return out
        last, first = blocks.select(dim + 1, t - 1), blocks.select(dim + 1, 0)
        ahead = out.narrow(dim, 1, n - 1)
        ahead.copy_(pick(ahead, last.narrow(dim, 0, n - 1)))
        behind = out.narrow(dim, 0, n - 1)
        behind.copy_(pick(behind, first.narrow(dim, 1, n - 1)))
        return out


def tiled_maps_apply(heat: torch.Tensor, tile: int) -> bool:
    """Whether TiledMaps reproduces the full upsampling of these (B, K, h, w) maps: on a CPU, at
    least 3 tiles a side, and the full map on the generic kernel (output H + W > 128, and not 3
    channels, which one thread sends to the channels-last kernel)."""
    h, w = heat.shape[-2:]
    return heat.device.type == "cpu" and min(h, w) >= 3 * tile and h + w >= _MIN_CANVAS_HALF_PERIMETER and heat.shape[1] != 3


class TiledMaps:
    """Final maps = bilinear x2 of half-resolution branch maps, computed exactly tile by tile.

    heat, tags: (B, K, h, w) flipped-back half-resolution maps of each flip branch (B = 2 with
    flip test, else 1). The final heatmap is the mean of the upsampled branches, (a + b) / 2.0 as
    the dense path computes it; the final tags stack the upsampled branches on a last axis.
    Tiles are ``tile`` half-resolution (2 x tile final) pixels a side; the buffers hold the
    final maps tile by tile (tile-major: a tile is one contiguous block).

    coarse_tags: optionally the (B, K, h/2, w/2) maps whose bilinear x2 the tags are (flipped
    back at that resolution), for cheaper bounds: a tile's half-resolution crop depends only
    on the coarse crop of the same tile index with tile / 2 pixels and a one-pixel margin.
    """

    REFINE_TILES_PER_ROUND = 16  # tiles each row scores per round of refine's branch and bound

    def __init__(
        self, heat: torch.Tensor, tags: torch.Tensor, tile: int = 8, coarse_tags: torch.Tensor | None = None
    ) -> None:
        self.branches, self.num_joints, h, w = (int(s) for s in heat.shape)
        self.tag_dim = self.branches
        self.height, self.width = 2 * h, 2 * w
        self.device = heat.device
        self._src = {"heat": heat.float().contiguous(), "tags": tags.float().contiguous()}
        self._ay, self._ax = _Axis(h, tile), _Axis(w, tile)
        self._t = 2 * tile  # final pixels a tile side
        ny, nx, t = self._ay.count, self._ax.count, self._t
        grid = (self.num_joints, ny, nx)
        self._done = {"heat": torch.zeros(grid, dtype=torch.bool), "tags": torch.zeros(grid, dtype=torch.bool)}
        self._heat = torch.empty((self.num_joints, ny, nx, t, t))
        self._tags = torch.empty((self.branches, self.num_joints, ny, nx, t, t))
        self._heat_ub: torch.Tensor | None = None
        self._tag_lo: torch.Tensor | None = None  # (K, B, ty, tx), for the joints marked bounded
        self._tag_hi: torch.Tensor | None = None
        self._tag_bounded = torch.zeros(self.num_joints, dtype=torch.bool)
        self._points: TiledMaps | None = None  # 1-pixel tiles for tags read at single pixels
        # Where tag bounds come from: the coarse maps when they upsample x2 to these, else these.
        self._bound_src, self._bound_axes = self._src["tags"], (self._ay, self._ax)
        if coarse_tags is not None and tile % 2 == 0 and tuple(2 * n for n in coarse_tags.shape[2:]) == (h, w):
            self._bound_src = coarse_tags.float()
            self._bound_axes = (_Axis(h // 2, tile // 2), _Axis(w // 2, tile // 2))

    # ---- the FinalMaps interface -------------------------------------------------------------

    def dense(self) -> tuple[torch.Tensor, torch.Tensor]:
        self._ensure(("heat", "tags"), torch.nonzero(~(self._done["heat"] & self._done["tags"])))
        ny, nx, t = self._ay.count, self._ax.count, self._t
        heat = self._heat.permute(0, 1, 3, 2, 4).reshape(self.num_joints, ny * t, nx * t)
        tags = self._tags.permute(0, 1, 2, 4, 3, 5).reshape(self.branches, self.num_joints, ny * t, nx * t)
        return heat[:, : self.height, : self.width], tags[:, :, : self.height, : self.width].permute(1, 2, 3, 0)

    def peaks_above(self, threshold: float, kernel: int):
        """Only tiles whose bound exceeds the threshold are computed (no other pixel passes).
        Each is searched for maxima of its window clipped to the tile (as computed, no read
        back); a pixel that fails that is no peak, and those that pass near a tile edge are then
        tested on their whole window in the buffer."""
        r = kernel // 2
        tiles = torch.nonzero(self.heat_upper_bound() > threshold)
        if len(tiles) * 4 > self._done["heat"].numel():
            return None
        t = self._t
        done = self._done["heat"][tiles[:, 0], tiles[:, 1], tiles[:, 2]]
        groups = self._ensure(("heat",), tiles)
        if bool(done.any()):  # computed by an earlier query: read back, -inf outside the map
            old = tiles[done]
            span = torch.arange(t)
            outside = ((old[:, 1:2] * t + span)[:, :, None] >= self.height) | (
                (old[:, 2:3] * t + span)[:, None, :] >= self.width
            )
            groups.append((old, self._heat[old[:, 0], old[:, 1], old[:, 2]].masked_fill(outside, _NEG_INF)))
        found = []
        for group_tiles, vals in groups:
            kh, kw = vals.shape[1], vals.shape[2]
            window = window_max(vals, kernel)  # the window clipped to the tile
            i, ly, lx = torch.nonzero((vals > threshold) & (vals >= window), as_tuple=True)
            found.append((group_tiles[i, 0], group_tiles[i, 1] * t + ly, group_tiles[i, 2] * t + lx, vals[i, ly, lx]))
            # Steps to the nearest pixel across the tile edge, for candidates whose window crosses it.
            dy = torch.where(ly < r, -(ly + 1), torch.where(ly >= kh - r, kh - ly, 0))
            dx = torch.where(lx < r, -(lx + 1), torch.where(lx >= kw - r, kw - lx, 0))
            found[-1] = found[-1] + (dy, dx)
        if not found:
            empty = torch.zeros(0, dtype=torch.int64)
            return empty, empty, empty, torch.zeros(0)
        jj, yy, xx, vals, dy, dx = (torch.cat(c) for c in zip(*found))
        edge = torch.nonzero((dy != 0) | (dx != 0)).squeeze(1)
        keep = torch.ones(len(vals), dtype=torch.bool)
        # Most edge candidates face the ascent to a peak in the next tile: the nearest pixel across
        # the edge (inside their window) already beats them. The rest get their whole window.
        je, ye, xe, ve = jj[edge], yy[edge], xx[edge], vals[edge]
        across = torch.maximum(self._heat_or_neg_inf(je, ye + dy[edge], xe), self._heat_or_neg_inf(je, ye, xe + dx[edge]))
        keep[edge[across > ve]] = False
        rest = edge[across <= ve]
        keep[rest] = window_peaks(self._heat_or_neg_inf, jj[rest], yy[rest], xx[rest], vals[rest], kernel)
        jj, yy, xx, vals = jj[keep], yy[keep], xx[keep], vals[keep]
        order = torch.argsort((jj * self.height + yy) * self.width + xx)
        return jj[order], yy[order], xx[order], vals[order]

    def heat_at(self, jj, yy, xx):
        self._ensure(("heat",), self._tiles_of(jj, yy, xx))
        t = self._t
        return self._heat[jj, yy // t, xx // t, yy % t, xx % t]

    def tags_at(self, jj, yy, xx):
        """Tags are read at single pixels (peaks, found joints): these come from 1-pixel tiles
        (a 3x3 crop each), not from whole tiles."""
        if self._ay.tile > 1:
            if self._points is None:
                self._points = TiledMaps(self._src["heat"], self._src["tags"], tile=1)
            return self._points.tags_at(jj, yy, xx)
        self._ensure(("tags",), self._tiles_of(jj, yy, xx))
        t = self._t
        return self._tags[:, jj, yy // t, xx // t, yy % t, xx % t].T

    def _heat_or_neg_inf(self, jj, yy, xx):
        """Heatmap values where computed (-inf elsewhere and outside the map), without computing."""
        t = self._t
        inside = (yy >= 0) & (yy < self.height) & (xx >= 0) & (xx < self.width)
        yc, xc = yy.clamp(0, self.height - 1), xx.clamp(0, self.width - 1)
        ok = inside & self._done["heat"][jj, yc // t, xc // t]
        return torch.where(ok, self._heat[jj, yc // t, xc // t, yc % t, xc % t], _NEG_INF)

    def refine_argmax(self, joints, mean_tags, floors):
        """Branch and bound over tiles, all rows at once: each round every row scores its most
        promising tiles not yet scored (by an upper bound of its score on the tile); a row is
        done when no tile left can reach its best."""
        ub = self._refine_score_bound(joints, mean_tags).flatten(1)  # (R, tiles)
        nx, t, big = self._ax.count, self._t, torch.iinfo(torch.int64).max
        tile_ids = torch.arange(ub.shape[1])
        first_pixel = (tile_ids // nx) * t * self.width + (tile_ids % nx) * t  # lowest flat index per tile
        best = floors.clone()
        best_pix = torch.full_like(joints, big)

        def still_open() -> torch.Tensor:
            # A tile can still win if its bound beats the best, or ties it and could hold a lower index.
            return (ub > best[:, None]) | ((ub == best[:, None]) & (first_pixel[None] < best_pix[:, None]))

        pending = still_open()
        local = torch.arange(t)[:, None] * self.width + torch.arange(t)[None, :]  # flat offsets in a tile
        per_round = min(self.REFINE_TILES_PER_ROUND, ub.shape[1])
        ragged = self.height % t != 0 or self.width % t != 0  # last tiles reach past the map
        while True:
            left = int(pending.sum())
            if left == 0:
                break
            if left <= per_round * len(joints):  # few left: score them all, the last round
                rows, ids = torch.nonzero(pending, as_tuple=True)
            else:  # each row's pending tiles with the highest bounds (the order only affects the speed)
                top = torch.where(pending, ub, _NEG_INF).topk(per_round, dim=1)
                rows, rank = torch.nonzero(top.values > _NEG_INF, as_tuple=True)
                ids = top.indices[rows, rank]
            jj, ty, tx = joints[rows], ids // nx, ids % nx
            self._ensure(("heat", "tags"), self._unique_tiles(jj, ty, tx))
            heat = self._heat[jj, ty, tx]  # (P, t, t)
            tags = self._tags[:, jj, ty, tx]  # (B, P, t, t)
            pix = (ty * t * self.width + tx * t)[:, None, None] + local
            score = refine_scores(heat, tags, mean_tags[rows].T[:, :, None, None])
            if ragged:
                y_ok = (ty * t)[:, None, None] + torch.arange(t)[None, :, None] < self.height
                x_ok = (tx * t)[:, None, None] + torch.arange(t)[None, None, :] < self.width
                score = torch.where(y_ok & x_ok, score, _NEG_INF)
            score = score.flatten(1)
            value, at = first_argmax(score, pix.flatten(1))  # per (row, tile) pair
            # Per row over its pairs: the best value, then the lowest pixel reaching it.
            row_value = torch.full_like(best, _NEG_INF).scatter_reduce(0, rows, value, "amax")
            reach = value == row_value[rows]
            row_at = torch.full_like(best_pix, big).scatter_reduce(0, rows[reach], at[reach], "amin")
            better = (row_value > best) | ((row_value == best) & (row_at < best_pix))
            best = torch.where(better, row_value, best)
            best_pix = torch.where(better, row_at, best_pix)
            pending[rows, ids] = False
            pending &= still_open()
        return best_pix

    # ---- bounds ------------------------------------------------------------------------------

    def _mean_heat(self) -> torch.Tensor:
        """(K, h, w) the branches' mean: the final heatmap is its bilinear x2 (in exact arithmetic)."""
        src = self._src["heat"]
        return torch.add(src[0], src[1]).mul_(0.5) if self.branches == 2 else src[0]

    def heat_upper_bound(self) -> torch.Tensor:
        """(K, ty, tx) an upper bound of the final heatmap on each tile.

        Bilinear x2 upsampling is a convex combination in which every final pixel of a tile takes
        weight 9/16 from a pixel of the tile's own (half-resolution) core and 7/16 from pixels of
        its crop. So the upsampled mean of the branches is at most 9/16 of the core's maximum of
        the branches' mean plus 7/16 of the crop's, plus float rounding: relative to the bound,
        and a few ulps of the joint's largest branch magnitude for the case where the two branches
        nearly cancel.
        """
        if self._heat_ub is None:
            mean = self._mean_heat()
            crop = self._ax.block_max(self._ay.block_max(mean, dim=1), dim=2)
            core = self._ax.block_max(self._ay.block_max(mean, dim=1, margin=False), dim=2, margin=False)
            m = torch.add(core * 0.5625, crop, alpha=0.4375)
            flat = self._src["heat"].flatten(2)  # (B, K, h*w); amax and amin beat aminmax by far here
            magnitude = torch.maximum(flat.amax(dim=2), -flat.amin(dim=2)).amax(dim=0)[:, None, None]  # (K, 1, 1)
            self._heat_ub = m + m.abs() * _SLACK + 8 * torch.finfo(torch.float32).eps * magnitude
        return self._heat_ub

    def _refine_score_bound(self, joints: torch.Tensor, mean_tags: torch.Tensor) -> torch.Tensor:
        """(R, ty, tx) an upper bound of the refine score of joint joints[r] on each tile for mean
        tag mean_tags[r]: the heatmap bound minus the rounded smallest tag distance the tile's
        tags allow."""
        lo, hi = self._tag_bounds(joints)  # (R, B, ty, tx)
        m = mean_tags[:, :, None, None]  # (R, B, 1, 1)
        gap = torch.clamp(lo - m, min=0) + torch.clamp(m - hi, min=0)
        dist_lb = torch.clamp(gap.pow(2).sum(dim=1).sqrt() * (1 - _SLACK) - 1e-4, min=0)
        return self.heat_upper_bound()[joints] - torch.round(dist_lb)

    @torch.inference_mode()  # the buffers may have been made under inference mode
    def _tag_bounds(self, joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(R, B, ty, tx) lower and upper bounds of each branch's final tags of joints[r] per tile
        (computed once per joint, for the joints asked for). Bilinear values are convex sums of
        their inputs (weights exact), so a crop's extremes bound them up to float rounding (the
        relative slack), through one upsampling or two."""
        if self._tag_lo is None:
            shape = (self.num_joints, self.branches, self._ay.count, self._ax.count)
            self._tag_lo, self._tag_hi = torch.empty(shape), torch.empty(shape)
        todo = torch.unique(joints)
        todo = todo[~self._tag_bounded[todo]]
        if len(todo):
            src, (ay, ax) = self._bound_src, self._bound_axes
            src = src if len(todo) == self.num_joints else src[:, todo]
            hi = ax.block_max(ay.block_max(src, dim=2), dim=3)
            lo = ax.block_max(ay.block_max(src, dim=2, lowest=True), dim=3, lowest=True)
            self._tag_lo[todo] = (lo - lo.abs() * _SLACK).transpose(0, 1)
            self._tag_hi[todo] = (hi + hi.abs() * _SLACK).transpose(0, 1)
            self._tag_bounded[todo] = True
        return self._tag_lo[joints], self._tag_hi[joints]

    # ---- tiles -------------------------------------------------------------------------------

    def _tiles_of(self, jj: torch.Tensor, yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        """(n, 3) unique (joint, ty, tx) of the tiles holding these final pixels, in that order."""
        t = self._t
        return self._unique_tiles(jj, torch.div(yy, t, rounding_mode="floor"), torch.div(xx, t, rounding_mode="floor"))

    def _unique_tiles(self, jj: torch.Tensor, ty: torch.Tensor, tx: torch.Tensor) -> torch.Tensor:
        """(n, 3) the distinct (joint, ty, tx) in lexicographic order (a 1-D unique: fast)."""
        ny, nx = self._ay.count, self._ax.count
        flat = torch.unique((jj * ny + ty) * nx + tx)
        return torch.stack((flat // (ny * nx), flat // nx % ny, flat % nx), dim=1)

    def _row_crops(self, kind: str, side_y: int, tiles: torch.Tensor) -> torch.Tensor:
        """(B, crop rows, n, tile + 2) the crops of tiles with a margin left and right and the same
        row side, as strided windows of the maps gathered straight into canvas order."""
        t = self._ay.tile
        # Column windows start one pixel before each tile: window i belongs to tile i + 1.
        cols = self._src[kind][..., t - 1 :].unfold(3, t + 2, t)  # (B, K, h, windows, t + 2)
        jj, ty, tx = tiles[:, 0], tiles[:, 1], tiles[:, 2] - 1
        if side_y == 1:  # rows likewise; unfold puts the row offset last
            win = cols[:, :, t - 1 :].unfold(2, t + 2, t).permute(0, 5, 1, 2, 3, 4)
            return win[:, :, jj, ty - 1, tx, :]
        cy0, ch = self._ay.crop(tiles[:1, 1].numpy())
        rows = cols[:, :, int(cy0[0]) : int(cy0[0] + ch[0])].permute(0, 2, 1, 3, 4)  # (B, ch, K, windows, t + 2)
        return rows[:, :, jj, tx, :]

    @torch.inference_mode()
    def _ensure(self, kinds: tuple[str, ...], tiles: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Compute the final maps of ``kinds`` on those of ``tiles`` where they are missing, kind
        by kind (a tile often has its heatmap already when its tags are asked for).

        Returns the computed tiles in groups (tiles (n, 3), final heatmap values (n, kh, kw)) when
        ``kinds`` includes the heatmap, so a caller can use them without reading them back.
        """
        groups = []
        for kind in kinds if len(tiles) else ():
            todo = tiles[~self._done[kind][tiles[:, 0], tiles[:, 1], tiles[:, 2]]]
            if len(todo) == 0:
                continue
            self._done[kind][todo[:, 0], todo[:, 1], todo[:, 2]] = True
            t = todo.numpy()
            sy, sx = self._ay.side(t[:, 1]), self._ax.side(t[:, 2])
            for side_y in range(3):
                for side_x in range(3):
                    sel = (sy == side_y) & (sx == side_x)
                    if sel.any():
                        groups.append(self._compute(kind, t[sel], side_y, side_x))
        return [g for g in groups if g[1] is not None]

    def _compute(self, kind: str, tiles: np.ndarray, side_y: int, side_x: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Upsample the crops of same-shape tiles on one canvas and store their cores.

        Placement keeps every seam between margins: tiles inside the map (side 1 on both axes)
        go side by side in one row; tiles on the left/right border (side_x 0/2) but not on the
        top/bottom stack in one column against that border; corner tiles get a canvas plane each
        with the crop in the matching corner. Padding (any map value: no core depends on it) fills the rest.
        """
        n = len(tiles)
        cy0, ch = self._ay.crop(tiles[:, 1])
        cx0, cw = self._ax.crop(tiles[:, 2])
        ch, cw = int(ch[0]), int(cw[0])
        if side_x == 1:
            return self._compute_row(kind, tiles, side_y)
        if side_y == 1:  # a column of crops against the left/right border
            rows = n * ch
            cols = max(cw, _MIN_CANVAS_HALF_PERIMETER - rows)
            planes, r0 = np.zeros(n, int), np.arange(n) * ch
            c0 = np.zeros(n, int) if side_x == 0 else np.full(n, cols - cw)
        else:  # corners: one plane each, crop in the corner
            rows, cols = ch, max(cw, _MIN_CANVAS_HALF_PERIMETER - ch)
            planes, r0 = np.arange(n), np.zeros(n, int)
            c0 = np.zeros(n, int) if side_x == 0 else np.full(n, cols - cw)
        num_planes = int(planes.max()) + 1
        h, w = self._src["heat"].shape[2:]
        rr, cc = np.arange(ch)[None, :, None], np.arange(cw)[None, None, :]
        # Gather index of every canvas pixel into the flattened (K*h*w) source. Padding reads
        # pixel 0: no core's value depends on a padding pixel (each core keeps its margin).
        index = np.zeros((num_planes, rows, cols), dtype=np.int64)
        index[planes[:, None, None], r0[:, None, None] + rr, c0[:, None, None] + cc] = (
            tiles[:, 0, None, None] * h * w + (cy0[:, None, None] + rr) * w + cx0[:, None, None] + cc
        )
        index_t = torch.from_numpy(index)
        canvas = self._src[kind].view(self.branches, -1)[:, index_t].transpose(0, 1).contiguous()
        up = F.interpolate(canvas, size=(2 * rows, 2 * cols), mode="bilinear", align_corners=False)
        # Each tile's core inside the upsampled canvas, and its place in the buffers' tile grid.
        ky0, kh = self._ay.core(tiles[:, 1])
        kx0, kw = self._ax.core(tiles[:, 2])
        kh, kw = 2 * int(kh[0]), 2 * int(kw[0])
        oy = 2 * (r0 + ky0 - cy0)[:, None, None] + np.arange(kh)[None, :, None]
        ox = 2 * (c0 + kx0 - cx0)[:, None, None] + np.arange(kw)[None, None, :]
        up_index = torch.from_numpy((planes[:, None, None] * 2 * rows + oy) * 2 * cols + ox)
        vals = up.transpose(0, 1).reshape(up.shape[1], -1)[:, up_index].transpose(0, 1)  # (n, B, kh, kw)
        tiles_t = torch.from_numpy(tiles)
        return tiles_t, self._store(kind, tiles_t, vals)

    def _compute_row(self, kind: str, tiles: np.ndarray, side_y: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """_compute for tiles with a margin left and right: their crops side by side on one
        plane, cut from strided windows of the maps (the common case, so without index maps)."""
        n, t = len(tiles), self._ay.tile
        tiles_t = torch.from_numpy(tiles)
        cy0, _ = self._ay.crop(tiles[:1, 1])
        crops = self._row_crops(kind, side_y, tiles_t)
        c, ch_, _, cw = crops.shape
        canvas = crops.reshape(1, c, ch_, n * cw)
        if ch_ + n * cw < _MIN_CANVAS_HALF_PERIMETER:
            canvas = F.pad(canvas, (0, _MIN_CANVAS_HALF_PERIMETER - ch_ - n * cw))
        up = F.interpolate(canvas, size=(2 * ch_, 2 * canvas.shape[3]), mode="bilinear", align_corners=False)
        ky0, kh = self._ay.core(tiles[:1, 1])
        oy, kh = 2 * int(ky0[0] - cy0[0]), 2 * int(kh[0])
        cores = up[0, :, :, : 2 * n * cw].reshape(c, 2 * ch_, n, 2 * cw)[:, oy : oy + kh, :, 2 : 2 + 2 * t]
        return tiles_t, self._store(kind, tiles_t, cores.permute(2, 0, 1, 3))

    def _store(self, kind: str, tiles: torch.Tensor, vals: torch.Tensor) -> torch.Tensor | None:
        """Write tiles' final values (n, B, kh, kw) of the branches into the buffers; returns the
        final heatmap values (n, kh, kw) for the heatmap."""
        t = self._t
        flat = (tiles[:, 0] * self._ay.count + tiles[:, 1]) * self._ax.count + tiles[:, 2]
        kh, kw = vals.shape[2], vals.shape[3]
        if kind == "heat":
            heat = torch.add(vals[:, 0], vals[:, 1]).div_(2.0) if self.branches == 2 else vals[:, 0]
            whole = F.pad(heat, (0, t - kw, 0, t - kh)) if (kh, kw) != (t, t) else heat.contiguous()
            self._heat.view(-1, t, t).index_copy_(0, flat, whole)
            return heat
        whole = F.pad(vals, (0, t - kw, 0, t - kh)) if (kh, kw) != (t, t) else vals
        self._tags.view(self.branches, -1, t, t)[:, flat] = whole.transpose(0, 1)
        return None
