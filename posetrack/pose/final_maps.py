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

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

_NEG_INF = float("-inf")
# A canvas needs H + W > 128 at the output (= 2x input) to take the generic kernel the full map takes.
_MIN_CANVAS_HALF_PERIMETER = 65
_PAD = 8  # -inf border of TiledMaps' heat buffer: window maxima up to 17x17 need no bounds checks
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

    def refine_argmax(self, joint: int, mean_tags: torch.Tensor, floors: torch.Tensor) -> torch.Tensor:
        """(M,) flat pixel index (y * W + x) of the maximum of :func:`refine_scores` of ``joint``
        for each mean tag (M, L), the first in flat order on ties, as a dense argmax finds it.
        ``floors`` (M,) are scores some pixel is known to reach (they only prune the search)."""


def refine_scores(heat: torch.Tensor, tags: torch.Tensor, mean_tags: torch.Tensor) -> torch.Tensor:
    """(M, n) the official refine score heat - round(|tag - mean tag|) at n pixels.

    heat (n,), tags (L, n), mean_tags (M, L). The squared distance is summed over L in order, as
    a sum over the official (..., L) last axis is (bit for bit), on contiguous (M, n) planes.
    """
    dist2 = (tags[0][None] - mean_tags[:, 0:1]) ** 2
    for c in range(1, tags.shape[0]):
        dist2 = dist2 + (tags[c][None] - mean_tags[:, c : c + 1]) ** 2
    return heat[None] - torch.round(dist2.sqrt())


def first_argmax(scores: torch.Tensor, pix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row of scores (M, n): the maximum and, among the pixels reaching it, the lowest of pix."""
    best = scores.amax(dim=1)
    big = torch.iinfo(torch.int64).max
    return best, torch.where(scores == best[:, None], pix[None], big).amin(dim=1)


def window_peaks(
    padded: torch.Tensor, pad: int, jj: torch.Tensor, yy: torch.Tensor, xx: torch.Tensor, vals: torch.Tensor, kernel: int
) -> torch.Tensor:
    """Mask of the candidates that no pixel of their kernel x kernel window exceeds.

    ``padded`` is (K, H + 2 pad, W + 2 pad) with -inf (or any value below every candidate) in
    the border; ties survive, as with max-pool NMS.
    """
    r = kernel // 2
    hp, wp = padded.shape[1], padded.shape[2]
    flat = padded.reshape(-1)
    centre = (jj * hp + yy + pad) * wp + xx + pad
    keep = torch.ones_like(vals, dtype=torch.bool)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy or dx:
                keep &= flat[centre + (dy * wp + dx)] <= vals
    return keep


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
        r = kernel // 2
        padded = F.pad(self.heatmaps, (r, r, r, r), value=_NEG_INF)
        keep = window_peaks(padded, r, jj, yy, xx, vals, kernel)
        return jj[keep], yy[keep], xx[keep], vals[keep]

    def heat_at(self, jj, yy, xx):
        return self.heatmaps[jj, yy, xx]

    def tags_at(self, jj, yy, xx):
        return self.tags[jj, yy, xx]

    def refine_argmax(self, joint, mean_tags, floors):
        heat = self.heatmaps[joint].reshape(-1)
        # The score is at most the heatmap value: only pixels at or above a row's floor can win.
        pix = torch.nonzero(heat >= floors.min()).squeeze(1)
        if len(pix) > heat.shape[0] // 4:  # most of the map: every pixel, a few rows at a time
            pix = torch.arange(heat.shape[0], device=heat.device)
        tags = self.tags[joint].reshape(heat.shape[0], -1)[pix].T
        heat = heat[pix]
        chunk = max(1, (1 << 22) // max(len(pix), 1))
        return torch.cat([
            first_argmax(refine_scores(heat, tags, mean_tags[i : i + chunk]), pix)[1]
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

    def block_max(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        """Max of x over each tile's crop along ``dim`` (size -> count)."""
        x = x.movedim(dim, -1)
        n, t = self.count, self.tile
        if n * t != self.size:
            x = F.pad(x, (0, n * t - self.size), value=_NEG_INF)
        core = x.reshape(*x.shape[:-1], n, t).amax(-1)
        before = torch.full_like(core, _NEG_INF)
        before[..., 1:] = x[..., t - 1 : n * t - 1 : t]
        after = torch.full_like(core, _NEG_INF)
        after[..., :-1] = x[..., t::t][..., : n - 1]
        return torch.maximum(core, torch.maximum(before, after)).movedim(-1, dim)


def tiled_maps_apply(heat: torch.Tensor, tile: int) -> bool:
    """Whether TiledMaps serves maps of these half-resolution sizes (at least 3 tiles a side, CPU)."""
    return heat.device.type == "cpu" and min(heat.shape[-2:]) >= 3 * tile


class TiledMaps:
    """Final maps = bilinear x2 of half-resolution branch maps, computed exactly tile by tile.

    heat, tags: (B, K, h, w) flipped-back half-resolution maps of each flip branch (B = 2 with
    flip test, else 1). The final heatmap is the mean of the upsampled branches, (a + b) / 2.0 as
    the dense path computes it; the final tags stack the upsampled branches on a last axis.
    Tiles are ``tile`` half-resolution (2 x tile final) pixels a side; the buffers cover whole
    tiles, the heatmap's with a -inf border, so never-computed pixels read as -inf.
    """

    REFINE_TILES_PER_ROUND = 8  # tiles each row scores per round of refine's branch and bound

    def __init__(self, heat: torch.Tensor, tags: torch.Tensor, tile: int = 8) -> None:
        self.branches, self.num_joints, h, w = (int(s) for s in heat.shape)
        self.tag_dim = self.branches
        self.height, self.width = 2 * h, 2 * w
        self.device = heat.device
        self._src = {"heat": heat.float().contiguous(), "tags": tags.float().contiguous()}
        self._flat: dict[str, torch.Tensor] = {}  # per kind, made when first needed
        self._windows: dict[str, torch.Tensor] = {}
        self._ay, self._ax = _Axis(h, tile), _Axis(w, tile)
        self._t = 2 * tile  # final pixels a tile side
        ny, nx, t = self._ay.count, self._ax.count, self._t
        grid = (self.num_joints, ny, nx)
        self._done = {"heat": torch.zeros(grid, dtype=torch.bool), "tags": torch.zeros(grid, dtype=torch.bool)}
        self._heat = torch.full((self.num_joints, ny * t + 2 * _PAD, nx * t + 2 * _PAD), _NEG_INF)
        self._tags = torch.empty((self.branches, self.num_joints, ny * t, nx * t))
        self._heat_ub: torch.Tensor | None = None
        self._tag_bounds: tuple[torch.Tensor, torch.Tensor] | None = None

    # ---- the FinalMaps interface -------------------------------------------------------------

    def dense(self) -> tuple[torch.Tensor, torch.Tensor]:
        self._ensure(("heat", "tags"), torch.nonzero(~(self._done["heat"] & self._done["tags"])))
        heat = self._heat[:, _PAD : _PAD + self.height, _PAD : _PAD + self.width]
        return heat, self._tags[:, :, : self.height, : self.width].permute(1, 2, 3, 0)

    def peaks_above(self, threshold: float, kernel: int):
        r = kernel // 2
        if r > _PAD:
            return DenseMaps(*self.dense()).peaks_above(threshold, kernel)
        tiles = torch.nonzero(self.heat_upper_bound() > threshold)
        if len(tiles) * 4 > self._done["heat"].numel():
            return None
        self._ensure(("heat",), tiles)
        # Each tile with an r-pixel halo (pixels never computed are below the threshold: their
        # tile's bound is), its window maxima by a separable max filter.
        t = self._t
        span = torch.arange(t + 2 * r)
        rows = (tiles[:, 1:2] * t + _PAD - r + span)[:, :, None]
        cols = (tiles[:, 2:3] * t + _PAD - r + span)[:, None, :]
        patch = self._heat[tiles[:, 0, None, None], rows, cols]  # (n, t + 2r, t + 2r)
        across = patch[:, :, : t]
        for d in range(1, 2 * r + 1):
            across = torch.maximum(across, patch[:, :, d : d + t])
        window = across[:, :t]
        for d in range(1, 2 * r + 1):
            window = torch.maximum(window, across[:, d : d + t])
        vals = patch[:, r : r + t, r : r + t]
        i, ly, lx = torch.nonzero((vals > threshold) & (vals >= window), as_tuple=True)
        jj, yy, xx, vals = tiles[i, 0], tiles[i, 1] * t + ly, tiles[i, 2] * t + lx, vals[i, ly, lx]
        order = torch.argsort((jj * self.height + yy) * self.width + xx)
        return jj[order], yy[order], xx[order], vals[order]

    def heat_at(self, jj, yy, xx):
        self._ensure(("heat",), self._tiles_of(jj, yy, xx))
        return self._heat[jj, yy + _PAD, xx + _PAD]

    def tags_at(self, jj, yy, xx):
        self._ensure(("tags",), self._tiles_of(jj, yy, xx))
        return self._tags[:, jj, yy, xx].T

    def refine_argmax(self, joint, mean_tags, floors):
        """Branch and bound over tiles: each row scores its most promising tiles first (by an
        upper bound of the score on the tile) and stops when no tile left can reach its best."""
        ub = self._refine_score_bound(joint, mean_tags).reshape(len(mean_tags), -1)  # (M, tiles)
        nx, t = self._ax.count, self._t
        ids_all = torch.arange(ub.shape[1])
        first_pixel = (ids_all // nx) * t * self.width + (ids_all % nx) * t  # lowest flat index per tile
        order = torch.sort(-ub, dim=1, stable=True).indices  # best bound first, then flat order
        best = floors.clone()
        best_pix = torch.full_like(floors, torch.iinfo(torch.int64).max, dtype=torch.int64)

        def still_open() -> torch.Tensor:
            # A tile can still win if its bound beats the best, or ties it and could hold a lower index.
            return (ub > best[:, None]) | ((ub == best[:, None]) & (first_pixel[None] < best_pix[:, None]))

        pending = still_open()
        span = torch.arange(t)
        while bool(pending.any()):
            in_order = pending.gather(1, order)
            take = in_order & (torch.cumsum(in_order, dim=1) <= self.REFINE_TILES_PER_ROUND)
            mask = torch.zeros(ub.shape[1], dtype=torch.bool)
            mask[order[take]] = True
            ids = torch.nonzero(mask).squeeze(1)
            tiles = torch.stack((torch.full_like(ids, joint), ids // nx, ids % nx), dim=1)
            self._ensure(("heat", "tags"), tiles)
            yy = (tiles[:, 1:2] * t + span)[:, :, None].expand(-1, t, t)
            xx = (tiles[:, 2:3] * t + span)[:, None, :].expand(-1, t, t)
            heat = self._heat[joint, yy + _PAD, xx + _PAD].reshape(-1)
            score = refine_scores(heat, self._tags[:, joint, yy, xx].reshape(self.branches, -1), mean_tags)
            inside = ((yy < self.height) & (xx < self.width)).reshape(-1)
            score = torch.where(inside[None], score, _NEG_INF)
            value, at = first_argmax(score, (yy * self.width + xx).reshape(-1))
            better = (value > best) | ((value == best) & (at < best_pix))
            best = torch.where(better, value, best)
            best_pix = torch.where(better, at, best_pix)
            pending[:, ids] = False
            pending &= still_open()
        return best_pix

    # ---- bounds ------------------------------------------------------------------------------

    def heat_upper_bound(self) -> torch.Tensor:
        """(K, ty, tx) an upper bound of the final heatmap on each tile.

        Bilinear upsampling is a convex combination, so the upsampled mean of the branches is at
        most the maximum over the tile's crop of the branches' mean (plus float slack).
        """
        if self._heat_ub is None:
            src = self._src["heat"]
            mean = src.mean(dim=0) if self.branches > 1 else src[0]
            m = self._ax.block_max(self._ay.block_max(mean, dim=1), dim=2)
            self._heat_ub = m + m.abs() * _SLACK
        return self._heat_ub

    def _refine_score_bound(self, joint: int, mean_tags: torch.Tensor) -> torch.Tensor:
        """(M, ty, tx) an upper bound of the refine score of ``joint`` on each tile for each mean
        tag: the heatmap bound minus the rounded smallest tag distance the tile's tags allow."""
        lo, hi = self._tag_bounds_of(joint)  # (B, ty, tx)
        m = mean_tags[:, :, None, None]  # (M, B, 1, 1)
        gap = torch.clamp(lo[None] - m, min=0) + torch.clamp(m - hi[None], min=0)
        dist_lb = torch.clamp(gap.pow(2).sum(dim=1).sqrt() * (1 - _SLACK) - 1e-4, min=0)
        return self.heat_upper_bound()[joint][None] - torch.round(dist_lb)

    def _tag_bounds_of(self, joint: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, ty, tx) lower and upper bounds of each branch's final tags of ``joint`` per tile."""
        if self._tag_bounds is None:
            src = self._src["tags"]
            hi = self._ax.block_max(self._ay.block_max(src, dim=2), dim=3)
            lo = -self._ax.block_max(self._ay.block_max(-src, dim=2), dim=3)
            self._tag_bounds = (lo - lo.abs() * _SLACK, hi + hi.abs() * _SLACK)
        lo, hi = self._tag_bounds
        return lo[:, joint], hi[:, joint]

    # ---- tiles -------------------------------------------------------------------------------

    def _flat_source(self, kind: str) -> torch.Tensor:
        """(B, K*h*w + 1) each branch's maps flattened, plus one zero that canvas padding reads."""
        if kind not in self._flat:
            src = self._src[kind]
            self._flat[kind] = torch.cat((src.reshape(self.branches, -1), src.new_zeros(self.branches, 1)), 1)
        return self._flat[kind]

    def _crop_windows(self, kind: str) -> torch.Tensor:
        """(B, K, ty, tx, tile + 2, tile + 2) view: every tile's core with a one-pixel ring (zeros
        outside the map), window [1:, 1:] of the first tile being the map's corner."""
        if kind not in self._windows:
            t = self._ay.tile
            src = self._src[kind]
            pad_y = self._ay.count * t + 1 - src.shape[2]
            pad_x = self._ax.count * t + 1 - src.shape[3]
            padded = F.pad(src, (1, pad_x, 1, pad_y))
            self._windows[kind] = padded.unfold(2, t + 2, t).unfold(3, t + 2, t)
        return self._windows[kind]

    def _tiles_of(self, jj: torch.Tensor, yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        """(n, 3) unique (joint, ty, tx) of the tiles holding these final pixels."""
        mask = torch.zeros(self._done["heat"].shape, dtype=torch.bool)
        mask[jj, torch.div(yy, self._t, rounding_mode="floor"), torch.div(xx, self._t, rounding_mode="floor")] = True
        return torch.nonzero(mask)

    @torch.inference_mode()
    def _ensure(self, kinds: tuple[str, ...], tiles: torch.Tensor) -> None:
        """Compute the final maps of ``kinds`` on those of ``tiles`` where one is missing."""
        if len(tiles) == 0:
            return
        missing = torch.zeros(len(tiles), dtype=torch.bool)
        for kind in kinds:
            missing |= ~self._done[kind][tiles[:, 0], tiles[:, 1], tiles[:, 2]]
        tiles = tiles[missing]
        if len(tiles) == 0:
            return
        for kind in kinds:
            self._done[kind][tiles[:, 0], tiles[:, 1], tiles[:, 2]] = True
        t = tiles.numpy()
        sy, sx = self._ay.side(t[:, 1]), self._ax.side(t[:, 2])
        for side_y in range(3):
            for side_x in range(3):
                sel = (sy == side_y) & (sx == side_x)
                if sel.any():
                    self._compute(kinds, t[sel], side_y, side_x)

    def _compute(self, kinds: tuple[str, ...], tiles: np.ndarray, side_y: int, side_x: int) -> None:
        """Upsample the crops of same-shape tiles on one canvas and store their cores.

        Placement keeps every seam between margins: tiles inside the map (side 1 on both axes)
        go side by side in one row; tiles on the left/right border (side_x 0/2) but not on the
        top/bottom stack in one column against that border; corner tiles get a canvas plane each
        with the crop in the matching corner. Zero padding fills the rest.
        """
        n = len(tiles)
        cy0, ch = self._ay.crop(tiles[:, 1])
        cx0, cw = self._ax.crop(tiles[:, 2])
        ch, cw = int(ch[0]), int(cw[0])
        if side_x == 1:
            self._compute_row(kinds, tiles, side_y)
            return
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
        # Gather index of every canvas pixel into the flattened (K*h*w + a zero) source.
        index = np.full((num_planes, rows, cols), self.num_joints * h * w, dtype=np.int64)
        index[planes[:, None, None], r0[:, None, None] + rr, c0[:, None, None] + cc] = (
            tiles[:, 0, None, None] * h * w + (cy0[:, None, None] + rr) * w + cx0[:, None, None] + cc
        )
        index_t = torch.from_numpy(index)
        canvas = torch.cat([self._flat_source(kind)[:, index_t] for kind in kinds]).transpose(0, 1).contiguous()
        up = F.interpolate(canvas, size=(2 * rows, 2 * cols), mode="bilinear", align_corners=False)
        # Each tile's core inside the upsampled canvas, and its place in the buffers' tile grid.
        ky0, kh = self._ay.core(tiles[:, 1])
        kx0, kw = self._ax.core(tiles[:, 2])
        kh, kw = 2 * int(kh[0]), 2 * int(kw[0])
        oy = 2 * (r0 + ky0 - cy0)[:, None, None] + np.arange(kh)[None, :, None]
        ox = 2 * (c0 + kx0 - cx0)[:, None, None] + np.arange(kw)[None, None, :]
        up_index = torch.from_numpy((planes[:, None, None] * 2 * rows + oy) * 2 * cols + ox)
        vals = up.transpose(0, 1).reshape(up.shape[1], -1)[:, up_index].transpose(0, 1)  # (n, B * kinds, kh, kw)
        self._store(kinds, torch.from_numpy(tiles), vals)

    def _compute_row(self, kinds: tuple[str, ...], tiles: np.ndarray, side_y: int) -> None:
        """_compute for tiles with a margin left and right: their crops side by side on one
        plane, cut from strided windows of the maps (the common case, so without index maps)."""
        n, t = len(tiles), self._ay.tile
        tiles_t = torch.from_numpy(tiles)
        jj, ty, tx = tiles_t[:, 0], tiles_t[:, 1], tiles_t[:, 2]
        cy0, ch = self._ay.crop(tiles[:1, 1])
        first = 1 if side_y == 0 else 0  # the map's first tile has no row above it
        rows = slice(first, first + int(ch[0]))
        crops = torch.cat([self._crop_windows(kind)[:, jj, ty, tx, rows] for kind in kinds])  # (C, n, ch, t + 2)
        c, _, ch_, cw = crops.shape
        canvas = crops.permute(0, 2, 1, 3).reshape(1, c, ch_, n * cw)
        if ch_ + n * cw < _MIN_CANVAS_HALF_PERIMETER:
            canvas = F.pad(canvas, (0, _MIN_CANVAS_HALF_PERIMETER - ch_ - n * cw))
        up = F.interpolate(canvas, size=(2 * ch_, 2 * canvas.shape[3]), mode="bilinear", align_corners=False)
        ky0, kh = self._ay.core(tiles[:1, 1])
        oy, kh = 2 * int(ky0[0] - cy0[0]), 2 * int(kh[0])
        cores = up[0, :, :, : 2 * n * cw].reshape(c, 2 * ch_, n, 2 * cw)[:, oy : oy + kh, :, 2 : 2 + 2 * t]
        self._store(kinds, tiles_t, cores.permute(2, 0, 1, 3))

    def _store(self, kinds: tuple[str, ...], tiles: torch.Tensor, vals: torch.Tensor) -> None:
        """Write tiles' final values (n, B * len(kinds), kh, kw) into the buffers."""
        jj, ty, tx = tiles[:, 0], tiles[:, 1], tiles[:, 2]
        kh, kw = vals.shape[2], vals.shape[3]
        ny, nx, t = self._ay.count, self._ax.count, self._t
        for i, kind in enumerate(kinds):
            v = vals[:, i * self.branches : (i + 1) * self.branches]
            if kind == "heat":
                grid = self._heat[:, _PAD : _PAD + ny * t, _PAD : _PAD + nx * t]
                grid.view(self.num_joints, ny, t, nx, t)[jj, ty, :kh, tx, :kw] = (
                    (v[:, 0] + v[:, 1]) / 2.0 if self.branches == 2 else v[:, 0]
                )
            else:
                # Advanced indices apart from each other put their dimension first: (n, B, kh, kw).
                self._tags.view(self.branches, self.num_joints, ny, t, nx, t)[:, jj, ty, :kh, tx, :kw] = v
