"""PoseTrack21 pose-tracking HOTA and pose-estimation mAP, numerically as the official kit.

The official kit (anDoer/PoseTrack21, ``eval/posetrack21``: its ``HOTAeypoints`` and ``PosemAP``
metrics on its ``PoseTrack`` dataset class, built on TrackEval) loops over frames, people and
joints in Python; here every step runs on arrays for a whole sequence at once:

1. frames: the ground truth's ``is_labeled`` images, by position; ignore regions remove the
   points strictly inside them, and people left with nothing (only in frames with regions);
2. per frame and joint, head-normalised distances ``d`` and the similarity
   ``max(1 - d / 0.5001, 0)``; the kit's Hungarian assignment per joint (scipy, called only where
   the assignment is not forced) and, from the assigned pairs, TP/FN/FP, LocA, the association
   counts and the fragments for each of the 19 alpha thresholds at once;
3. AssA / AssRe / AssPr / FragA per sequence, then the kit's pooling over sequences;
4. mAP from the kit's greedy PCKh assignment and its AP (all-point interpolation).

Each rule and each corner case is written down in docs/evaluation.md ("PoseTrack21").
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np

from posetrack.errors import FormatError
from posetrack.evaluation.posetrack21_io import (
    JOINT_NAMES,
    NUM_JOINTS,
    Pt21Sequence,
    check_images,
    list_sequences,
    prediction_path,
    read_sequence,
)

log = logging.getLogger("posetrack")

ALPHAS = np.arange(0.05, 0.99, 0.05)  # the kit's 19 thresholds (0.05 ... 0.95)
NA = len(ALPHAS)
EPS = np.finfo("float").eps
SIM_SLOPE = -1 / 0.5001  # similarity = max(SIM_SLOPE * d + 1, 0): zero beyond d = 0.5001
PCKH_THRESHOLD = 0.5  # mAP: a joint matches when d <= 0.5
FLOAT_ARRAY_FIELDS = ("HOTA", "DetA", "AssA", "FragA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "RHOTA",
                      "FA-HOTA", "FA-RHOTA")  # fmt: skip
INT_ARRAY_FIELDS = ("HOTA_TP", "HOTA_FN", "HOTA_FP")
FLOAT_FIELDS = ("HOTA(0)", "LocA(0)", "HOTALocA(0)")
INT_FIELDS = ("HOTA_TP(0)", "HOTA_FN(0)", "HOTA_FP(0)")
# mAP body-part groups: the kit's joint indices, in the order it averages them
PARTS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("Head", (2, 1, 0)), ("Shou", (3, 4)), ("Elb", (5, 6)), ("Wri", (7, 8)), ("Hip", (9, 10)),
    ("Knee", (11, 12)), ("Ankl", (14, 13)),
)  # fmt: skip
CHUNK_PAIRS = 1 << 20  # person pairs x joints per vectorised chunk (bounded memory)
PARALLEL_MIN_SEQUENCES = 24  # below this, one process is faster than starting workers


# ----------------------------------------------------------------------------------------------
# per-sequence statistics


@dataclass
class SequenceStats:
    """What one sequence contributes; small, so workers can send it back."""

    name: str
    hota: dict  # the kit's per-sequence HOTAeypoints result (arrays with the Total column)
    ap_scores: list[np.ndarray]  # per joint: predicted joint scores, in the kit's order
    ap_labels: list[np.ndarray]  # per joint: 1 = true positive
    n_gt: np.ndarray  # (15,) annotated (valid) ground-truth joints
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)


def _gather(starts: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the people of ``frames`` (in order) and each one's position in ``frames``."""
    counts = starts[frames + 1] - starts[frames]
    pos = np.repeat(np.arange(len(frames)), counts)
    first = np.repeat(starts[frames] - np.cumsum(counts) + counts, counts)
    return first + np.arange(counts.sum()), pos


def _inside(points: np.ndarray, frame: np.ndarray, ring_xy: np.ndarray, ring_start: np.ndarray,
            ring_frame: np.ndarray) -> np.ndarray:
    """Which ``points`` (N, 2) lie strictly inside a ring (polygon) of their frame.

    Rings are given flat (vertices, offsets, frame of each ring). Every (point, ring of its frame)
    pair is tested in one pass with the even-odd edge test of the PoseTrack evaluation (boundary
    excluded: shapely's ``contains`` for simple polygons); rings are padded with their first vertex
    (degenerate edges cross nothing); rings of fewer than 3 points contain nothing.
    """
    from posetrack.evaluation.posetrack_eval import _edge_test

    inside = np.zeros(len(points), bool)
    lens = np.diff(ring_start)
    ok = lens >= 3
    if not ok.any() or not len(points):
        return inside
    start, lens, ring_frame = ring_start[:-1][ok], lens[ok], ring_frame[ok]
    e = np.arange(int(lens.max()))[None, :]
    v = lens[:, None]
    a = ring_xy[np.where(e < v, start[:, None] + e, start[:, None])]  # (R, E, 2)
    b = ring_xy[np.where(e < v - 1, start[:, None] + e + 1, start[:, None])]
    n_frames = int(max(frame.max(), ring_frame.max())) + 1
    order = np.argsort(frame, kind="stable")
    counts = np.bincount(frame, minlength=n_frames)
    first = np.concatenate([[0], np.cumsum(counts)])
    n_per_ring = counts[ring_frame]
    ri = np.repeat(np.arange(len(lens)), n_per_ring)
    pi = order[np.repeat(first[ring_frame] - np.cumsum(n_per_ring) + n_per_ring, n_per_ring) + np.arange(n_per_ring.sum())]
    # only points within a ring's bounding box can be strictly inside it
    lo, hi = a.min(axis=1), a.max(axis=1)  # (R, 2): a holds every vertex
    p = points[pi]
    near = ((p > lo[ri]) & (p < hi[ri])).all(axis=1)
    pi, ri = pi[near], ri[near]
    if not len(pi):
        return inside
    hit = _edge_test(points[pi][:, None, :], a[ri], b[ri])
    inside[pi[hit]] = True
    return inside


def _remove_ignored(seq: Pt21Sequence, gt: Pt21Sequence, frames: np.ndarray, idx: np.ndarray, pos: np.ndarray):
    """The kit's ignore-region step for one side: returns kept indices, their positions, keypoints."""
    kp = seq.kp[idx]
    reg = gt.has_ignore[frames]
    if not reg.any():
        return idx, pos, kp
    sel = np.nonzero(reg[pos])[0]
    if not len(sel):
        return idx, pos, kp
    pos_of_image = np.full(len(gt.has_ignore), -1)
    pos_of_image[frames] = np.arange(len(frames))
    ring_pos = pos_of_image[gt.ring_image]
    use = ring_pos >= 0  # the rings of evaluated frames
    starts, ends = gt.ring_start[:-1][use], gt.ring_start[1:][use]
    lens = ends - starts
    verts = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(lens.sum()) if len(lens) else np.zeros(0, int)
    ring_xy = gt.ring_xy[verts]
    ring_start = np.concatenate([[0], np.cumsum(lens)])
    # every slot of every person is tested, absent ones at (0, 0) too, as the kit does
    pts = kp[sel, :, :2].reshape(-1, 2)
    fr = np.repeat(pos[sel], NUM_JOINTS)
    inside = _inside(pts, fr, ring_xy, ring_start, ring_pos[ring_pos >= 0]).reshape(-1, NUM_JOINTS)
    kps = kp[sel]
    kps[inside] = 0.0  # removed joints become (0, 0, 0), their score 0
    kp[sel] = kps
    gone = inside.all(axis=1) | ((kps[:, :, 0] <= 0) & (kps[:, :, 1] <= 0)).all(axis=1)
    keep = np.ones(len(idx), bool)
    keep[sel[gone]] = False
    return idx[keep], pos[keep], kp[keep]


def _check_unique(seq: Pt21Sequence, frames: np.ndarray, pos: np.ndarray, ids: np.ndarray) -> None:
    if len(ids) < 2:
        return
    key = pos * (int(ids.max()) + 1) + ids
    u, c = np.unique(key, return_counts=True)
    if (c > 1).any():
        bad = u[np.argmax(c > 1)]
        f, tid = divmod(int(bad), int(ids.max()) + 1)
        raise FormatError(f"{seq.frame_where(int(frames[f]))}: track_id {tid} appears more than once "
                          "in the frame")  # fmt: skip


MAX_ENUMERATED_EDGES = 10  # contested positive pairs of one frame and joint solved by enumeration
UNIQUE_MARGIN = 1e-9  # the best matching must beat every other by this much to skip the solver


def _solve(sim_j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kit's ``linear_sum_assignment(-sim)`` for one frame and joint (positive pairs only)."""
    from scipy.optimize import linear_sum_assignment  # lazily: only for ties or crowds

    rows, cols = linear_sum_assignment(-sim_j)
    keep = sim_j[rows, cols] > 0
    return rows[keep], cols[keep]


def _assign(sim_j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positive pairs of the kit's ``linear_sum_assignment(-sim)`` for one frame and joint.

    Zero-similarity pairs never count, so only the matching of the positive pairs matters, and the
    solver's optimum is the maximum-weight matching of those pairs. Pairs without a rival are in it;
    the few contested ones are enumerated, and when one matching beats all others by a clear margin
    it is the solver's answer. Otherwise (ties, or too many contested pairs) scipy decides, on the
    very matrix the kit gives it, so even its choice among equal optima is the kit's.
    (:func:`_hota` does the same for all frames and joints at once.)
    """
    pos = sim_j > 0
    rn, cn = pos.sum(axis=1), pos.sum(axis=0)
    r, c = np.nonzero(pos)
    alone = (rn[r] == 1) & (cn[c] == 1)
    rest = [(int(a), int(b), float(sim_j[a, b])) for a, b in zip(r[~alone], c[~alone])]
    found = _enumerate(rest) if len(rest) <= MAX_ENUMERATED_EDGES else None
    if found is None:
        return _solve(sim_j)
    rows = np.concatenate([r[alone], np.array([rest[i][0] for i in found], np.int64)])
    cols = np.concatenate([c[alone], np.array([rest[i][1] for i in found], np.int64)])
    return rows.astype(np.int64), cols.astype(np.int64)


def _enumerate(edges: list[tuple[int, int, float]]) -> list[int] | None:
    """The edges of the unique maximum-weight matching, or None when another comes within the margin."""
    best: list = [-1.0, []]
    second = [-1.0]
    chosen: list[int] = []

    def visit(i: int, rows: frozenset, cols: frozenset, total: float) -> None:
        if i == len(edges):
            if total > best[0]:
                second[0], best[0], best[1] = best[0], total, list(chosen)
            elif total > second[0]:
                second[0] = total
            return
        visit(i + 1, rows, cols, total)
        a, b, w = edges[i]
        if a not in rows and b not in cols:
            chosen.append(i)
            visit(i + 1, rows | {a}, cols | {b}, total + w)
            chosen.pop()

    visit(0, frozenset(), frozenset(), 0.0)
    if best[0] - second[0] <= UNIQUE_MARGIN * max(1.0, best[0]):
        return None
    return best[1]


def _frame_pairs(gxy, gval, ghead, gpos, pxy, pval, ppos, L):
    """Per frame: distances, similarities and PCKh matches of every GT x prediction person pair.

    Returns, in frame order, the pair arrays (GT index, prediction index, frame) and the (pairs,
    15) distance and similarity matrices, computed in chunks of frames.
    """
    gc = np.bincount(gpos, minlength=L)
    pc = np.bincount(ppos, minlength=L)
    gstart = np.concatenate([[0], np.cumsum(gc)])
    pstart = np.concatenate([[0], np.cumsum(pc)])
    npairs = gc * pc
    # pair (g, p) of frame f: GT-major, as the kit's (G, P) matrices
    pf = np.repeat(np.arange(L), npairs)
    off = np.arange(npairs.sum()) - np.repeat(np.cumsum(npairs) - npairs, npairs)
    pcf = pc[pf]
    gi = gstart[pf] + off // np.maximum(pcf, 1)
    pi = pstart[pf] + off % np.maximum(pcf, 1)
    dist = np.empty((len(pf), NUM_JOINTS))
    step = max(1, CHUNK_PAIRS // NUM_JOINTS)
    for a in range(0, len(pf), step):
        g, p = gi[a: a + step], pi[a: a + step]
        diff = gxy[g] - pxy[p]
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.sqrt(diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1]) / ghead[g][:, None]
        dist[a: a + step] = np.where(gval[g] & pval[p], d, np.inf)
    return gi, pi, pf, dist, gc, pc


def evaluate_sequence(gt: Pt21Sequence, pr: Pt21Sequence) -> SequenceStats:
    """One sequence's HOTA result (as the kit's ``eval_sequence``) and its mAP inputs."""
    check_images(gt, pr)
    warnings: list[tuple[str, str]] = []
    frames = np.nonzero(gt.labeled)[0]
    L = len(frames)
    g_idx, g_pos = _gather(gt.starts, frames)
    p_idx, p_pos = _gather(pr.starts, frames)
    g_idx, g_pos, gkp = _remove_ignored(gt, gt, frames, g_idx, g_pos)
    p_idx, p_pos, pkp = _remove_ignored(pr, gt, frames, p_idx, p_pos)
    g_ids, p_ids = gt.track_ids[g_idx], pr.track_ids[p_idx]
    _check_unique(gt, frames, g_pos, g_ids)
    _check_unique(pr, frames, p_pos, p_ids)
    ghead = gt.head_size[g_idx]
    gval = (gkp[:, :, 0] > 0) & (gkp[:, :, 1] > 0)
    pval = (pkp[:, :, 0] > 0) & (pkp[:, :, 1] > 0)
    n_gt_joints = gval.sum(axis=0).astype(np.float64)
    n_pr_joints = pval.sum(axis=0).astype(np.float64)

    gi, pi, pf, dist, gc, pc = _frame_pairs(gkp[:, :, :2], gval, ghead, g_pos, pkp[:, :, :2], pval, p_pos, L)
    no_gt = gc == 0
    if no_gt.any():
        f = int(np.argmax(no_gt))
        msg = (f"{gt.frame_where(int(frames[f]))}: labeled frame without ground-truth people "
               f"({int(no_gt.sum())} such frame(s) in the file; the official kit fails here): "
               "its predictions are false positives")  # fmt: skip
        warnings.append(("no_gt", msg))

    # --- mAP inputs: the kit's greedy PCKh assignment -------------------------------------------
    match = dist <= PCKH_THRESHOLD  # NaN (0/0 with a zero-size head box) never matches
    n_gtp = gval.sum(axis=1)
    pck = match.sum(axis=1).astype(np.float64)
    np.divide(pck, n_gtp[gi], out=pck, where=n_gtp[gi] > 0)
    labels = _greedy_labels(gi, pi, pf, pck, match, gc, pc, len(p_idx), L)
    ap_scores = [pkp[pval[:, j], j, 2] for j in range(NUM_JOINTS)]
    ap_labels = [labels[pval[:, j], j] for j in range(NUM_JOINTS)]

    # --- HOTA -------------------------------------------------------------------------------------
    if len(p_idx) == 0 or len(g_idx) == 0:
        side = "predictions" if len(p_idx) == 0 else "ground-truth people"
        msg = (f"{gt.path}: no {side} in any labeled frame: every joint is a "
               f"{'miss' if len(p_idx) == 0 else 'false positive'} (the official kit "
               "fails to pool such a sequence with others)")  # fmt: skip
        warnings.append(("empty", msg))
        hota = _empty_result(n_gt_joints if len(p_idx) == 0 else None, n_pr_joints if len(g_idx) == 0 else None)
    else:
        gid = np.unique(g_ids, return_inverse=True)[1].reshape(-1)
        pid = np.unique(p_ids, return_inverse=True)[1].reshape(-1)
        hota = _hota(gi, pi, pf, dist, gc, pc, gval, pval, gid, pid, g_pos, p_pos, n_gt_joints, n_pr_joints, L)
    return SequenceStats(gt.name, hota, ap_scores, ap_labels, n_gt_joints, warnings)


def _greedy_labels(gi, pi, pf, pck, match, gc, pc, n_pr, L) -> np.ndarray:
    """True-positive flags (n_pr, 15) of the kit's PosemAP assignment: each prediction keeps its
    best GT (first on ties); each GT takes the first of its keepers with the highest PCKh, if > 0."""
    labels = np.zeros((n_pr, NUM_JOINTS), bool)
    if len(gi) == 0:
        return labels
    pmax = int(pc.max())
    gmax = int(gc.max())
    gstart = np.concatenate([[0], np.cumsum(gc)])
    pstart = np.concatenate([[0], np.cumsum(pc)])
    gl, pl = gi - gstart[pf], pi - pstart[pf]
    grid = np.full((L, pmax, gmax), -1.0)  # padded cells lose every argmax against a real 0
    grid[pf, pl, gl] = pck
    best_g = np.argmax(grid, axis=2)  # (L, P)
    f_i, p_i = np.meshgrid(np.arange(L), np.arange(pmax), indexing="ij")
    kept = np.zeros_like(grid)
    kept[f_i, p_i, best_g] = np.maximum(grid[f_i, p_i, best_g], 0)
    kept[grid < 0] = -1.0
    pr_of_gt = np.argmax(kept, axis=1)  # (L, G)
    ok = kept.max(axis=1) > 0
    mf, mg = np.nonzero(ok)
    mp = pr_of_gt[mf, mg]
    pair_of = np.full((L, pmax, gmax), -1, np.int64)
    pair_of[pf, pl, gl] = np.arange(len(gi))
    pairs = pair_of[mf, mp, mg]
    labels[pi[pairs]] = match[pairs]
    return labels


def _assigned_pairs(sim, gi, pi, pf, gc, pc, n_gt, n_pr) -> tuple[np.ndarray, np.ndarray]:
    """(pair, joint) indices of every positive-similarity pair the kit's per-frame, per-joint
    assignment makes (zero-similarity pairs never count, so they are left out)."""
    # --- the per-joint assignments: a positive pair without a rival (no other positive pair on its
    # GT or its prediction for that joint) is always assigned; contested pairs are resolved per
    # frame and joint (enumeration, or the kit's solver on the kit's matrix)
    pos = sim > 0
    row_key = gi[:, None] * NUM_JOINTS + np.arange(NUM_JOINTS)
    col_key = pi[:, None] * NUM_JOINTS + np.arange(NUM_JOINTS)
    row_n = np.bincount(row_key[pos], minlength=n_gt * NUM_JOINTS)
    col_n = np.bincount(col_key[pos], minlength=n_pr * NUM_JOINTS)
    contested = pos & ((row_n[row_key] > 1) | (col_n[col_key] > 1))
    sel_pair, sel_j = np.nonzero(pos & ~contested)
    if contested.any():
        cp, cj = np.nonzero(contested)
        o = np.lexsort((cp, cj, pf[cp]))
        cp, cj = cp[o], cj[o]
        group = pf[cp] * NUM_JOINTS + cj
        bounds = np.flatnonzero(np.diff(group)) + 1
        pair0 = np.concatenate([[0], np.cumsum(gc * pc)])  # first pair of each frame
        rows_l, cols_l = (gi - np.concatenate([[0], np.cumsum(gc)])[pf]), (pi - np.concatenate([[0], np.cumsum(pc)])[pf])
        starts = np.concatenate([[0], bounds])
        ends = np.append(bounds, len(cp))
        rr, cc, ww = rows_l[cp], cols_l[cp], sim[cp, cj]
        # the common case: one GT (or one prediction) with several candidates and nothing else in
        # its frame and joint; its best pair wins if it beats the runner-up by the margin
        star = (np.minimum.reduceat(rr, starts) == np.maximum.reduceat(rr, starts)) | (
            np.minimum.reduceat(cc, starts) == np.maximum.reduceat(cc, starts))
        by_w = np.lexsort((-ww, group))  # heaviest first within each group
        top, second = ww[by_w[starts]], ww[by_w[starts + 1]]
        clear = star & (top - second > UNIQUE_MARGIN * np.maximum(1.0, top))
        extra_p, extra_j = [cp[by_w[starts[clear]]]], [cj[by_w[starts[clear]]]]
        for a, b in zip(starts[~clear].tolist(), ends[~clear].tolist()):
            pairs, j = cp[a:b], int(cj[a])
            edges = list(zip(rows_l[pairs].tolist(), cols_l[pairs].tolist(), sim[pairs, j].tolist()))
            found = _enumerate(edges) if len(edges) <= MAX_ENUMERATED_EDGES else None
            if found is not None:
                extra_p.append(pairs[found])
            else:
                f = int(pf[pairs[0]])
                m = sim[pair0[f]: pair0[f + 1], j].reshape(gc[f], pc[f])
                r, c = _solve(m)
                chosen = pair0[f] + r * pc[f] + c
                extra_p.append(chosen[contested[chosen, j]])  # its uncontested pairs are taken already
            extra_j.append(np.full(len(extra_p[-1]), j))
        sel_pair = np.concatenate([sel_pair] + extra_p).astype(np.int64)
        sel_j = np.concatenate([sel_j] + extra_j).astype(np.int64)
    return sel_pair, sel_j


def _hota(gi, pi, pf, dist, gc, pc, gval, pval, gid, pid, g_pos, p_pos, n_gt_joints, n_pr_joints, L) -> dict:
    """HOTAeypoints.eval_sequence on arrays (both sides non-empty somewhere in the sequence)."""
    with np.errstate(invalid="ignore"):
        sim = np.maximum(SIM_SLOPE * dist + 1, 0)
    sim[np.isnan(sim)] = 0.0  # 0/0 distance (zero-size head box on the spot): the kit's solver fails
    sel_pair, sel_j = _assigned_pairs(sim, gi, pi, pf, gc, pc, len(gval), len(pval))
    # order: frame, joint, GT row (the kit's accumulation order)
    order = np.lexsort((gi[sel_pair], sel_j, pf[sel_pair]))
    sel_pair, sel_j = sel_pair[order], sel_j[order]
    s = sim[sel_pair, sel_j]
    k = np.searchsorted(ALPHAS - EPS, s, side="right")  # a pair counts at alphas[:k]
    mg, mp, mf = gid[gi[sel_pair]], pid[pi[sel_pair]], pf[sel_pair]

    hist = np.bincount(sel_j * (NA + 1) + k, minlength=NUM_JOINTS * (NA + 1)).reshape(NUM_JOINTS, NA + 1)
    tp = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:].T.astype(np.float64)  # (19, 15): k > a
    both = (gc > 0) & (pc > 0)
    gt_joints_both = gval[both[g_pos]].sum(axis=0)
    pr_joints_both = pval[both[p_pos]].sum(axis=0)
    # the kit charges a frame with GT but no prediction the *sequence's* GT joints (its code);
    # a frame without GT (where the kit fails) is charged its own predicted joints, as TrackEval's
    # HOTA charges its own detections
    n_no_pr = int(((gc > 0) & (pc == 0)).sum())
    pr_joints_no_gt = pval[(gc == 0)[p_pos]].sum(axis=0)
    fn = gt_joints_both[None, :] - tp + n_no_pr * n_gt_joints[None, :]
    fp = pr_joints_both[None, :] - tp + pr_joints_no_gt[None, :]
    wsum = np.bincount(sel_j * (NA + 1) + k, weights=s, minlength=NUM_JOINTS * (NA + 1)).reshape(NUM_JOINTS, NA + 1)
    loc = np.cumsum(wsum[:, ::-1], axis=1)[:, ::-1][:, 1:].T  # (19, 15): similarity sums of k > a

    # --- association: per (GT id, prediction id, joint) match counts at every alpha
    n_gid, n_pid = int(gid.max()) + 1, int(pid.max()) + 1
    joints = np.arange(NUM_JOINTS)
    gt_id_count = np.bincount((gid[:, None] * NUM_JOINTS + joints).ravel(), weights=gval.ravel(),
                              minlength=n_gid * NUM_JOINTS).reshape(n_gid, NUM_JOINTS)  # fmt: skip
    tr_id_count = np.bincount((pid[:, None] * NUM_JOINTS + joints).ravel(), weights=pval.ravel(),
                              minlength=n_pid * NUM_JOINTS).reshape(n_pid, NUM_JOINTS)  # fmt: skip
    triple = (mg * n_pid + mp) * NUM_JOINTS + sel_j
    u, inv = np.unique(triple, return_inverse=True)
    inv = inv.reshape(-1)
    uh = np.bincount(inv * (NA + 1) + k, minlength=len(u) * (NA + 1)).reshape(len(u), NA + 1)
    M = np.cumsum(uh[:, ::-1], axis=1)[:, ::-1][:, 1:].T.astype(np.float64)  # (19, U)
    ug, up, uj = u // NUM_JOINTS // n_pid, u // NUM_JOINTS % n_pid, u % NUM_JOINTS
    gcount, tcount = gt_id_count[ug, uj], tr_id_count[up, uj]
    tpa = np.maximum(1, gcount + tcount - M)
    tp_den = np.maximum(1, tp)

    key_aj = (np.arange(NA)[:, None] * NUM_JOINTS + uj[None, :]).ravel()

    def per_joint(values: np.ndarray) -> np.ndarray:  # (19, U) -> (19, 15) sums over U of each joint
        return np.bincount(key_aj, weights=values.ravel(), minlength=NA * NUM_JOINTS).reshape(NA, NUM_JOINTS)

    res: dict = {}
    res["AssA"] = per_joint(M * (M / tpa)) / tp_den
    res["AssRe"] = per_joint(M * (M / np.maximum(1, gcount))) / tp_den
    res["AssPr"] = per_joint(M * (M / np.maximum(1, tcount))) / tp_den
    # --- fragments: runs of the same prediction id along a GT id's matches (gaps do not break them)
    frag = np.zeros((NA, NUM_JOINTS))
    by_track = np.lexsort((mf, mg, sel_j))  # each GT id's matches per joint, in frame order
    kt = k[by_track]
    for a in range(NA):
        o = by_track[kt > a]
        if not len(o):
            break
        jj, gg, pp = sel_j[o], mg[o], mp[o]
        brk = np.ones(len(o), bool)
        brk[1:] = (jj[1:] != jj[:-1]) | (gg[1:] != gg[:-1]) | (pp[1:] != pp[:-1])
        starts = np.nonzero(brk)[0]
        lengths = np.diff(np.append(starts, len(o))).astype(np.float64)
        ui = inv[o[starts]]
        t = tpa[a, ui]
        frag[a] = np.bincount(jj[starts], weights=lengths * (lengths / t), minlength=NUM_JOINTS)
    res["FragA"] = frag / tp_den
    res["HOTA_TP"], res["HOTA_FN"], res["HOTA_FP"] = tp, fn, fp
    res["LocA"] = np.maximum(1e-10, loc) / np.maximum(1e-10, tp)
    return _final_fields(res, compute_avg=True)


def _empty_result(fn_joints: np.ndarray | None, fp_joints: np.ndarray | None) -> dict:
    """The kit's early return for a sequence without predictions (or without GT), completed with the
    derived fields and the Total column so it pools like any other sequence."""
    z = np.zeros((NA, NUM_JOINTS))
    res = {f: z.copy() for f in ("AssA", "AssRe", "AssPr", "FragA")}
    res["HOTA_TP"] = z.copy()
    res["HOTA_FN"] = z + (fn_joints[None, :] if fn_joints is not None else 0)
    res["HOTA_FP"] = z + (fp_joints[None, :] if fp_joints is not None else 0)
    res["LocA"] = np.ones((NA, NUM_JOINTS))
    return _final_fields(res, compute_avg=True)


def _final_fields(res: dict, compute_avg: bool) -> dict:
    """HOTAeypoints._compute_final_fields: derived fields, then (per sequence) the Total column."""
    tp, fn, fp = res["HOTA_TP"], res["HOTA_FN"], res["HOTA_FP"]
    res["DetRe"] = tp / np.maximum(1, tp + fn)
    res["DetPr"] = tp / np.maximum(1, tp + fp)
    res["DetA"] = tp / np.maximum(1, tp + fn + fp)
    res["HOTA"] = np.sqrt(res["DetA"] * res["AssA"])
    res["RHOTA"] = np.sqrt(res["DetRe"] * res["AssA"])
    res["FA-HOTA"] = np.sqrt(res["DetA"] * np.sqrt(res["AssA"] * res["FragA"]))
    res["FA-RHOTA"] = np.sqrt(res["DetRe"] * np.sqrt(res["AssA"] * res["FragA"]))
    res["HOTA(0)"] = res["HOTA"][0]
    res["LocA(0)"] = res["LocA"][0]
    res["HOTALocA(0)"] = res["HOTA(0)"] * res["LocA(0)"]
    res["HOTA_TP(0)"] = res["HOTA_TP"][0]
    res["HOTA_FN(0)"] = res["HOTA_FN"][0]
    res["HOTA_FP(0)"] = res["HOTA_FP"][0]
    if compute_avg:
        for k in FLOAT_ARRAY_FIELDS:
            res[k] = np.append(res[k], np.mean(res[k], axis=1, keepdims=True), axis=1)
        for k in INT_ARRAY_FIELDS:
            res[k] = np.append(res[k], np.sum(res[k], axis=1, keepdims=True), axis=1)
        for k in FLOAT_FIELDS:
            res[k] = np.append(res[k], np.mean(res[k], keepdims=True), axis=0)
        for k in INT_FIELDS:
            res[k] = np.append(res[k], np.sum(res[k], axis=0, keepdims=True), axis=0)
    return res


def combine_hota(seq_results: list[dict]) -> dict:
    """HOTAeypoints.combine_sequences: counts summed, association scores TP-weighted (Total column
    included: a weighted mean of each sequence's joint mean), then the derived fields."""
    res: dict = {}
    for f in INT_FIELDS + INT_ARRAY_FIELDS:
        res[f] = sum(r[f] for r in seq_results)
    den = np.maximum(1.0, res["HOTA_TP"])
    for f in ("AssRe", "AssPr", "AssA", "FragA"):
        res[f] = sum(r[f] * r["HOTA_TP"] for r in seq_results) / den
    loca = sum(r["LocA"] * r["HOTA_TP"] for r in seq_results)
    res["LocA"] = np.maximum(1e-10, loca) / np.maximum(1e-10, res["HOTA_TP"])
    return _final_fields(res, compute_avg=False)


# ----------------------------------------------------------------------------------------------
# mAP


def _ap_metrics(scores: list[np.ndarray], labels: list[np.ndarray], n_gt: np.ndarray) -> dict:
    """PosemAP.compute_metrics + get_cum_vals: per joint AP / precision / recall (with Total), and
    the body-part groups."""
    from posetrack.evaluation.posetrack_eval import average_precision

    vals = np.zeros((3, NUM_JOINTS + 1))
    for j in range(NUM_JOINTS):
        if len(scores[j]):
            vals[:, j] = average_precision(scores[j], labels[j], max(float(n_gt[j]), 1.0))
    for r in range(3):
        v = vals[r, :NUM_JOINTS]
        vals[r, NUM_JOINTS] = v[~np.isnan(v)].mean()
    out = {}
    for r, key in enumerate(("ap", "precision", "recall")):
        out[key] = vals[r]
        out[key + "_parts"] = np.array([vals[r, list(ix)].mean() for _, ix in PARTS] + [vals[r, -1]])
    return out


# ----------------------------------------------------------------------------------------------
# folders


@dataclass
class Pt21Result:
    """Combined and (optionally) per-sequence HOTA and mAP."""

    hota: dict  # field -> (19, 16) arrays / (16,) vectors; column 15 is Total
    map: dict  # ap / precision / recall: (16,) per joint + Total; *_parts: (8,) groups + Total
    n_sequences: int
    sequences: dict[str, tuple[dict, dict]] = field(default_factory=dict)  # name -> (hota, map)

    def summary(self) -> dict[str, float]:
        """The headline numbers (Total, averaged over alphas, in %)."""
        out = {f: 100 * float(np.mean(self.hota[f][:, -1])) for f in FLOAT_ARRAY_FIELDS}
        out.update({f: 100 * float(self.hota[f][-1]) for f in FLOAT_FIELDS})
        out["mAP"] = float(self.map["ap"][-1])
        return out

    def to_dict(self) -> dict:
        return {
            "joints": list(JOINT_NAMES) + ["Total"],
            "alphas": [round(float(a), 2) for a in ALPHAS],
            "summary": self.summary(),
            "hota": _hota_dict(self.hota),
            "map": _map_dict(self.map),
            "sequences": {n: {"hota": _hota_dict(h), "map": _map_dict(m)} for n, (h, m) in self.sequences.items()},
        }


def _lst(a) -> list:
    return [None if np.isnan(v) else float(v) for v in np.asarray(a, np.float64).reshape(-1)]


def _hota_dict(h: dict) -> dict:
    out = {}
    for f in FLOAT_ARRAY_FIELDS:
        out[f] = {"mean": _lst(100 * np.mean(h[f], axis=0)), "per_alpha": [_lst(100 * r) for r in h[f]]}
    for f in INT_ARRAY_FIELDS:
        out[f] = {"per_alpha": [_lst(r) for r in h[f]]}
    for f in FLOAT_FIELDS:
        out[f] = _lst(100 * h[f])
    for f in INT_FIELDS:
        out[f] = _lst(h[f])
    return out


def _map_dict(m: dict) -> dict:
    names = list(JOINT_NAMES) + ["Total"]
    parts = [p for p, _ in PARTS] + ["Total"]
    out = {}
    for key in ("ap", "precision", "recall"):
        out[key] = dict(zip(names, _lst(m[key])))
        out[key + "_parts"] = dict(zip(parts, _lst(m[key + "_parts"])))
    return out


def _eval_files(pairs: list[tuple[str, str]]) -> list[SequenceStats]:
    return [evaluate_sequence(read_sequence(g, True), read_sequence(p, False)) for g, p in pairs]


def default_workers(n_sequences: int) -> int:
    if n_sequences < PARALLEL_MIN_SEQUENCES:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, n_sequences // (PARALLEL_MIN_SEQUENCES // 2)))


def evaluate_files(pairs: list[tuple[str, str]], workers: int | None = None) -> list[SequenceStats]:
    """Evaluate (GT file, prediction file) pairs; with ``workers`` > 1 sequences run in processes."""
    if workers is None:
        workers = default_workers(len(pairs))
    if workers <= 1 or len(pairs) < 2:
        return _eval_files(pairs)
    import multiprocessing as mp

    chunks = [pairs[i::workers] for i in range(workers)]
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ctx.Pool(workers) as pool:
        parts = pool.map(_eval_files, chunks)
    by_name = {s.name: s for part in parts for s in part}
    return [by_name[os.path.basename(g)] for g, _ in pairs]


def combine(stats: list[SequenceStats], per_sequence: bool = False) -> Pt21Result:
    """Pool sequences (in the order given: the kit's is sorted by file name) and log warnings once."""
    seen: dict[str, int] = {}
    for s in stats:
        for kind, msg in s.warnings:
            if kind not in seen:
                log.warning(msg)
            seen[kind] = seen.get(kind, 0) + 1
    for kind, n in seen.items():
        if n > 1:
            log.warning("(%d sequences had the same %s problem)", n, "empty-frame" if kind == "no_gt" else kind)
    hota = combine_hota([s.hota for s in stats])
    scores = [np.concatenate([s.ap_scores[j] for s in stats]) for j in range(NUM_JOINTS)]
    labels = [np.concatenate([s.ap_labels[j] for s in stats]) for j in range(NUM_JOINTS)]
    n_gt = sum(s.n_gt for s in stats)
    result = Pt21Result(hota, _ap_metrics(scores, labels, n_gt), len(stats))
    if per_sequence:
        result.sequences = {s.name: (s.hota, _ap_metrics(s.ap_scores, s.ap_labels, s.n_gt)) for s in stats}
    return result


def evaluate_dirs(gt_dir: str, pred_dir: str, per_sequence: bool = False, workers: int | None = None) -> Pt21Result:
    """Every ``*.json`` of ``gt_dir`` against the file of the same name in ``pred_dir``."""
    gts = list_sequences(gt_dir)
    pairs = [(g, prediction_path(g, pred_dir)) for g in gts]
    return combine(evaluate_files(pairs, workers), per_sequence)


# ----------------------------------------------------------------------------------------------
# tables


TABLE_FIELDS = FLOAT_ARRAY_FIELDS + FLOAT_FIELDS


def hota_table(hota: dict) -> str:
    """Metrics x joints (+ Total), in %, averaged over the alphas (the kit's summary table)."""
    head = f"{'':<12}" + "".join(f"{n:>7}" for n in JOINT_NAMES + ("Total",))
    rows = [head]
    for f in TABLE_FIELDS:
        v = np.mean(hota[f], axis=0) if f in FLOAT_ARRAY_FIELDS else hota[f]
        rows.append(f"{f:<12}" + "".join(f"{100 * x:>7.2f}" for x in v))
    return "\n".join(rows)


def map_table(m: dict) -> str:
    """The kit's paper summary: mAP, precision and recall per body part and in total."""
    parts = [p for p, _ in PARTS] + ["Total"]
    rows = []
    for key, title in (("ap", "mAP"), ("precision", "precision"), ("recall", "recall")):
        rows.append(f"{title:<10}" + "".join(f"{p:>7}" for p in parts))
        rows.append(f"{'':<10}" + "".join(f"{v:>7.1f}" for v in m[key + "_parts"]))
    return "\n".join(rows)
