"""Kuhn-Munkres assignment with the tie-breaking of the ``munkres`` package (1.1.x).

The official HigherHRNet parser assigns joint candidates to people with ``munkres``. Its costs are
``100 * round(tag distance) - detection value``, so equal-cost optima are the rule rather than
the exception, and any optimal solver (scipy's included) may pick a different one and so group
people differently. This is the same textbook algorithm (star zeros, cover, prime, augment,
shift by the smallest uncovered value) with the same scan orders, written with numpy masks, so it
returns the same pairs as the package on every matrix, ties included. Matrices here are at most
a few tens of rows.
"""

from __future__ import annotations

import numpy as np


def _find_uncovered_zero(
    zero: np.ndarray, row_cov: np.ndarray, col_cov: np.ndarray, i0: int, j0: int
) -> tuple[int, int]:
    """First row (scanning from i0, wrapping) holding an uncovered zero, and in it the *last*
    uncovered zero scanning from j0 (wrapping): the package keeps scanning the row after a hit."""
    n = len(zero)
    free = zero & ~row_cov[:, None] & ~col_cov[None, :]
    rows = np.flatnonzero(free.any(axis=1))
    if len(rows) == 0:
        return -1, -1
    i = int(rows[np.argmin((rows - i0) % n)])
    cols = np.flatnonzero(free[i])
    j = int(cols[np.argmax((cols - j0) % n)])
    return i, j


def munkres_assign(cost: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-cost pairs (row, col), in row order; rectangular input is padded with zeros."""
    cost = np.asarray(cost, dtype=np.float64)
    rows, cols = cost.shape
    n = max(rows, cols)
    c = np.zeros((n, n))
    c[:rows, :cols] = cost
    c -= c.min(axis=1, keepdims=True)

    star = np.zeros((n, n), bool)
    used = np.zeros(n, bool)
    for i in range(n):  # greedy initial stars, row-major
        js = np.flatnonzero((c[i] == 0) & ~used)
        if len(js):
            star[i, js[0]] = True
            used[js[0]] = True

    while True:
        col_cov = star.any(axis=0)
        if col_cov.sum() >= n:
            break
        row_cov = np.zeros(n, bool)
        prime = np.zeros((n, n), bool)
        r, k = 0, 0
        while True:
            r, k = _find_uncovered_zero(c == 0, row_cov, col_cov, r, k)
            if r < 0:
                # No uncovered zero: shift by the smallest uncovered value, rescan from the start.
                m = c[~row_cov][:, ~col_cov].min()
                c[row_cov] += m
                c[:, ~col_cov] -= m
                r, k = 0, 0
                continue
            prime[r, k] = True
            starred = np.flatnonzero(star[r])
            if len(starred):
                row_cov[r] = True
                col_cov[starred[0]] = False
                k = int(starred[0])
                continue
            # Augment along the alternating prime/star path that starts at this prime.
            path = [(r, k)]
            while True:
                srows = np.flatnonzero(star[:, path[-1][1]])
                if len(srows) == 0:
                    break
                path.append((int(srows[0]), path[-1][1]))
                pcol = int(np.flatnonzero(prime[path[-1][0]])[0])
                path.append((path[-1][0], pcol))
            for pi, pj in path:
                star[pi, pj] = not star[pi, pj]
            break

    return [(int(i), int(j)) for i, j in zip(*np.nonzero(star[:rows, :cols]))]
