"""Cross-checks on random data: our MOT counts against motmetrics, and the whole evaluation against
a slow literal re-statement of the official procedure (tests/evaluation/poseval_reference.py)."""

from __future__ import annotations

import json
import os

import motmetrics as mm
import numpy as np
import pytest

from posetrack.evaluation import synthetic_dataset as sd
from posetrack.evaluation.mot import JointAccumulator
from posetrack.evaluation.posetrack_eval import evaluate_pairs
from posetrack.evaluation.posetrack_io import list_sequences, load_pairs
from tests.evaluation import poseval_reference as ref


@pytest.fixture
def scipy_solver():
    """motmetrics picks the first LAP solver installed; use scipy's, as we do, for tie cases."""
    old = mm.lap.default_solver
    mm.lap.default_solver = "scipy"
    yield
    mm.lap.default_solver = old


def _random_frames(rng, n_frames, n_ids=6, repeat_ids=False):
    # motmetrics itself fails (KeyError) when a repeated id is matched in the first frame it is
    # seen in, so with repeated ids every id is first seen alone, unmatched
    frames = [(np.arange(n_ids), np.zeros(0, int), np.zeros((n_ids, 0)))] if repeat_ids else []
    for _ in range(n_frames):
        oids = rng.choice(n_ids, rng.integers(0, n_ids + 1), replace=repeat_ids)
        hids = rng.choice(np.arange(100, 100 + n_ids + 2), rng.integers(0, n_ids + 3), replace=False)
        d = rng.uniform(0, 0.5, (len(oids), len(hids)))
        d[rng.random(d.shape) < 0.6] = np.nan
        if rng.random() < 0.2:
            d = np.round(d * 4) / 4  # ties
        frames.append((oids, hids, d))
    return frames


@pytest.mark.parametrize("seed, repeat_ids", [(s, False) for s in range(6)] + [(6, True), (7, True)])
def test_mot_counts_equal_motmetrics(seed, repeat_ids, scipy_solver):
    """Unique ids take the sparse path, repeated GT ids (seen in real ground truth) the dense one."""
    rng = np.random.default_rng(seed)
    frames = _random_frames(rng, 60, repeat_ids=repeat_ids)
    ours = JointAccumulator()
    acc = mm.MOTAccumulator(auto_id=True)
    for oids, hids, d in frames:
        ours.update(oids, hids, d)
        acc.update(oids.tolist(), hids.tolist(), d)
    names = ["num_misses", "num_switches", "num_false_positives", "num_objects", "num_detections", "num_matches"]
    m = mm.metrics.create().compute(acc, metrics=names, return_dataframe=False, name="acc")
    c = ours.counts
    assert (c.misses, c.switches, c.false_positives, c.objects, c.detections, c.matches) == tuple(
        int(m[k]) for k in names
    )
    assert c.switches > 0  # the random data does exercise switches
    assert c.sum_d == pytest.approx(acc.events["D"].sum(), abs=1e-9)


def test_whole_evaluation_equals_the_reference(tmp_path, scipy_solver):
    seqs = sd.generate_sequences(n_sequences=3, n_frames=14, n_people=4, label_every=2, seed=5)
    paths = sd.write_dataset(str(tmp_path), seqs, images=False)
    pr_dir = tmp_path / "pred"
    pr_dir.mkdir()
    for i, p in enumerate(paths):
        gt = json.load(open(p))
        pred = sd.make_predictions(gt, seed=i, noise=0.25, p_swap=0.15, p_false_person=0.3, p_miss_person=0.2)
        json.dump(pred, open(pr_dir / os.path.basename(p), "w"))
    gt_dir = str(tmp_path / "annotations" / "val")
    files = list_sequences(gt_dir)
    ours = evaluate_pairs(load_pairs(gt_dir, str(pr_dir)))
    theirs = ref.evaluate(gt_dir, str(pr_dir), files)
    for key, arr in (("ap", ours.ap), ("ap_pre", ours.ap_pre), ("ap_rec", ours.ap_rec), ("mota", ours.mota),
                     ("motp", ours.motp), ("pre", ours.mot_pre), ("rec", ours.mot_rec)):  # fmt: skip
        np.testing.assert_allclose(arr, theirs[key], rtol=0, atol=1e-9, err_msg=key)
    assert sum(c.switches for c in ours.counts) > 0
    assert 0 < ours.mota[15] < 100 and 0 < ours.ap[15] < 100
