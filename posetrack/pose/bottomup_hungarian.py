"""Kuhn-Munkres assignment with the tie-breaking of the ``munkres`` package (1.1.x).

The official HigherHRNet parser assigns joint candidates to people with ``munkres``. Its costs are
``100 * round(tag distance) - detection value``, so equal-cost optima are the rule rather than
the exception, and any optimal solver (scipy's included) may pick a different one and so group
people differently. This is the same textbook algorithm (star zeros, cover, prime, augment,
shift by the smallest uncovered value) with the same scan orders, so it returns the same pairs as
the package on every matrix, ties included. Matrices here are at most a few tens of rows.

Only the reduced costs and the shifts (the floating-point arithmetic that decides which entries
are zero) are numpy, with the package's operations in its order: subtract the row minimum, then
per shift add the minimum to covered rows and subtract it from uncovered columns. The search runs
on bit masks (Python ints): a mask of each row's zero columns, of each column's zero rows, of the
uncovered rows and columns, and of the rows holding a zero in an uncovered column. Between two
shifts the zeros do not change and, within a search for one augmenting path, rows only get
covered and columns only uncovered, so that last mask only grows and finding the next uncovered
zero is a few integer operations instead of a rescan of the matrix.
"""

from __future__ import annotations

import numpy as np

_BITS = np.left_shift(1, np.arange(62, dtype=np.int64))  # 1 << j, for masks of up to 62 bits


def _zero_masks(c: np.ndarray, with_cols: bool) -> tuple[list[int], list[int] | None]:
    """Bit masks of the zeros of ``c``: per row (bit j: c[i, j] == 0) and, if asked, per column
    (bit i: c[i, j] == 0)."""
    n = len(c)
    zero = c == 0
    if n <= len(_BITS):
        bits = _BITS[:n]
        return zero.dot(bits).tolist(), bits.dot(zero).tolist() if with_cols else None
    by_row, by_col = [0] * n, [0] * n
    for i, j in zip(*np.nonzero(zero)):
        by_row[i] |= 1 << int(j)
        by_col[j] |= 1 << int(i)
    return by_row, by_col if with_cols else None


def _bools(mask: int, n: int) -> np.ndarray:
    """Bits 0..n-1 of ``mask`` as a bool array."""
    if n <= len(_BITS):
        return (_BITS[:n] & mask) != 0
    return np.array([(mask >> i) & 1 for i in range(n)], dtype=bool)


def _rows_reaching(cols: int, col_zeros: list[int]) -> int:
    """Mask of the rows holding a zero in one of the columns of mask ``cols``."""
    rows = 0
    while cols:
        low = cols & -cols
        rows |= col_zeros[low.bit_length() - 1]
        cols ^= low
    return rows


def munkres_assign(cost: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-cost pairs (row, col), in row order; rectangular input is padded with zeros."""
    cost = np.asarray(cost, dtype=np.float64)
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return []
    n = max(rows, cols)
    if rows == cols:
        c = cost - cost.min(axis=1, keepdims=True)
    else:
        c = np.zeros((n, n))
        c[:rows, :cols] = cost
        c -= c.min(axis=1, keepdims=True)

    row_zeros, col_zeros = _zero_masks(c, with_cols=False)
    star_col = [-1] * n
    star_row = [-1] * n
    starred = 0  # mask of the columns holding a star
    for i in range(n):  # greedy initial stars, row-major: the first zero in a column without one
        free = row_zeros[i] & ~starred
        if free:
            j = (free & -free).bit_length() - 1
            star_col[i], star_row[j] = j, i
            starred |= 1 << j
    stars = starred.bit_count()

    full = (1 << n) - 1
    while stars < n:
        if col_zeros is None:
            col_zeros = _zero_masks(c, with_cols=True)[1]
        # Cover the columns holding a star; no row covered, no primes.
        uncov_rows = full
        uncov_cols = full & ~starred
        prime_col = [-1] * n
        reach = _rows_reaching(uncov_cols, col_zeros)  # rows with a zero in an uncovered column
        r, k = 0, 0
        while True:
            # The first uncovered row scanning from r (wrapping) that holds an uncovered zero, and
            # in it the *last* uncovered zero scanning from column k (wrapping): the package
            # keeps scanning the row after a hit.
            live = reach & uncov_rows
            if not live:
                # No uncovered zero: shift by the smallest uncovered value (add it to the covered
                # rows, then subtract it from the uncovered columns), rescan from the start.
                row_unc = _bools(uncov_rows, n)
                col_unc = _bools(uncov_cols, n)
                m = c[row_unc][:, col_unc].min()
                np.add(c, m, out=c, where=~row_unc[:, None])
                np.subtract(c, m, out=c, where=col_unc)
                row_zeros, col_zeros = _zero_masks(c, with_cols=True)
                reach = _rows_reaching(uncov_cols, col_zeros)
                r, k = 0, 0
                continue
            ahead = live >> r
            if ahead:
                r += (ahead & -ahead).bit_length() - 1
            else:
                r = (live & -live).bit_length() - 1
            free = row_zeros[r] & uncov_cols
            before = free & ((1 << k) - 1)
            k = (before or free).bit_length() - 1
            prime_col[r] = k
            s = star_col[r]
            if s >= 0:
                uncov_rows &= ~(1 << r)
                uncov_cols |= 1 << s
                reach |= col_zeros[s]
                k = s
                continue
            # Augment along the alternating prime/star path that starts at this prime: each
            # prime becomes a star, each star on the path (in a prime's column) is removed. The
            # path ends in a column without a star: it gains one.
            row, col = r, k
            while True:
                above = star_row[col]
                star_row[col], star_col[row] = row, col
                if above < 0:
                    break
                row, col = above, prime_col[above]
            starred |= 1 << col
            stars += 1
            break

    return [(i, star_col[i]) for i in range(rows) if star_col[i] < cols]
