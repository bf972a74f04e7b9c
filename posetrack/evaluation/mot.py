"""CLEAR-MOT event accounting for one joint of one sequence, as poseval obtains it from motmetrics.

poseval feeds ``motmetrics.MOTAccumulator`` (>= 1.2) frame by frame and reads back misses, false
positives, switches, objects, detections (matches + switches) and ``events['D'].sum()``. This class
produces the same counts without pandas: the same two-phase assignment (keep last frame's pairs
whose distance is still finite, then a minimum-cost assignment of the rest), the same switch rule
(an object matched to a hypothesis other than its previous one, however long ago) and the same
distance sum. That sum is not just over matches: motmetrics' event table also holds a RAW row per
finite input distance and extra TRANSFER / ASCEND / MIGRATE rows that repeat a match's distance,
and poseval sums the whole column. See docs/evaluation.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MotCounts:
    """Totals of one accumulator (or a sum of them)."""

    objects: int = 0
    matches: int = 0
    switches: int = 0
    misses: int = 0
    false_positives: int = 0
    sum_d: float = 0.0

    @property
    def detections(self) -> int:
        return self.matches + self.switches

    def __iadd__(self, other: MotCounts) -> MotCounts:
        self.objects += other.objects
        self.matches += other.matches
        self.switches += other.switches
        self.misses += other.misses
        self.false_positives += other.false_positives
        self.sum_d += other.sum_d
        return self


_LSAP = None


def _solver():
    """scipy's ``linear_sum_assignment`` (the solver motmetrics uses), loaded on first need.

    ``import scipy.optimize`` costs ~0.35 s (it pulls in scipy.linalg, scipy.special, ...), more than
    a whole 12-sequence evaluation; the solver itself is the self-contained C extension
    ``scipy/optimize/_lsap``, which is loaded directly from its file. Same function, same ties. Any
    problem finding it falls back to the ordinary import.
    """
    global _LSAP
    if _LSAP is None:
        try:
            _LSAP = _load_lsap_extension()
        except Exception:  # noqa: BLE001  (any other scipy layout: pay for the full import)
            from scipy.optimize import linear_sum_assignment

            _LSAP = linear_sum_assignment
    return _LSAP


def _load_lsap_extension():
    import importlib.machinery
    import importlib.util
    import os
    import sys

    name = "scipy.optimize._lsap"
    if name in sys.modules:
        return sys.modules[name].linear_sum_assignment
    spec = importlib.util.find_spec("scipy")  # locates the package without importing it
    folder = os.path.join(spec.submodule_search_locations[0], "optimize")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(folder, "_lsap" + suffix)
        if os.path.isfile(path):
            loader = importlib.machinery.ExtensionFileLoader(name, path)
            module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
            loader.exec_module(module)
            return module.linear_sum_assignment
    raise ImportError("scipy/optimize/_lsap not found")


def _assign(d: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost assignment where only ``valid`` entries of ``d`` may pair.

    Forbidden pairs get a cost so large that any assignment using fewer of them is cheaper (the
    construction motmetrics uses before calling scipy); they are removed from the result. When
    every row and column has at most one allowed pair the answer is forced and no solver runs.
    """
    if valid.sum(0).max() <= 1 and valid.sum(1).max() <= 1:
        return np.nonzero(valid)
    if valid.all():
        costs = d
    else:
        c = np.abs(d[valid]).max() + 1
        costs = np.where(valid, d, 2 * min(d.shape) * c + 1)
    rows, cols = _solver()(costs)
    ok = valid[rows, cols]
    return rows[ok], cols[ok]


class JointAccumulator:
    """Frame-by-frame MOT events of one joint in one sequence."""

    def __init__(self) -> None:
        self.pair: dict[int, int] = {}  # object -> hypothesis of its latest match
        self.owner: dict[int, int] = {}  # hypothesis -> object of its latest step-2 match
        self.matched_objects: set[int] = set()
        self.matched_hyps: set[int] = set()
        self.counts = MotCounts()

    def update(self, oids, hids, dists) -> None:
        """One frame: ``dists`` is (objects, hypotheses), NaN where a pair may not match."""
        oids, hids = np.asarray(oids), np.asarray(hids)
        d = np.asarray(dists, dtype=np.float64).reshape(len(oids), len(hids))
        if len(set(oids.tolist())) < len(oids) or len(set(hids.tolist())) < len(hids):
            self._update_dense(oids, hids, d)
            return
        finite = np.isfinite(d)
        i, j = np.nonzero(finite)
        cands = list(zip(oids[i].tolist(), hids[j].tolist(), d[i, j].tolist()))
        self.update_pairs(len(oids), len(hids), float(d[finite].sum()), cands, lambda: (oids, hids, d))

    def update_pairs(self, n_obj: int, n_hyp: int, raw_sum: float, cands: list, dense) -> None:
        """One frame given only its matchable pairs (ids unique within the frame).

        ``cands``: (object id, hypothesis id, distance) for every finite distance, objects in
        frame order; ``raw_sum`` their distance sum; ``dense()`` returns the full (object ids,
        hypothesis ids, distances) for the rare frames that need a real assignment.
        """
        c = self.counts
        c.objects += n_obj
        if not cands:
            c.misses += n_obj
            c.false_positives += n_hyp
            return
        c.sum_d += raw_sum  # RAW events, one per finite distance
        pair = self.pair
        done_o: set = set()
        done_h: set = set()
        # 1. keep the previous pairing of an object when its hypothesis is here and still close
        if pair:
            for o, h, dij in cands:
                if pair.get(o) == h and o not in done_o and h not in done_h:
                    done_o.add(o)
                    done_h.add(h)
                    c.matches += 1
                    c.sum_d += dij
                    self.matched_objects.add(o)
                    self.matched_hyps.add(h)
        rest = [t for t in cands if t[0] not in done_o and t[1] not in done_h] if done_o else cands
        # 2. optimal assignment of the rest: forced when no object or hypothesis has two options
        if rest:
            os_ = {t[0] for t in rest}
            hs_ = {t[1] for t in rest}
            if len(os_) == len(rest) and len(hs_) == len(rest):
                pairs = rest
            else:
                oids, hids, d = dense()
                valid = np.isfinite(d)
                if done_o:
                    valid &= ~np.isin(oids, list(done_o))[:, None] & ~np.isin(hids, list(done_h))[None, :]
                rows, cols = _assign(d, valid)
                pairs = [(oids[r].item(), hids[k].item(), float(d[r, k])) for r, k in zip(rows, cols)]
            for o, h, dij in pairs:
                self._assigned(o, h, dij)
                done_o.add(o)
        c.misses += n_obj - len(done_o)
        c.false_positives += n_hyp - len(done_o)

    def _assigned(self, o: int, h: int, dij: float) -> None:
        """Book a step-2 assignment: a match or a switch, with motmetrics' event rows whose
        distances poseval sums into MOTP (MATCH/SWITCH, plus ASCEND, MIGRATE, TRANSFER)."""
        c = self.counts
        if o in self.pair and self.pair[o] != h:
            c.switches += 1
            if h not in self.matched_hyps:
                c.sum_d += dij  # ASCEND row
        else:
            c.matches += 1
        if h in self.owner and self.owner[h] != o:
            if o not in self.matched_objects:
                c.sum_d += dij  # MIGRATE row
            c.sum_d += dij  # TRANSFER row
        c.sum_d += dij  # the MATCH / SWITCH row itself
        self.matched_hyps.add(h)
        self.matched_objects.add(o)
        self.pair[o] = h
        self.owner[h] = o

    def _update_dense(self, oids: np.ndarray, hids: np.ndarray, dists: np.ndarray) -> None:
        """motmetrics' algorithm on the full matrix; handles repeated ids within a frame."""
        c = self.counts
        no, nh = len(oids), len(hids)
        c.objects += no
        if no == 0 or nh == 0:
            c.misses += no
            c.false_positives += nh
            return
        d = np.asarray(dists, dtype=np.float64).reshape(no, nh)
        finite = np.isfinite(d)
        if not finite.any():
            c.misses += no
            c.false_positives += nh
            return
        c.sum_d += float(d[finite].sum())  # RAW events, one per finite distance
        ol = np.asarray(oids).tolist()
        hl = np.asarray(hids).tolist()
        o_done = [False] * no
        h_done = [False] * nh
        n_done = 0
        pair = self.pair
        # 1. keep the previous pairing of an object when its hypothesis is here and still close
        if pair:
            for i, o in enumerate(ol):
                hprev = pair.get(o)
                if hprev is None:
                    continue
                j, start = -1, 0
                while True:  # the first hypothesis with that id not taken yet
                    try:
                        j = hl.index(hprev, start)
                    except ValueError:
                        j = -1
                        break
                    if not h_done[j]:
                        break
                    start = j + 1
                if j >= 0 and finite[i, j]:
                    o_done[i] = h_done[j] = True
                    n_done += 1
                    c.matches += 1
                    c.sum_d += float(d[i, j])
                    self.matched_objects.add(o)
                    self.matched_hyps.add(hprev)
        # 2. optimal assignment of the rest
        valid = finite
        if n_done:
            valid = finite & ~np.array(o_done)[:, None] & ~np.array(h_done)[None, :]
        if n_done < min(no, nh) and valid.any():
            rows, cols = _assign(d, valid)
            for i, j in zip(rows.tolist(), cols.tolist()):
                self._assigned(ol[i], hl[j], float(d[i, j]))
                n_done += 1
        c.misses += no - n_done
        c.false_positives += nh - n_done
