"""The MOT accounting's assignment solver is scipy's, however it was loaded."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from posetrack.evaluation import mot


def test_directly_loaded_solver_is_scipys_and_agrees_on_ties() -> None:
    solver = mot._load_lsap_extension()
    rng = np.random.default_rng(0)
    for shape in ((3, 3), (4, 6), (7, 2)):
        costs = rng.integers(0, 3, size=shape).astype(float)  # many ties
        for a, b in zip(solver(costs), linear_sum_assignment(costs)):
            np.testing.assert_array_equal(a, b)


def test_forbidden_pairs_are_never_assigned() -> None:
    d = np.array([[0.1, 0.2], [0.3, 0.4]])
    valid = np.array([[True, True], [True, False]])
    rows, cols = mot._assign(d, valid)
    assert valid[rows, cols].all() and len(rows) == 2
