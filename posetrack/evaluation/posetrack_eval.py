"""PoseTrack multi-person pose AP and per-joint MOTA/MOTP, numerically as the official toolkit.

The steps, each explained with its corner cases in docs/evaluation.md:

1. keep only ground-truth frames that list at least one person (with the prediction frame at the
   same position), then drop ignored joints (strictly inside an ignore polygon) and people left
   without any point;
2. per frame, a PCKh@0.5 distance between every predicted and GT joint (head size = 0.6 x the head
   box diagonal), a greedy person-to-person assignment by PCKh, and per joint a score/label list for
   AP and an object/hypothesis/distance triple for MOT;
3. AP per joint from the concatenated score ranking (all-point interpolation);
4. MOT events per joint and sequence (the last labeled frame of every sequence is not used), and
   MOTA / MOTP / precision / recall from the summed counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from posetrack.evaluation.mot import JointAccumulator, MotCounts
from posetrack.evaluation.posetrack_io import (
    NUM_JOINTS,
    REPORT_NAMES,
    People,
    SequenceAnno,
)

log = logging.getLogger("posetrack")

DIST_THRESHOLD = 0.5  # PCKh threshold, as a fraction of the head size
HEAD_SIZE_FACTOR = 0.6  # head size = 0.6 x head box diagonal


# ----------------------------------------------------------------------------------------------
# ignore regions


def _edge_test(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Strictly-inside test of points ``p`` (K, 1, 2) against closed rings of edges a -> b (K, E, 2).

    Even-odd ray casting to +x; a point on an edge (collinear and within the edge's box) is not
    inside. Degenerate edges (a == b) never cross and only touch their own vertex.
    """
    px, py = p[..., 0], p[..., 1]
    ax, ay, bx, by = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    within = (
        (px >= np.minimum(ax, bx)) & (px <= np.maximum(ax, bx))
        & (py >= np.minimum(ay, by)) & (py <= np.maximum(ay, by))
    )  # fmt: skip
    on_edge = ((cross == 0) & within).any(axis=1)
    straddle = (ay > py) != (by > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = ax + (py - ay) * (bx - ax) / (by - ay)
    crossings = (straddle & (px < x_cross)).sum(axis=1)
    return (crossings % 2 == 1) & ~on_edge


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which points lie strictly inside a polygon (even-odd rule, boundary excluded).

    Same answer as shapely's ``Polygon.contains`` (what poseval uses) for simple polygons: a point
    on an edge or a vertex is not inside. Polygons with fewer than 3 vertices contain nothing.
    """
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    if len(poly) < 3 or len(pts) == 0:
        return np.zeros(len(pts), bool)
    b = np.concatenate([poly[1:], poly[:1]])
    return _edge_test(pts[:, None, :], poly[None], b[None])


def inside_ignore_regions(points: list[np.ndarray], polygons: list[list[np.ndarray]]) -> list[np.ndarray]:
    """For many frames at once: which of each frame's points are inside any of its polygons.

    Rings are padded to a common length with their first vertex (degenerate edges), and every
    (point, polygon of the same frame) pair is tested in one vectorised pass.
    """
    rings, ring_frame = [], []
    for f, polys in enumerate(polygons):
        for poly in polys:
            if len(poly) >= 3:
                rings.append(np.asarray(poly, np.float64))
                ring_frame.append(f)
    counts = [len(p) for p in points]
    out = [np.zeros(c, bool) for c in counts]
    if not rings or not sum(counts):
        return out
    e = max(len(r) for r in rings)
    a = np.empty((len(rings), e, 2))
    b = np.empty((len(rings), e, 2))
    for k, r in enumerate(rings):
        v = len(r)
        a[k, :v], a[k, v:] = r, r[0]
        b[k, : v - 1], b[k, v - 1:] = r[1:], r[0]
    rings_of = [[] for _ in polygons]
    for k, f in enumerate(ring_frame):
        rings_of[f].append(k)
    pt_idx, ring_idx = [], []
    offsets = np.cumsum([0] + counts)
    for f, ks in enumerate(rings_of):
        if ks and counts[f]:
            pt_idx.append(np.repeat(np.arange(offsets[f], offsets[f + 1]), len(ks)))
            ring_idx.append(np.tile(np.asarray(ks), counts[f]))
    if not pt_idx:
        return out
    pi, ri = np.concatenate(pt_idx), np.concatenate(ring_idx)
    all_pts = np.concatenate(points)
    hit = _edge_test(all_pts[pi][:, None, :], a[ri], b[ri])
    inside = np.bincount(pi, weights=hit, minlength=len(all_pts)) > 0
    return [inside[offsets[f]: offsets[f + 1]] for f in range(len(points))]


def _all_points(people: People) -> np.ndarray:
    return np.concatenate([people.xy.reshape(-1, 2)] + [e for e in people.extra if len(e)])


def _drop_inside(people: People, inside: np.ndarray) -> People:
    """Apply an inside-mask over ``_all_points(people)``: drop those points, then empty people."""
    n = len(people)
    present = people.present & ~inside[: n * NUM_JOINTS].reshape(n, NUM_JOINTS)
    extra, off = [], n * NUM_JOINTS
    for e in people.extra:
        m = len(e)
        extra.append(e[~inside[off: off + m]] if m else e)
        off += m
    keep = present.any(axis=1) | np.array([len(e) > 0 for e in extra], bool)
    return People(people.xy, present, people.scores, people.track_ids, people.head, extra).select(keep)


# ----------------------------------------------------------------------------------------------
# per-frame assignment


@dataclass
class FrameMatch:
    """What one frame contributes to AP and to MOT."""

    scores: np.ndarray  # (P, 15) predicted joint scores
    labels: np.ndarray  # (P, 15) bool: true positive
    has_pr: np.ndarray  # (P, 15) bool: joint predicted (only these enter AP)
    n_gt: np.ndarray  # (15,) annotated GT joints
    mot: MotFrame


@dataclass
class MotFrame:
    """The MOT input of one frame for all 15 joints, kept sparse: per joint the numbers of objects
    (GT people with the joint) and hypotheses (predicted people with it) and the pairs that may
    match, with the dense matrices rebuilt only when an assignment is really needed."""

    n_obj: list[int]
    n_hyp: list[int]
    raw: list[float]  # per joint: sum of the matchable pairs' distances
    cands: list[list[tuple[int, int, float]]]  # per joint: (GT id, predicted id, distance), GT-major
    gt_ids: np.ndarray
    pr_ids: np.ndarray
    has_gt: np.ndarray
    has_pr: np.ndarray
    dist: np.ndarray | None  # (P, G, 15) distances where matched, NaN elsewhere
    unique_ids: bool

    def dense(self, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(GT ids, predicted ids, distances) of joint ``j``: motmetrics' update arguments."""
        if self.dist is None:  # an empty side: one object and one hypothesis that cannot match
            return np.zeros(1, np.int64), np.zeros(1, np.int64), np.full((1, 1), np.nan)
        gj, pj = self.has_gt[:, j], self.has_pr[:, j]
        return self.gt_ids[gj], self.pr_ids[pj], self.dist[:, :, j][pj][:, gj].T


_NO_CANDS: list = [[] for _ in range(NUM_JOINTS)]
_FAKE = MotFrame([1] * NUM_JOINTS, [1] * NUM_JOINTS, [0.0] * NUM_JOINTS, _NO_CANDS,
                 np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, NUM_JOINTS), bool),
                 np.zeros((0, NUM_JOINTS), bool), None, True)  # fmt: skip


def head_sizes(head: np.ndarray) -> np.ndarray:
    dx = head[:, 2] - head[:, 0]
    dy = head[:, 3] - head[:, 1]
    return HEAD_SIZE_FACTOR * np.sqrt(dx * dx + dy * dy)


CHUNK = 32  # frames matched together (bounded memory: CHUNK x P x G x 15 distances)


def match_frames(pairs: list[tuple[People, People]]) -> list[FrameMatch]:
    """PCKh distances, poseval's greedy person assignment and the per-joint MOT input of each frame,
    vectorised across frames (people padded)."""
    out: list[FrameMatch | None] = [None] * len(pairs)
    full = []
    for f, (gt, pr) in enumerate(pairs):
        if len(gt) == 0 or len(pr) == 0:
            # poseval: with no GT every prediction is a false positive; with an empty side the MOT
            # input of every joint is one GT object and one hypothesis, both id 0, that cannot match.
            labels = np.zeros((len(pr), NUM_JOINTS), bool)
            out[f] = FrameMatch(pr.scores, labels, pr.present, gt.present.sum(axis=0), _FAKE)
        else:
            full.append(f)
    for c in range(0, len(full), CHUNK):
        idx = full[c: c + CHUNK]
        for f, m in zip(idx, _match_chunk([pairs[f] for f in idx])):
            out[f] = m
    return out  # type: ignore[return-value]


def _match_chunk(pairs: list[tuple[People, People]]) -> list[FrameMatch]:
    n = len(pairs)
    Ps = [len(pr) for _, pr in pairs]
    Gs = [len(gt) for gt, _ in pairs]
    Pm, Gm = max(Ps), max(Gs)
    pxy = np.zeros((n, Pm, NUM_JOINTS, 2))
    gxy = np.zeros((n, Gm, NUM_JOINTS, 2))
    phas = np.zeros((n, Pm, NUM_JOINTS), bool)
    ghas = np.zeros((n, Gm, NUM_JOINTS), bool)
    ghead = np.ones((n, Gm))
    for f, (gt, pr) in enumerate(pairs):
        pxy[f, : Ps[f]] = pr.xy
        phas[f, : Ps[f]] = pr.present
        gxy[f, : Gs[f]] = gt.xy
        ghas[f, : Gs[f]] = gt.present
        ghead[f, : Gs[f]] = head_sizes(gt.head)
    diff = pxy[:, :, None] - gxy[:, None]  # (n, P, G, 15, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.sqrt((diff * diff).sum(-1)) / ghead[:, None, :, None]
    both = phas[:, :, None, :] & ghas[:, None, :, :]
    dist = np.where(both, dist, np.inf)
    match = dist <= DIST_THRESHOLD  # NaN (zero head size, 0/0) never matches
    n_gtp = ghas.sum(axis=2)  # (n, G)
    pck = match.sum(axis=3).astype(np.float64)  # (n, P, G)
    np.divide(pck, n_gtp[:, None, :], out=pck, where=n_gtp[:, None, :] > 0)
    # each prediction keeps only its best GT; each GT then takes its best remaining prediction
    best_gt = np.argmax(pck, axis=2)
    fi, pi = np.meshgrid(np.arange(n), np.arange(Pm), indexing="ij")
    kept = np.zeros_like(pck)
    kept[fi, pi, best_gt] = pck[fi, pi, best_gt]
    pr_of_gt = np.argmax(kept, axis=1)  # (n, G)
    pr_of_gt[kept.max(axis=1) == 0] = -1
    labels = np.zeros((n, Pm, NUM_JOINTS), bool)
    mf, mg = np.nonzero(pr_of_gt >= 0)
    mp = pr_of_gt[mf, mg]
    labels[mf, mp] = match[mf, mp, mg]
    # MOT input: every matchable pair, ordered by frame, joint, GT, prediction
    mot_d = np.where(match, dist, np.nan)
    ff, jj, gg, pp = np.nonzero(match.transpose(0, 3, 2, 1))
    dd = dist[ff, pp, gg, jj]
    key = ff * NUM_JOINTS + jj
    bounds = np.searchsorted(key, np.arange(n * NUM_JOINTS + 1)).tolist()
    gid = np.zeros((n, Gm), np.int64)
    pid = np.zeros((n, Pm), np.int64)
    for f, (gt, pr) in enumerate(pairs):
        gid[f, : Gs[f]] = gt.track_ids
        pid[f, : Ps[f]] = pr.track_ids
    cand_all = list(zip(gid[ff, gg].tolist(), pid[ff, pp].tolist(), dd.tolist()))
    raw = np.bincount(key, weights=dd, minlength=n * NUM_JOINTS).reshape(n, NUM_JOINTS).tolist()
    n_obj = ghas.sum(axis=1)
    n_hyp = phas.sum(axis=1).tolist()
    out = []
    for f, (gt, pr) in enumerate(pairs):
        b = bounds[f * NUM_JOINTS: (f + 1) * NUM_JOINTS + 1]
        cands = [cand_all[b[j]: b[j + 1]] for j in range(NUM_JOINTS)]
        unique = len(set(gt.track_ids.tolist())) == Gs[f] and len(set(pr.track_ids.tolist())) == Ps[f]
        mot = MotFrame(n_obj[f].tolist(), n_hyp[f], raw[f], cands, gt.track_ids, pr.track_ids, gt.present,
                       pr.present, mot_d[f, : Ps[f], : Gs[f]], unique)  # fmt: skip
        out.append(FrameMatch(pr.scores, labels[f, : Ps[f]], pr.present, n_obj[f], mot))
    return out


# ----------------------------------------------------------------------------------------------
# metrics


def average_precision(scores: np.ndarray, labels: np.ndarray, n_pos: float) -> tuple[float, float, float]:
    """AP, final precision and final recall (in %) of one joint, as poseval's computeRPC/VOCap.

    Ranking is ``argsort`` (numpy's default kind) reversed on the concatenated scores, so ties
    are ordered exactly as poseval orders them. No prediction at all gives 0, 0, 0; predictions
    without any annotated joint give NaN AP and recall (0/0).
    """
    if len(scores) == 0:
        return 0.0, 0.0, 0.0
    order = np.argsort(np.asarray(scores, np.float64))[::-1]
    tp = np.cumsum(labels[order] == 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp / np.float64(n_pos)
    precision = tp / np.arange(1, len(order) + 1, dtype=np.float64)
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    ap = np.sum((mrec[i] - mrec[i - 1]) * mpre[i])
    return float(ap * 100), float(precision[-1] * 100), float(recall[-1] * 100)


def _nanfree_mean(values: np.ndarray) -> float:
    v = values[~np.isnan(values)]
    if len(v) == 0:
        return float("nan")
    return float(v.mean())


def _with_total(per_joint: np.ndarray) -> np.ndarray:
    return np.append(per_joint, _nanfree_mean(per_joint))


def mot_metrics(counts: list[MotCounts]) -> dict[str, np.ndarray]:
    """MOTA, MOTP, precision, recall per joint (+ mean over non-NaN joints), in %."""
    mota, motp, pre, rec = (np.zeros(NUM_JOINTS) for _ in range(4))
    for j, c in enumerate(counts):
        n_obj = c.objects if c.objects > 0 else np.nan
        mota[j] = 100 * (1.0 - (c.misses + c.switches + c.false_positives) / n_obj)
        n_det = c.detections
        motp[j] = 0.0 if n_det == 0 or np.isnan(c.sum_d) else 100 * (1.0 - c.sum_d / n_det)
        total = c.false_positives + n_det
        pre[j] = 100 * (n_det / total) if total > 0 else np.nan
        rec[j] = 100 * (n_det / n_obj)
    return {"mota": _with_total(mota), "motp": _with_total(motp), "pre": _with_total(pre), "rec": _with_total(rec)}


@dataclass
class PoseTrackResult:
    """Per-joint values (poseval's joint order) plus the total at index 15, all in %."""

    ap: np.ndarray
    ap_pre: np.ndarray
    ap_rec: np.ndarray
    mota: np.ndarray
    motp: np.ndarray
    mot_pre: np.ndarray
    mot_rec: np.ndarray
    counts: list[MotCounts]
    n_frames: int = 0
    sequences: dict[str, PoseTrackResult] = field(default_factory=dict)

    def to_dict(self) -> dict:
        def lst(a):
            return [None if np.isnan(v) else float(v) for v in a]

        out = {
            "names": list(REPORT_NAMES) + ["total"],
            "ap": lst(self.ap),
            "ap_precision": lst(self.ap_pre),
            "ap_recall": lst(self.ap_rec),
            "mota": lst(self.mota),
            "motp": lst(self.motp),
            "mot_precision": lst(self.mot_pre),
            "mot_recall": lst(self.mot_rec),
            "counts": {
                k: [getattr(c, k) for c in self.counts]
                for k in ("objects", "matches", "switches", "misses", "false_positives", "sum_d")
            },
            "summary": self.summary(),
            "num_frames": self.n_frames,
        }
        if self.sequences:
            out["sequences"] = {k: v.to_dict() for k, v in self.sequences.items()}
        return out

    def summary(self) -> dict[str, float | None]:
        """The rows of the official tables: AP and MOTA per body part and in total."""
        ap, mota = group_parts(self.ap), group_parts(self.mota)
        out: dict[str, float | None] = {}
        for name, a, m in zip(PART_NAMES, ap, mota):
            out[f"ap_{name.lower()}"] = None if np.isnan(a) else a
            out[f"mota_{name.lower()}"] = None if np.isnan(m) else m
        for key, arr in (("motp", self.motp), ("mot_precision", self.mot_pre), ("mot_recall", self.mot_rec)):
            v = arr[NUM_JOINTS]
            out[f"{key}_total"] = None if np.isnan(v) else float(v)
        return out


# ----------------------------------------------------------------------------------------------
# tables


PART_NAMES = ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Total")
_PARTS = ((14, 12, 13), (8, 9), (7, 10), (6, 11), (2, 3), (1, 4), (0, 5))


def group_parts(values: np.ndarray) -> list[float]:
    """Per-joint values -> Head, Shoulder, ..., Ankle (means, NaN propagates) and the total."""
    v = np.asarray(values, np.float64)
    return [float(v[list(idx)].mean()) for idx in _PARTS] + [float(v[NUM_JOINTS])]


def _cell(v: float) -> str:
    return "{:>5}".format("%1.1f" % v)  # noqa: UP031  (poseval's own formatting)


def _row(cells: list[float]) -> str:
    return "&" + "".join(_cell(c) + " &" for c in cells[:-1]) + _cell(cells[-1]) + " \\\\"


def ap_table(result: PoseTrackResult) -> str:
    header = "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total\\\\"
    return header + "\n" + _row(group_parts(result.ap))


def mot_table(result: PoseTrackResult) -> str:
    header = (
        "& MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTA & MOTP & Prec & Rec  \\\\\n"
        "& Head & Shou & Elb  & Wri  & Hip  & Knee & Ankl & Total& Total& Total& Total\\\\"
    )
    cells = group_parts(result.mota) + [
        float(result.motp[NUM_JOINTS]), float(result.mot_pre[NUM_JOINTS]), float(result.mot_rec[NUM_JOINTS])
    ]
    return header + "\n" + _row(cells)


# ----------------------------------------------------------------------------------------------
# evaluation


@dataclass
class _SeqWork:
    name: str
    matches: list[FrameMatch]


def _prepare(gt: SequenceAnno, pr: SequenceAnno) -> _SeqWork:
    pairs = [(g.people, p.people) for g, p in zip(gt.frames, pr.frames) if g.labeled]
    regions = [g.ignore for g in gt.frames if g.labeled]
    flagged = [k for k, g in enumerate(f for f in gt.frames if f.labeled) if g.has_ignore]
    for c in range(0, len(flagged), CHUNK):  # ignore regions, many frames per vectorised pass
        ks = flagged[c: c + CHUNK]
        pts = [(_all_points(pairs[k][0]), _all_points(pairs[k][1])) for k in ks]
        inside = inside_ignore_regions([np.concatenate(pg_pp) for pg_pp in pts], [regions[k] for k in ks])
        for k, (pg, _), ins in zip(ks, pts, inside):
            gp, pp = pairs[k]
            if ins.any() or not gp.present.any(axis=1).all() or not pp.present.any(axis=1).all():
                pairs[k] = (_drop_inside(gp, ins[: len(pg)]), _drop_inside(pp, ins[len(pg):]))
    return _SeqWork(gt.name, match_frames(pairs))


def _ap_from(matches: list[FrameMatch]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ap, pre, rec = np.zeros(NUM_JOINTS), np.zeros(NUM_JOINTS), np.zeros(NUM_JOINTS)
    if matches:
        scores = np.concatenate([m.scores for m in matches])
        labels = np.concatenate([m.labels for m in matches])
        has = np.concatenate([m.has_pr for m in matches])
        n_gt = np.sum([m.n_gt for m in matches], axis=0).astype(np.float64)
        for j in range(NUM_JOINTS):
            sel = has[:, j]
            ap[j], pre[j], rec[j] = average_precision(scores[sel, j], labels[sel, j], n_gt[j])
    return _with_total(ap), _with_total(pre), _with_total(rec)


def _mot_counts(work: _SeqWork) -> list[MotCounts]:
    accs = [JointAccumulator() for _ in range(NUM_JOINTS)]
    if len(work.matches) == 1:
        log.warning(
            "%s: only one labeled frame; it is the last one, which the official toolkit leaves out "
            "of MOT (and then fails), so the sequence adds nothing to MOT", work.name
        )
    for m in work.matches[:-1]:  # poseval leaves the last labeled frame out of MOT
        f = m.mot
        for j, acc in enumerate(accs):
            if f.unique_ids:
                acc.update_pairs(f.n_obj[j], f.n_hyp[j], f.raw[j], f.cands[j], partial(f.dense, j))
            else:
                acc.update(*f.dense(j))
    return [a.counts for a in accs]


def _result(matches: list[FrameMatch], counts: list[MotCounts]) -> PoseTrackResult:
    ap, pre, rec = _ap_from(matches)
    mot = mot_metrics(counts)
    return PoseTrackResult(ap, pre, rec, mot["mota"], mot["motp"], mot["pre"], mot["rec"], counts, len(matches))


def evaluate_pairs(
    pairs: list[tuple[SequenceAnno, SequenceAnno]], per_sequence: bool = False
) -> PoseTrackResult:
    """Evaluate (ground truth, prediction) sequence pairs, in the order given."""
    works = [_prepare(g, p) for g, p in pairs]
    total = [MotCounts() for _ in range(NUM_JOINTS)]
    per_seq: dict[str, PoseTrackResult] = {}
    for w in works:
        if not w.matches:
            continue  # no labeled frame: poseval never sees this sequence
        counts = _mot_counts(w)
        for t, c in zip(total, counts):
            t += c
        if per_sequence:
            per_seq[w.name] = _result(w.matches, counts)
    all_matches = [m for w in works for m in w.matches]
    result = _result(all_matches, total)
    result.sequences = per_seq
    return result


def evaluate_dirs(gt_dir: str, pred_dir: str, per_sequence: bool = False) -> PoseTrackResult:
    """Evaluate a folder of prediction files against a folder of ground-truth files."""
    from posetrack.evaluation.posetrack_io import load_pairs

    return evaluate_pairs(load_pairs(gt_dir, pred_dir), per_sequence=per_sequence)
