"""PoseTrack AP / MOT: hand-made corner cases with hand-computed values (see docs/evaluation.md)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from posetrack.evaluation.posetrack_eval import (
    ap_table,
    average_precision,
    evaluate_dirs,
    group_parts,
    mot_table,
    points_in_polygon,
)
from tests.evaluation.builders import all_close, joint_index, person, write_pair

N = 15


def evaluate(tmp_path, gt_frames, pr_frames, ignore=None, **kw):
    gt_dir, pr_dir = write_pair(tmp_path, gt_frames, pr_frames, ignore=ignore)
    return evaluate_dirs(gt_dir, pr_dir, **kw)


def test_perfect_predictions_score_100(tmp_path):
    gt = [[person(1), person(2, shift=(300, 0))] for _ in range(4)]
    pr = [[person(11), person(12, shift=(300, 0))] for _ in range(4)]
    r = evaluate(tmp_path, gt, pr)
    for arr in (r.ap, r.ap_pre, r.ap_rec, r.mota, r.motp, r.mot_pre, r.mot_rec):
        assert all_close(arr, np.full(16, 100.0))
    assert group_parts(r.ap) == [100.0] * 8


def test_pckh_threshold_is_half_the_head_size_inclusive(tmp_path):
    # head box 30 x 40 -> diagonal 50 -> head size 0.6 * 50 = 30 px; threshold 0.5 -> 15 px
    gt = [[person(1)]]
    pr = [[person(1, joints={"right_ankle": (70 + 15, 340), "left_ankle": (130 + 15.1, 340)})]]
    r = evaluate(tmp_path, gt, pr)
    assert r.ap[joint_index("right_ankle")] == 100.0  # exactly 0.5: a match
    assert r.ap[joint_index("left_ankle")] == 0.0  # 0.503: not
    assert r.ap[N] == pytest.approx(14 * 100 / 15, abs=1e-9)


def test_zero_head_size_never_matches(tmp_path):
    r = evaluate(tmp_path, [[person(1, head=[85, 5, 0, 0])]], [[person(1)]])
    assert all_close(r.ap[:N], np.zeros(N))  # 0/0 and d/0 are never <= 0.5


def test_joint_absent_only_when_all_three_values_are_zero(tmp_path):
    # GT right_wrist at (0, 0) with visibility 1 is annotated; GT left_wrist (5, 5, 0) is too.
    # The prediction's right_wrist (0, 0, 0) is absent; its left_wrist (5, 5, 0) is present.
    gt = [[person(1, raw={"right_wrist": (0, 0, 1), "left_wrist": (5, 5, 0)})]]
    pr = [[person(1, raw={"right_wrist": (0, 0, 0), "left_wrist": (5, 5, 0)})]]
    r = evaluate(tmp_path, gt, pr)
    rw, lw = joint_index("right_wrist"), joint_index("left_wrist")
    assert r.ap[rw] == 0.0 and r.ap_rec[rw] == 0.0  # annotated, never predicted
    assert r.ap[lw] == 100.0  # predicted and matched


def test_greedy_assignment_is_not_hungarian(tmp_path):
    # P1 = A exactly (PCKh 1.0 with A). P2 has 9 joints on A and 6 on B: its best GT is A
    # (0.6 > 0.4), A prefers P1, so P2 stays unassigned and all its joints are false positives,
    # even the 6 lying exactly on B. Per joint: P1 TP (0.9), P2 FP (0.8), 2 GT -> AP 50.
    from tests.evaluation.builders import BASE

    joints = list(BASE)
    on_b = {n: (BASE[n][0] + 300, BASE[n][1]) for n in joints[9:]}  # 6 joints on B
    gt = [[person(1), person(2, shift=(300, 0))]]
    pr = [[person(11, score=0.9), person(12, joints=on_b, score=0.8)]]
    r = evaluate(tmp_path, gt, pr)
    assert all_close(r.ap, np.full(16, 50.0))
    assert all_close(r.ap_pre, np.full(16, 50.0))  # final precision 1/2
    assert all_close(r.ap_rec, np.full(16, 50.0))  # final recall 1/2


def test_score_ties_rank_the_later_prediction_first(tmp_path):
    # Two frames, one GT each. Frame 0's prediction is right, frame 1's is wrong, both score 0.5.
    # Reversed argsort puts frame 1's FP first: precision [0, 1/2], recall [0, 1/2] -> AP 25.
    gt = [[person(1)], [person(1)]]
    pr = [[person(1, score=0.5)], [person(1, shift=(200, 0), score=0.5)]]
    r = evaluate(tmp_path, gt, pr)
    assert all_close(r.ap[:N], np.full(N, 25.0))
    # with distinct scores favouring the TP the same predictions give 50
    pr = [[person(1, score=0.6)], [person(1, shift=(200, 0), score=0.5)]]
    r = evaluate(tmp_path, gt, pr)
    assert all_close(r.ap[:N], np.full(N, 50.0))


def test_average_precision_all_point_interpolation():
    # ranked labels 1, 0, 1 with 4 positives: recall .25 .25 .5, precision 1 .5 .667
    # area = .25 * 1 + .25 * 2/3
    ap, pre, rec = average_precision(np.array([0.9, 0.8, 0.7]), np.array([1, 0, 1], np.int8), 4.0)
    assert ap == pytest.approx(100 * (0.25 + 0.25 * 2 / 3), abs=1e-12)
    assert pre == pytest.approx(200 / 3) and rec == 50.0
    assert average_precision(np.zeros(0), np.zeros(0, np.int8), 3.0) == (0.0, 0.0, 0.0)


def test_points_strictly_inside_polygon():
    square = np.array([[10, 10], [50, 10], [50, 50], [10, 50]], float)
    pts = np.array([[30, 30], [10, 30], [10, 10], [50, 50], [9.99, 30], [49.99, 49.99], [60, 30]])
    assert points_in_polygon(pts, square).tolist() == [True, False, False, False, False, True, False]
    # concave "U": the notch is outside
    u = np.array([[0, 0], [30, 0], [30, 30], [20, 30], [20, 10], [10, 10], [10, 30], [0, 30]], float)
    assert points_in_polygon(np.array([[5, 20], [15, 20], [25, 20], [15, 5]]), u).tolist() == [
        True, False, True, True,
    ]
    assert not points_in_polygon(np.array([[1.0, 1.0]]), np.array([[0, 0], [5, 5]])).any()


def test_ignore_regions_remove_joints_and_people(tmp_path):
    from tests.evaluation.builders import BASE

    # Region around A's legs (y > 190, x < 200), with A's right_hip (80, 200) inside.
    region = [(0, 190), (200, 190), (200, 400), (0, 400)]
    gt = [[person(1), person(2, shift=(300, 0))], [person(1), person(2, shift=(300, 0))]]
    ghost = person(99, joints={n: (100, 300) for n in BASE})  # every joint at one point in the region
    # predictions: A perfect, B perfect, plus a ghost entirely inside the region
    pr = [[person(1), person(2, shift=(300, 0)), ghost], [person(1), person(2, shift=(300, 0))]]
    r = evaluate(tmp_path, gt, pr, ignore={0: [region], 1: [region]})
    # A's 6 leg joints are ignored in both frames; the ghost vanishes: everything is perfect
    assert all_close(r.ap, np.full(16, 100.0))
    ra = joint_index("right_ankle")
    assert r.counts[ra].objects == 1  # only B's ankle, only frame 0 (the last frame is not in MOT)
    assert r.counts[joint_index("nose")].objects == 2
    # without the region the ghost's joints are false positives
    r2 = evaluate(tmp_path / "b", gt, pr)
    assert r2.ap[ra] < 100.0


def test_person_left_without_points_is_removed_and_frame_then_counts_as_empty(tmp_path):
    # Frame 0: the only GT person lies wholly inside the region, predictions elsewhere remain.
    region = [(0, 0), (400, 0), (400, 400), (0, 400)]
    gt = [[person(1)], [person(1)], [person(1)]]
    pr = [[person(5, shift=(500, 0))], [person(1)], [person(1)]]
    r = evaluate(tmp_path, gt, pr, ignore={0: [region]})
    j = joint_index("nose")
    # frame 0: GT empty -> the prediction is an AP false positive (score .9, same as the TPs)
    # MOT frame 0: one fake object + one fake hypothesis that cannot match; frame 1: a match
    c = r.counts[j]
    assert (c.objects, c.misses, c.false_positives, c.matches) == (2, 1, 1, 1)
    assert r.mota[j] == pytest.approx(0.0)


def test_unlabeled_frames_are_skipped_with_their_predictions(tmp_path):
    gt = [[person(1)], None, [person(1)], None]
    pr = [[person(1)], [person(7, shift=(300, 0))], [person(1)], [person(8)]]
    r = evaluate(tmp_path, gt, pr)
    assert all_close(r.ap, np.full(16, 100.0))
    assert r.n_frames == 2
    assert r.counts[0].objects == 1  # two labeled frames, the last one is not in MOT


def test_last_labeled_frame_is_left_out_of_mot(tmp_path):
    gt = [[person(1)], [person(1)], [person(1)], None]
    pr = [[person(5)], [person(5)], [person(6)], []]  # id change on the last labeled frame
    r = evaluate(tmp_path, gt, pr)
    assert all_close(r.mota, np.full(16, 100.0))
    assert r.counts[0].objects == 2 and r.counts[0].switches == 0
    assert all_close(r.ap, np.full(16, 100.0))  # AP uses every labeled frame


def test_identity_switch_after_a_gap(tmp_path):
    # A always id 5. B: id 7, missed, id 8, id 8 (frame 4 is last: not in MOT)
    a, b = (lambda t: person(t)), (lambda t: person(t, shift=(300, 0)))
    gt = [[a(1), b(2)] for _ in range(5)]
    pr = [[a(5), b(7)], [a(5)], [a(5), b(8)], [a(5), b(8)], [a(5), b(8)]]
    r = evaluate(tmp_path, gt, pr)
    c = r.counts[0]
    assert (c.objects, c.misses, c.switches, c.false_positives, c.matches) == (8, 1, 1, 0, 6)
    assert all_close(r.mota, np.full(16, 75.0))  # 1 - (1 + 1 + 0) / 8
    assert all_close(r.mot_pre, np.full(16, 100.0))
    assert all_close(r.mot_rec, np.full(16, 87.5))  # 7 / 8
    assert all_close(r.motp, np.full(16, 100.0))


def test_frame_without_predictions_counts_one_miss_and_one_false_positive(tmp_path):
    three = lambda: [person(1), person(2, shift=(300, 0)), person(3, shift=(600, 0))]  # noqa: E731
    gt = [three(), three(), three()]
    pr = [three(), [], three()]
    r = evaluate(tmp_path, gt, pr)
    c = r.counts[0]
    # frame 0: 3 matches; frame 1: one fake object (miss) and one fake hypothesis (FP), not 3 misses
    assert (c.objects, c.misses, c.false_positives, c.detections) == (4, 1, 1, 3)
    assert all_close(r.mota, np.full(16, 50.0))
    assert all_close(r.mot_pre, np.full(16, 75.0)) and all_close(r.mot_rec, np.full(16, 75.0))
    assert r.ap[0] == pytest.approx(100 * 6 / 9)  # the 3 GT of frame 1 count as missed for AP


def test_motp_sums_raw_distances_too(tmp_path):
    # shift 6 px = 0.2 head sizes; two frames in MOT, one match each: motmetrics' events hold a RAW
    # row and a MATCH row per frame -> sum 0.8 over 2 detections -> MOTP 100 * (1 - 0.4) = 60
    gt = [[person(1)] for _ in range(3)]
    pr = [[person(1, shift=(6, 0))] for _ in range(3)]
    r = evaluate(tmp_path, gt, pr)
    assert r.counts[0].sum_d == pytest.approx(0.8, abs=1e-12)
    assert all_close(r.motp, np.full(16, 60.0))


def test_motp_counts_transfer_rows(tmp_path):
    # Frame 0: A-5, B-6. Frame 1: the hypotheses swap people: SWITCH + TRANSFER rows each.
    # sum D = f0 (2 RAW + 2 MATCH) + f1 (2 RAW + 2 TRANSFER + 2 SWITCH) = 10 x 0.2 = 2.0
    a = lambda t: person(t, shift=(6, 0))  # noqa: E731
    b = lambda t: person(t, shift=(306, 0))  # noqa: E731
    gt = [[person(1), person(2, shift=(300, 0))] for _ in range(3)]
    pr = [[a(5), b(6)], [a(6), b(5)], [a(6), b(5)]]
    r = evaluate(tmp_path, gt, pr)
    c = r.counts[0]
    assert (c.matches, c.switches) == (2, 2)
    assert c.sum_d == pytest.approx(2.0, abs=1e-12)
    assert all_close(r.motp, np.full(16, 50.0)) and all_close(r.mota, np.full(16, 50.0))


def test_joints_never_annotated_or_never_predicted(tmp_path):
    # right_ankle never annotated but predicted; left_ankle annotated but never predicted
    gt = [[person(1, drop=("right_ankle",))] for _ in range(3)]
    pr = [[person(1, drop=("left_ankle",))] for _ in range(3)]
    r = evaluate(tmp_path, gt, pr)
    ra, la = joint_index("right_ankle"), joint_index("left_ankle")
    assert np.isnan(r.ap[ra]) and r.ap_pre[ra] == 0.0 and np.isnan(r.ap_rec[ra])
    assert r.ap[la] == 0.0 and r.ap_pre[la] == 0.0 and r.ap_rec[la] == 0.0
    assert r.ap[N] == pytest.approx(1300 / 14)  # mean over the 14 non-NaN joints
    assert np.isnan(r.mota[ra]) and r.motp[ra] == 0.0 and r.mot_pre[ra] == 0.0 and np.isnan(r.mot_rec[ra])
    assert r.mota[la] == 0.0 and r.motp[la] == 0.0 and np.isnan(r.mot_pre[la]) and r.mot_rec[la] == 0.0
    assert r.mota[N] == pytest.approx(1300 / 14)
    table = ap_table(r).splitlines()[1]
    assert "  nan" in table  # the Ankle column is the mean of a NaN and a 0
    assert mot_table(r).count("\n") == 2
    out = r.to_dict()
    assert out["ap"][ra] is None and out["summary"]["ap_ankle"] is None
    json.dumps(out)  # NaN written as null


def test_missing_scores_use_the_fallback_score(tmp_path, caplog):
    gt = [[person(1)], [person(1)]]
    pr = [[person(1, score=None)], [person(1, shift=(200, 0), score=0.1)]]
    with caplog.at_level(logging.WARNING, logger="posetrack"):
        r = evaluate(tmp_path, gt, pr)
    # the TP has score -9999 and ranks below the FP: precision [0, 1/2], recall [0, 1/2] -> 25
    assert all_close(r.ap[:N], np.full(N, 25.0))
    assert "scores missing" in caplog.text


def test_per_sequence_results(tmp_path):
    from tests.evaluation.builders import sequence, write

    gt_dir, pr_dir = str(tmp_path / "gt"), str(tmp_path / "pr")
    for name, shift in (("000001_mpii_test", 0), ("000002_mpii_test", 200)):
        write(gt_dir, name, sequence([[person(1)]] * 3, name))
        write(pr_dir, name, sequence([[person(1, shift=(shift, 0))]] * 3, name))
    r = evaluate_dirs(gt_dir, pr_dir, per_sequence=True)
    assert r.sequences["000001_mpii_test"].ap[N] == 100.0
    assert r.sequences["000002_mpii_test"].ap[N] == 0.0
    assert r.sequences["000002_mpii_test"].mota[N] == -100.0  # 1 - (1 miss + 1 FP) / 1


def test_batched_ignore_test_equals_single_polygon_test():
    from posetrack.evaluation.posetrack_eval import inside_ignore_regions

    rng = np.random.default_rng(0)
    points, polygons = [], []
    for f in range(12):
        pts = rng.integers(0, 20, (int(rng.integers(0, 30)), 2)).astype(float)  # many on edges/vertices
        polys = [rng.integers(0, 20, (int(rng.integers(1, 8)), 2)).astype(float) for _ in range(f % 4)]
        points.append(pts)
        polygons.append(polys)
    got = inside_ignore_regions(points, polygons)
    for pts, polys, g in zip(points, polygons, got):
        want = np.zeros(len(pts), bool)
        for poly in polys:
            want |= points_in_polygon(pts, poly)
        assert g.tolist() == want.tolist()
    assert any(g.any() for g in got)
