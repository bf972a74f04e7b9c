"""Assignment of current poses to tracks from a similarity matrix: greedy or Hungarian."""

from __future__ import annotations

import numpy as np


def greedy_match(similarity: np.ndarray, threshold: float, tiebreak: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Pairs (row, col) taken in order of decreasing similarity over the whole matrix.

    A pair is taken when neither its row nor its column is taken yet and its similarity is at least
    ``threshold``. Ties are broken by ``tiebreak`` (per column, higher first; the tracker passes
    recency, so the most recently seen track wins), then by position.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.size == 0:
        return []
    rows, cols = np.nonzero(sim >= threshold)
    values = sim[rows, cols]
    tb = np.zeros(sim.shape[1]) if tiebreak is None else np.asarray(tiebreak, dtype=np.float64)
    order = np.lexsort((cols, rows, -tb[cols], -values))
    row_used = np.zeros(sim.shape[0], dtype=bool)
    col_used = np.zeros(sim.shape[1], dtype=bool)
    pairs = []
    for i in order:  # candidate pairs above threshold, at most N*M but usually few
        r, c = rows[i], cols[i]
        if not row_used[r] and not col_used[c]:
            row_used[r] = col_used[c] = True
            pairs.append((int(r), int(c)))
    return pairs


def hungarian_match(similarity: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """The assignment maximising total similarity (scipy), minus pairs below ``threshold``.

    Pairs below the threshold are set to a large cost first so they never displace a valid pair.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.size == 0:
        return []
    from scipy.optimize import linear_sum_assignment  # heavy import: only when used

    cost = np.where(sim >= threshold, -sim, 1e6)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if sim[r, c] >= threshold]


def match(
    similarity: np.ndarray, threshold: float, method: str, tiebreak: np.ndarray | None = None
) -> list[tuple[int, int]]:
    if method == "greedy":
        return greedy_match(similarity, threshold, tiebreak)
    if method == "hungarian":
        return hungarian_match(similarity, threshold)
    raise ValueError(f"unknown matching method {method!r}")
