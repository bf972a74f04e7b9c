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

import numpy as np

from posetrack.evaluation.mot import JointAccumulator, MotCounts
from posetrack.evaluation.posetrack_io import (
    NUM_JOINTS,
    REPORT_NAMES,
    FrameAnno,
    People,
    SequenceAnno,
)

log = logging.getLogger("posetrack")

DIST_THRESHOLD = 0.5  # PCKh threshold, as a fraction of the head size
HEAD_SIZE_FACTOR = 0.6  # head size = 0.6 x head box diagonal


# ----------------------------------------------------------------------------------------------
# ignore regions


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which points lie strictly inside a polygon (even-odd rule, boundary excluded).

    Same answer as shapely's ``Polygon.contains`` (what poseval uses) for simple polygons: a point
    on an edge or a vertex is not inside. Polygons with fewer than 3 vertices contain nothing.
    """
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    if len(poly) < 3 or len(pts) == 0:
        return np.zeros(len(pts), bool)
    a = poly[None, :, :]  # (1, V, 2)
    b = np.concatenate([poly[1:], poly[:1]])[None, :, :]
    p = pts[:, None, :]  # (N, 1, 2)
    px, py = p[..., 0], p[..., 1]
    ax, ay, bx, by = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    # on an edge: collinear and within the edge's bounding box
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    within = (
        (px >= np.minimum(ax, bx)) & (px <= np.maximum(ax, bx))
        & (py >= np.minimum(ay, by)) & (py <= np.maximum(ay, by))
    )  # fmt: skip
    on_edge = ((cross == 0) & within).any(axis=1)
    # ray casting to +x
    straddle = (ay > py) != (by > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = ax + (py - ay) * (bx - ax) / (by - ay)
    crossings = (straddle & (px < x_cross)).sum(axis=1)
    return (crossings % 2 == 1) & ~on_edge


def _inside_any(points: np.ndarray, polygons: list[np.ndarray]) -> np.ndarray:
    inside = np.zeros(len(points), bool)
    for poly in polygons:
        inside |= points_in_polygon(points, poly)
    return inside


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


def remove_ignored(gt: People, pr: People, polygons: list[np.ndarray]) -> tuple[People, People]:
    """Drop GT and predicted joints inside any ignore polygon, then people left without any point.

    poseval applies this to every frame that has a non-empty ignore-region list, which also removes
    people that had no point to begin with.
    """
    pg, pp = _all_points(gt), _all_points(pr)
    inside = _inside_any(np.concatenate([pg, pp]), polygons)
    return _drop_inside(gt, inside[: len(pg)]), _drop_inside(pr, inside[len(pg):])


# ----------------------------------------------------------------------------------------------
# per-frame assignment


@dataclass
class FrameMatch:
    """What one frame contributes to AP and to MOT."""

    scores: np.ndarray  # (P, 15) predicted joint scores
    labels: np.ndarray  # (P, 15) bool: true positive
    has_pr: np.ndarray  # (P, 15) bool: joint predicted (only these enter AP)
    n_gt: np.ndarray  # (15,) annotated GT joints
    # per joint: (GT track ids, predicted track ids, distance matrix GT x pred, NaN = no match)
    mot: list[tuple[np.ndarray, np.ndarray, np.ndarray]]


_FAKE = (np.zeros(1, np.int64), np.zeros(1, np.int64), np.full((1, 1), np.nan))


def head_sizes(head: np.ndarray) -> np.ndarray:
    dx = head[:, 2] - head[:, 0]
    dy = head[:, 3] - head[:, 1]
    return HEAD_SIZE_FACTOR * np.sqrt(dx * dx + dy * dy)


def match_frame(gt: People, pr: People) -> FrameMatch:
    """PCKh distances, poseval's greedy person assignment and the per-joint MOT input of a frame."""
    has_gt, has_pr = gt.present, pr.present
    n_gt = has_gt.sum(axis=0)
    P, G = len(pr), len(gt)
    if P == 0 or G == 0:
        # poseval: with no GT every prediction is a false positive; with an empty side the MOT
        # input of every joint is one GT object and one hypothesis, both id 0, that cannot match.
        return FrameMatch(pr.scores, np.zeros((P, NUM_JOINTS), bool), has_pr, n_gt, [_FAKE] * NUM_JOINTS)
    diff = pr.xy[:, None, :, :] - gt.xy[None, :, :, :]  # (P, G, 15, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.sqrt((diff * diff).sum(-1)) / head_sizes(gt.head)[None, :, None]
    both = has_pr[:, None, :] & has_gt[None, :, :]
    dist = np.where(both, dist, np.inf)
    match = dist <= DIST_THRESHOLD  # NaN (zero head size, 0/0) never matches
    n_gtp = has_gt.sum(axis=1)
    pck = match.sum(axis=2).astype(np.float64)
    pos = n_gtp > 0
    pck[:, pos] = pck[:, pos] / n_gtp[pos]
    # each prediction keeps only its best GT; each GT then takes its best remaining prediction
    best_gt = np.argmax(pck, axis=1)
    kept = np.zeros_like(pck)
    rows = np.arange(P)
    kept[rows, best_gt] = pck[rows, best_gt]
    pr_of_gt = np.argmax(kept, axis=0)
    pr_of_gt[kept.max(axis=0) == 0] = -1
    labels = np.zeros((P, NUM_JOINTS), bool)
    g_idx = np.nonzero(pr_of_gt >= 0)[0]
    labels[pr_of_gt[g_idx]] = match[pr_of_gt[g_idx], g_idx, :]
    mot = []
    gtid, prid = gt.track_ids, pr.track_ids
    mot_d = np.where(match, dist, np.nan).transpose(2, 1, 0)  # (15, G, P)
    for j in range(NUM_JOINTS):
        gj, pj = has_gt[:, j], has_pr[:, j]
        mot.append((gtid[gj], prid[pj], mot_d[j][gj][:, pj]))
    return FrameMatch(pr.scores, labels, has_pr, n_gt, mot)


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
    return "{:>5}".format("%1.1f" % v)


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
    matches = []
    for g, p in zip(gt.frames, pr.frames):
        if not g.labeled:
            continue
        gp, pp = g.people, p.people
        if g.has_ignore:
            gp, pp = remove_ignored(gp, pp, g.ignore)
        matches.append(match_frame(gp, pp))
    return _SeqWork(gt.name, matches)


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
        for j, (oids, hids, d) in enumerate(m.mot):
            accs[j].update(oids, hids, d)
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
