"""Associative-embedding grouping: aggregated heatmaps + tags -> people.

Numerically the HigherHRNet test-time parser: heatmap NMS by max pooling, top-k candidates per
joint, greedy joint-by-joint matching of candidates to people by tag distance and detection value
(Hungarian assignment), the quarter-pixel 'adjust' step and the optional 'refine' step that fills
missing joints from the full maps. NMS, top-k, adjust and refine run as torch ops on the maps'
device; only the matching (at most ``max_people`` candidates per joint) runs in numpy on the CPU.
The maps are read through :class:`~posetrack.pose.final_maps.FinalMaps` (dense, or computed tile by
tile on a CPU).

Coordinates are heatmap pixels: a peak at pixel index p is reported at p + 0.5 (+-0.25 after
adjust), as the official parser does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from posetrack.pose.bottomup_hungarian import munkres_assign
from posetrack.pose.final_maps import DenseMaps, FinalMaps, refine_scores, window_max

# The order in which the official parser visits COCO's 17 joints (head, shoulders, hips, then the
# limbs): people are seeded by the most reliable joints first.
COCO_JOINT_ORDER: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16)

# Cost given to the padding columns that let a candidate start a new person.
_PAD_COST = 1e10


@dataclass(frozen=True)
class GroupingParams:
    """The parser's knobs, with the official HigherHRNet COCO test values as defaults."""

    max_people: int = 30  # top-k candidates per joint; people matched against per joint
    detection_threshold: float = 0.1
    tag_threshold: float = 1.0
    nms_kernel: int = 5
    adjust: bool = True
    refine: bool = False
    use_detection_val: bool = True  # cost = round(tag distance) * 100 - detection value
    ignore_too_much: bool = False  # skip a joint once max_people people exist
    # "munkres": the official solver's choice among equal-cost optima (bit-exact grouping);
    # "scipy": linear_sum_assignment, same optimal cost but may pick another optimum on ties.
    assignment: Literal["munkres", "scipy"] = "munkres"


def joint_order(num_joints: int) -> tuple[int, ...]:
    """The official visiting order for 17 joints, otherwise index order."""
    return COCO_JOINT_ORDER if num_joints == 17 else tuple(range(num_joints))


def heatmap_nms(heatmaps: torch.Tensor, kernel: int) -> torch.Tensor:
    """Zero every pixel that is not the maximum of its kernel x kernel window (ties all survive)."""
    pooled = window_max(heatmaps, kernel)
    return heatmaps * torch.eq(pooled, heatmaps).to(heatmaps.dtype)


def _ranked_top_k(
    num_joints: int, k: int, peaks: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``det.topk(k, dim=1)`` of the NMS map that holds only these peaks, without building it.

    Candidates tie often enough (plateaus, symmetric maps) that which of equal values comes
    first must be torch's. On a CPU, topk of a row of n >= 64 k values is libstdc++'s
    partial_sort: a heap of the first k elements, then every later element greater than the
    heap's top pushed in, in index order. Zeros never beat a top that is >= 0, so a short row
    holding the first k elements of the full row, then the positive peaks beyond them in index
    order, then zeros, goes through the same heap steps and gives the same (value, index)
    sequence once its positions are mapped back. Peaks must be positive, sorted by (joint, index).
    """
    jj, yy, xx, vals = peaks
    flat = yy * width + xx
    det = torch.zeros(num_joints, k, dtype=vals.dtype, device=vals.device)  # the first k elements
    head = flat < k
    det[jj[head], flat[head]] = vals[head]
    jj, flat, vals = jj[~head], flat[~head], vals[~head]
    counts = torch.bincount(jj, minlength=num_joints)
    length = max(64 * k, k + int(counts.max()) if len(jj) else 0)
    rank = torch.arange(len(jj), device=vals.device) - (torch.cumsum(counts, 0) - counts)[jj]
    row = torch.zeros(num_joints, length, dtype=vals.dtype, device=vals.device)
    row[:, :k] = det
    position = torch.zeros(num_joints, length, dtype=torch.int64, device=vals.device)
    position[:, :k] = torch.arange(k, device=vals.device)
    row[jj, k + rank] = vals
    position[jj, k + rank] = flat
    val_k, pos = row.topk(k, dim=1)
    return val_k, torch.gather(position, 1, pos)


def top_k(
    maps: FinalMaps, k: int, nms_kernel: int, threshold: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k best NMS peaks of each joint of one image.

    With a ``threshold`` (the detection threshold, >= 0) only pixels above it are tested for
    being window maxima: only those candidates survive matching, so the people are the same as
    with NMS over the whole map (the costly part on a CPU), and tags are read only for them.
    Without, or when most pixels pass, the dense max-pool NMS runs (the GPU's path).
    Returns numpy (tag_k (K, k, L) float32, loc_k (K, k, 2) int64 x/y, val_k (K, k) float32).
    """
    num_joints, h, w = maps.num_joints, maps.height, maps.width
    k = min(k, h * w)
    peaks = None
    if threshold is not None and threshold >= 0 and 64 * k <= h * w:
        peaks = maps.peaks_above(threshold, nms_kernel)
    if peaks is None:
        heat = maps.dense()[0]
        det = heatmap_nms(heat[None], nms_kernel)[0].reshape(num_joints, h * w)
        val_k, ind = det.topk(k, dim=1)
        wanted = torch.ones_like(val_k, dtype=torch.bool)
    else:
        val_k, ind = _ranked_top_k(num_joints, k, peaks, w)
        wanted = val_k > threshold
    loc_k = torch.stack((ind % w, torch.div(ind, w, rounding_mode="floor")), dim=2)
    joints = torch.arange(num_joints, device=ind.device)[:, None].expand_as(ind)
    tag_k = torch.zeros((num_joints, k, maps.tag_dim), device=ind.device)
    tag_k[wanted] = maps.tags_at(joints[wanted], loc_k[..., 1][wanted], loc_k[..., 0][wanted]).float()
    return (
        tag_k.cpu().numpy(),
        loc_k.cpu().numpy().astype(np.int64),
        val_k.float().cpu().numpy(),
    )


def assign(cost: np.ndarray, method: str = "munkres") -> list[tuple[int, int]]:
    """Minimum-cost (row, col) pairs in row order; every row is assigned (rows <= cols).

    "munkres" reproduces the official ``munkres`` package exactly, ties included; "scipy" gives
    an optimum of the same cost that can differ from it where several optima exist.
    """
    if method == "scipy":
        rows, cols = linear_sum_assignment(cost)
        return list(zip(rows.tolist(), cols.tolist()))
    return munkres_assign(cost)


def match_by_tag(
    tag_k: np.ndarray,
    loc_k: np.ndarray,
    val_k: np.ndarray,
    params: GroupingParams,
    order: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Group candidates into people, joint by joint, as the official parser does.

    People are keyed by the first tag value of the candidate that started them (so, as in the
    official code, a new candidate whose tag equals an existing key joins that person). Returns
    (P, K, 3 + L) float32: x, y, detection value, tag; undetected joints are all zero.

    The arithmetic is the official code's, bit for bit, with less numpy call overhead per joint:
    a person's tags (its list, reset to one tag when a candidate joins by key) are rows of a
    buffer laid out as the array ``np.mean`` makes from that list, and their mean is the same
    ufunc calls as ``np.mean`` (an add.reduce over the rows when they changed, an unsafe divide
    by the count as intp); the tag distance is ``np.linalg.norm``'s (sqrt of the add.reduce of
    the squares). People are matched in the order they were started (the keys' insertion order),
    so the people matched against are the first ``max_people``.
    """
    if tag_k.dtype not in (np.float32, np.float64):  # top_k gives float32; the sums below need a float
        tag_k = tag_k.astype(np.float64)
    num_joints, _, tag_dim = tag_k.shape
    order = joint_order(num_joints) if order is None else order
    width = 3 + tag_dim
    # x, y, detection value, tag (float64, as the official per-joint concatenation), and the
    # candidates above the detection threshold, joint after joint.
    candidates = np.concatenate((loc_k, val_k[..., None], tag_k), axis=2)
    kept = candidates[:, :, 2] > params.detection_threshold
    kept_joints, kept_tags = candidates[kept], tag_k[kept]
    kept_keys = kept_tags[:, 0].tolist()
    kept_index = kept.nonzero()[1].tolist()
    ends = np.cumsum(kept.sum(axis=1)).tolist()
    starts = [0, *ends[:-1]]

    index_of: dict[float, int] = {}  # person key -> person (its row in the result)
    placed: dict[tuple[int, int], int] = {}  # (person, joint) -> the candidate placed there last
    tag_rows: list[np.ndarray] = []  # person -> its tags, rows [0, tag_count[p])
    tag_count: list[int] = []
    sums = np.zeros((8, tag_dim), tag_k.dtype)  # person -> sum of its tags, valid unless stale
    counts = np.ones((8, 1), np.intp)  # person -> number of tags summed
    means = np.zeros((8, tag_dim), tag_k.dtype)
    stale: set[int] = set()  # people whose tags changed since they were summed

    def start_or_join(key: float, tag: np.ndarray) -> int:
        nonlocal sums, counts, means
        slot = index_of.get(key)
        if slot is None:
            slot = len(tag_rows)
            index_of[key] = slot
            if slot == len(means):
                sums = np.concatenate((sums, np.zeros_like(sums)))
                counts = np.concatenate((counts, np.ones_like(counts)))
                means = np.concatenate((means, np.zeros_like(means)))
            tag_rows.append(np.empty((num_joints, tag_dim), tag_k.dtype))
            tag_count.append(0)
        tag_rows[slot][0] = tag
        tag_count[slot] = 1
        stale.add(slot)
        return slot

    for step, idx in enumerate(order):
        start, end = starts[idx], ends[idx]
        if start == end:
            continue
        joints, tags = kept_joints[start:end], kept_tags[start:end]
        keys, where = kept_keys[start:end], kept_index[start:end]
        if step == 0 or not index_of:
            for row, key in enumerate(keys):
                placed[start_or_join(key, tags[row]), idx] = where[row]
            continue

        num_grouped = min(len(tag_rows), params.max_people)
        if params.ignore_too_much and num_grouped == params.max_people:
            continue
        for s in [s for s in stale if s < num_grouped]:
            np.add.reduce(tag_rows[s][: tag_count[s]], axis=0, out=sums[s])
            counts[s, 0] = tag_count[s]
            stale.discard(s)
        # (people whose sums did not change get the same mean again)
        np.true_divide(sums[:num_grouped], counts[:num_grouped], out=means[:num_grouped], casting="unsafe")

        diff = joints[:, None, 3:] - means[None, :num_grouped]
        dist = np.sqrt(np.add.reduce(diff * diff, axis=(2,)))
        num_added = len(joints)
        cost = np.empty((num_added, max(num_added, num_grouped)))
        if params.use_detection_val:
            rounded = dist.round()
            rounded *= 100
            np.subtract(rounded, joints[:, 2:3], out=cost[:, :num_grouped])
        else:
            cost[:, :num_grouped] = dist
        cost[:, num_grouped:] = _PAD_COST
        close = (dist < params.tag_threshold).tolist()
        for row, col in assign(cost, params.assignment):
            if col < num_grouped and close[row][col]:
                count = tag_count[col]
                if count == len(tag_rows[col]):
                    tag_rows[col] = np.concatenate((tag_rows[col], np.empty_like(tag_rows[col])))
                tag_rows[col][count] = tags[row]
                tag_count[col] = count + 1
                stale.add(col)
                placed[col, idx] = where[row]
            else:
                placed[start_or_join(keys[row], tags[row]), idx] = where[row]

    people = np.zeros((len(tag_rows), num_joints, width))
    if placed:
        slots, joint_of = np.array(list(placed), np.intp).T
        people[slots, joint_of] = candidates[joint_of, list(placed.values())]
    return people.astype(np.float32)


def _quarter_offsets(maps: FinalMaps, xs: torch.Tensor, ys: torch.Tensor, joints: torch.Tensor):
    """+-0.25 towards the higher of the two neighbours in x and in y (ties go negative)."""
    h, w = maps.height, maps.width
    jj = joints.repeat(4)
    yy = torch.cat((ys, ys, (ys + 1).clamp(max=h - 1), (ys - 1).clamp(min=0)))
    xx = torch.cat(((xs + 1).clamp(max=w - 1), (xs - 1).clamp(min=0), xs, xs))
    right, left, down, up = maps.heat_at(jj, yy, xx).reshape(4, -1)  # one query for the four neighbours
    dx = torch.where(right > left, 0.25, -0.25)
    dy = torch.where(down > up, 0.25, -0.25)
    return dx, dy


def adjust(people: np.ndarray, maps: FinalMaps) -> np.ndarray:
    """Move each detected joint to pixel centre + a quarter pixel towards its higher neighbour."""
    if len(people) == 0:
        return people
    out = people.copy()
    pi, ji = np.nonzero(out[:, :, 2] > 0)
    if len(pi) == 0:
        return out
    dev = maps.device
    xs = torch.as_tensor(out[pi, ji, 0].astype(np.int64), device=dev)
    ys = torch.as_tensor(out[pi, ji, 1].astype(np.int64), device=dev)
    dx, dy = _quarter_offsets(maps, xs, ys, torch.as_tensor(ji, device=dev))
    out[pi, ji, 0] = out[pi, ji, 0] + dx.cpu().numpy().astype(np.float32) + 0.5
    out[pi, ji, 1] = out[pi, ji, 1] + dy.cpu().numpy().astype(np.float32) + 0.5
    return out


def refine(person: np.ndarray, heatmaps: torch.Tensor, tags: torch.Tensor) -> np.ndarray:
    """Fill a person's missing joints from the full maps, as the official 'refine'.

    For each joint, the best pixel of heatmap - round(distance to the person's mean tag) is taken;
    it replaces the joint only where the joint was missing and the heatmap there is positive.
    heatmaps: (K, H, W); tags: (K, H, W, L); person: (K, 3 + L) after adjust.
    """
    num_joints, h, w = heatmaps.shape
    found = np.nonzero(person[:, 2] > 0)[0]
    if len(found) == 0:
        return person
    dev = heatmaps.device
    fx = torch.as_tensor(person[found, 0].astype(np.int32).astype(np.int64), device=dev)
    fy = torch.as_tensor(person[found, 1].astype(np.int32).astype(np.int64), device=dev)
    mean_tag = tags[torch.as_tensor(found, device=dev), fy, fx].float().mean(dim=0)
    dist = ((tags.float() - mean_tag) ** 2).sum(dim=3).sqrt()
    score = heatmaps - torch.round(dist)
    best = score.reshape(num_joints, -1).argmax(dim=1)
    ys, xs = torch.div(best, w, rounding_mode="floor"), best % w
    joints = torch.arange(num_joints, device=dev)
    vals = heatmaps[joints, ys, xs]
    dx, dy = _quarter_offsets(DenseMaps(heatmaps, tags), xs, ys, joints)
    cand = torch.stack((xs + 0.5 + dx, ys + 0.5 + dy, vals), dim=1).cpu().numpy()
    out = person.copy()
    fill = (cand[:, 2] > 0) & (person[:, 2] == 0)
    out[fill, :3] = cand[fill]
    return out


def refine_people(people: np.ndarray, maps: FinalMaps, hints: np.ndarray | None = None) -> np.ndarray:
    """:func:`refine` for every person at once, with the same result (bit for bit).

    Only missing joints can change, so only they are searched, each on the few pixels that can
    hold its maximum (``maps.refine_argmax``: argmax of heatmap - round(|tag - mean tag|), the
    first index on ties, as :func:`refine`). ``hints`` (K, k, 2) x/y pixels per joint (e.g.
    ``top_k``'s locations; x < 0 marks no pixel) only speed the search up.
    """
    if len(people) == 0:
        return people
    num_joints, w, dev = maps.num_joints, maps.width, maps.device
    out = people.copy()
    present = people[:, :, 2] > 0
    todo = np.nonzero(present.any(axis=1) & (people[:, :, 2] == 0).any(axis=1))[0]
    if len(todo) == 0:
        return out
    # Mean tag of each person's found joints, as refine computes it (truncated pixel of each joint).
    pp, jj = np.nonzero(present[todo])
    tags = maps.tags_at(
        torch.as_tensor(jj, device=dev),
        torch.as_tensor(people[todo[pp], jj, 1].astype(np.int32).astype(np.int64), device=dev),
        torch.as_tensor(people[todo[pp], jj, 0].astype(np.int32).astype(np.int64), device=dev),
    ).float()
    bounds = np.searchsorted(pp, np.arange(len(todo) + 1))
    mean_tags = torch.stack([tags[a:b].mean(dim=0) for a, b in zip(bounds[:-1], bounds[1:])])  # (P', L)
    # One row per missing joint of such a person.
    rr, jm = np.nonzero(people[todo, :, 2] == 0)
    joint_t = torch.as_tensor(jm, device=dev)
    row_tags = mean_tags[torch.as_tensor(rr, device=dev)]
    # Each row's best score among its joint's hint pixels (e.g. top-k peaks, which make it high),
    # lowered by a hair so that no rounding can put it above the exact maximum: a floor that
    # prunes the search.
    if hints is None:
        hints = np.zeros((num_joints, 1, 2), np.int64)
    # The maps at every valid hint, looked up once; then each row scores its joint's hints.
    ok = hints[:, :, 0] >= 0
    ok[np.setdiff1d(np.arange(num_joints), jm)] = False  # joints no row needs
    hint_j, hint_i = np.nonzero(ok)
    slot = np.full(ok.shape, -1, np.int64)
    slot[hint_j, hint_i] = np.arange(len(hint_j))
    hj, hy, hx = (torch.as_tensor(a, device=dev) for a in (hint_j, hints[hint_j, hint_i, 1], hints[hint_j, hint_i, 0]))
    hint_heat, hint_tags = maps.heat_at(hj, hy, hx), maps.tags_at(hj, hy, hx).float()
    hr, hk = np.nonzero(ok[jm])  # (row, hint) pairs to score
    at, hr = torch.as_tensor(slot[jm[hr], hk], device=dev), torch.as_tensor(hr, device=dev)
    scores = refine_scores(hint_heat[at], hint_tags[at].T, row_tags[hr].T)
    floors = torch.full((len(jm),), float("-inf"), device=dev).scatter_reduce(0, hr, scores, "amax")
    floors = floors - floors.abs() * 1e-6 - 1e-6
    best_t = maps.refine_argmax(joint_t, row_tags, floors)
    ys, xs = torch.div(best_t, w, rounding_mode="floor"), best_t % w
    vals = maps.heat_at(joint_t, ys, xs)
    dx, dy = _quarter_offsets(maps, xs, ys, joint_t)
    cand = torch.stack((xs + 0.5 + dx, ys + 0.5 + dy, vals), dim=1).cpu().numpy()
    pi, ji = todo[rr], jm
    fill = cand[:, 2] > 0
    out[pi[fill], ji[fill], :3] = cand[fill]
    return out


def group(maps: FinalMaps, params: GroupingParams, per_person_refine: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Parse one image's final maps into people.

    ``per_person_refine`` runs the official per-person refine (:func:`refine`, on the dense maps)
    instead of the batched :func:`refine_people`; the result is the same, it is kept as the
    reference the fast path is tested and benchmarked against.

    Returns (people (P, K, 3 + L) float32 in heatmap pixels, L = 2 with flip test; scores (P,)
    float32 = mean detection value over all K joints, taken before refine as the official code does).
    """
    # On the CPU only pixels above the detection threshold are tested for peaks (same people);
    # on a GPU the dense max-pool NMS is cheap.
    threshold = params.detection_threshold if maps.device.type == "cpu" else None
    tag_k, loc_k, val_k = top_k(maps, params.max_people, params.nms_kernel, threshold)
    people = match_by_tag(tag_k, loc_k, val_k, params)
    if params.adjust:
        people = adjust(people, maps)
    scores = people[:, :, 2].mean(axis=1).astype(np.float32) if len(people) else np.zeros(0, np.float32)
    if params.refine and len(people) and per_person_refine:
        heatmaps, tags = maps.dense()
        people = np.stack([refine(p, heatmaps, tags) for p in people]).astype(np.float32)
    elif params.refine and len(people):
        # Hints: the top-k peaks that passed the threshold (the others may be padding).
        hints = np.where((val_k > params.detection_threshold)[..., None], loc_k, -1)
        people = refine_people(people, maps, hints).astype(np.float32)
    return people, scores
