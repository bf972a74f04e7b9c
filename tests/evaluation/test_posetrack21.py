"""PoseTrack21 HOTA / mAP: hand-computed cases per rule, bad input, and the CLI."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from click.testing import CliRunner

from posetrack.cli import commands  # noqa: F401  (registers the subcommands)
from posetrack.cli.main import cli
from posetrack.errors import FormatError, InputError
from posetrack.evaluation import posetrack21 as pt
from posetrack.evaluation.posetrack21_io import read_sequence
from tests.evaluation.builders import BASE, person, sequence, write

HEAD_PX = 30.0  # builders.HEAD: diagonal 50 -> head size 0.6 * 50
J = {n: i for i, n in enumerate(("nose", "head_bottom", "head_top", "left_shoulder", "right_shoulder",
                                 "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
                                 "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"))}  # fmt: skip


def pt21(frames, name="000001_mpii_test", ignore=None, labeled=None) -> dict:
    """A PoseTrack21 file: builders.sequence plus ignore-region lists on every image."""
    data = sequence(frames, name, ignore)
    for t, img in enumerate(data["images"]):
        img.setdefault("ignore_regions_x", [])
        img.setdefault("ignore_regions_y", [])
        if labeled is not None:
            img["is_labeled"] = bool(labeled[t])
    return data


def run(tmp_path, gt_frames, pr_frames, ignore=None, labeled=None, name="000001_mpii_test", **kw):
    gt_dir, pr_dir = tmp_path / "gt", tmp_path / "pr"
    write(str(gt_dir), name, pt21(gt_frames, name, ignore, labeled))
    write(str(pr_dir), name, pt21(pr_frames, name))
    return pt.evaluate_dirs(str(gt_dir), str(pr_dir), per_sequence=True, **kw)


def mean(res, field, joint=-1) -> float:
    return float(np.mean(res.hota[field][:, joint]))


def far(tid, k, dx=0.0, dy=0.0, **kw):
    """Person ``k`` of a frame: BASE shifted 400 px per person, so people never interact."""
    return person(tid, shift=(400.0 * k + dx, dy), **kw)


# ----------------------------------------------------------------------------------------------
# hand-computed cases


def test_perfect_predictions_give_100(tmp_path):
    frames = [[far(1, 0), far(2, 1)] for _ in range(3)]
    res = run(tmp_path, frames, frames)
    for f in ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr", "FragA", "RHOTA", "FA-HOTA"):
        assert np.allclose(res.hota[f], 1.0), f
    assert res.hota["HOTA(0)"][-1] == 1.0 and res.hota["LocA(0)"][-1] == 1.0
    assert res.hota["HOTA_TP"][0, -1] == 3 * 2 * 15
    assert np.allclose(res.map["ap"], 100.0) and np.allclose(res.map["ap_parts"], 100.0)


def test_one_id_switch_moves_assa_by_the_computed_amount(tmp_path):
    gt = [[far(1, 0), far(2, 1)] for _ in range(4)]
    pr = [[far(10 if t < 2 else 11, 0), far(20, 1)] for t in range(4)]
    res = run(tmp_path, gt, pr)
    # per joint: matches (A,10)=2, (A,11)=2, (B,20)=4; TP = 8; |A| = |B| = 4, |10| = |11| = 2
    # AssA = (2*2/(4+2-2) + 2*2/(4+2-2) + 4*4/(4+4-4)) / 8 = 6/8
    assert np.allclose(res.hota["AssA"], 0.75)
    assert np.allclose(res.hota["AssRe"], 0.75)  # (4/4 + 4/4 + 16/4) / 8
    assert np.allclose(res.hota["AssPr"], 1.0)  # (4/2 + 4/2 + 16/4) / 8
    assert np.allclose(res.hota["DetA"], 1.0)
    assert np.allclose(res.hota["HOTA"], np.sqrt(0.75))
    assert np.allclose(res.hota["FragA"], 0.75)  # one fragment per pair: same as AssA


def test_switching_back_breaks_fragments_but_not_assa(tmp_path):
    gt = [[far(1, 0), far(2, 1)] for _ in range(4)]
    pr = [[far(10 if t % 2 == 0 else 11, 0), far(20, 1)] for t in range(4)]
    res = run(tmp_path, gt, pr)
    assert np.allclose(res.hota["AssA"], 0.75)
    # fragments of length 1 for A: (1/4 + 1/4) per pair, twice; B: 16/4 -> (1 + 4) / 8
    assert np.allclose(res.hota["FragA"], 5 / 8)
    assert np.allclose(res.hota["FA-HOTA"], np.sqrt(np.sqrt(0.75 * 5 / 8)))


def _one_joint_off(tmp_path, d):
    """One frame, one person; the left ankle predicted d head sizes away along x."""
    x, y = BASE["left_ankle"]
    pr = [[person(1, joints={"left_ankle": (x + d * HEAD_PX, y)})]]
    return run(tmp_path, [[person(1)]], pr)


@pytest.mark.parametrize("d, counted_alphas", [(0.45, 2), (0.49, 0), (0.2, 12), (0.0, 19)])
def test_keypoint_similarity_and_the_alpha_thresholds(tmp_path, d, counted_alphas):
    res = _one_joint_off(tmp_path, d)
    j = J["left_ankle"]
    s = max(1 - d / 0.5001, 0)  # similarity; a match at alpha needs s >= alpha
    tp = res.hota["HOTA_TP"][:, j]
    assert int(tp.sum()) == counted_alphas
    assert np.isclose(res.hota["DetA"][:, j].mean(), counted_alphas / 19)
    if counted_alphas:
        assert np.isclose(res.hota["LocA"][0, j], s)
    assert np.allclose(res.hota["DetA"][:, J["nose"]], 1.0)


@pytest.mark.parametrize("d, tp", [(0.4999, True), (0.5001, False)])
def test_map_match_at_half_the_head_size(tmp_path, d, tp):
    res = _one_joint_off(tmp_path, d)
    j = J["left_ankle"]
    assert res.map["ap"][j] == (100.0 if tp else 0.0)
    assert res.map["recall"][j] == (100.0 if tp else 0.0)
    assert res.hota["HOTA_TP"][:, j].sum() == 0  # similarity below 0.05 (or 0) either way


def test_ignore_regions_remove_points_strictly_inside_only(tmp_path):
    lx, ly = BASE["left_ankle"]
    rx, ry = BASE["right_ankle"]
    # a square with the left ankle inside and the right ankle exactly on its left edge
    square = [(rx, ry - 20), (lx + 20, ry - 20), (lx + 20, ry + 20), (rx, ry + 20)]
    gt = [[person(1)]]
    # the prediction misses both ankles by far: without the region both would be FN + FP
    pr = [[person(1, joints={"left_ankle": (lx + 5, ly + 5), "right_ankle": (rx + 200, ry)})]]
    res = run(tmp_path, gt, pr, ignore={0: [square]})
    la, ra = J["left_ankle"], J["right_ankle"]
    stats_la = res.hota["HOTA_FN"][:, la].sum() + res.hota["HOTA_FP"][:, la].sum() + res.hota["HOTA_TP"][:, la].sum()
    assert stats_la == 0  # GT and prediction inside: both removed
    assert np.all(res.hota["HOTA_FN"][:, ra] == 1) and np.all(res.hota["HOTA_FP"][:, ra] == 1)  # edge: kept
    assert res.map["recall"][ra] == 0.0


def test_person_inside_an_ignore_region_is_removed(tmp_path):
    region = [(-10, -10), (250, -10), (250, 380), (-10, 380)]  # covers person slot 0 only
    gt = [[far(1, 0), far(2, 1)]]
    pr = [[far(1, 0), far(2, 1), far(7, 0, dx=5.0)]]  # a false person inside the region
    res = run(tmp_path, gt, pr, ignore={0: [region]})
    assert np.allclose(res.hota["HOTA"], 1.0)
    assert res.hota["HOTA_TP"][0, -1] == 15 and res.hota["HOTA_FP"][0, -1] == 0


def test_frame_with_gt_but_no_prediction_is_charged_the_sequence_total(tmp_path):
    gt = [[person(1)], [person(1)]]
    pr = [[person(1)], []]
    res = run(tmp_path, gt, pr)
    # the kit adds the sequence's total GT joints (2 per joint) as misses for the empty frame
    assert np.all(res.hota["HOTA_TP"][:, :15] == 1) and np.all(res.hota["HOTA_FN"][:, :15] == 2)
    assert np.allclose(res.hota["DetA"], 1 / 3) and np.allclose(res.hota["DetRe"], 1 / 3)
    assert np.allclose(res.map["recall"][:15], 50.0)  # mAP counts the frame's own joints


def test_joints_with_x_or_y_not_positive_are_absent(tmp_path):
    gt = [[person(1, joints={"left_ankle": (-3.0, 200.0), "right_ankle": (0.0, 340.0)})]]
    pr = [[person(1, joints={"left_wrist": (160.0, 0.0), "left_ankle": (130.0, 340.0)})]]
    res = run(tmp_path, gt, pr)
    la, ra, lw = J["left_ankle"], J["right_ankle"], J["left_wrist"]
    assert np.all(res.hota["HOTA_FN"][:, ra] == 0) and np.all(res.hota["HOTA_TP"][:, ra] == 0)
    assert np.all(res.hota["HOTA_FP"][:, la] == 1)  # predicted, GT absent
    assert np.all(res.hota["HOTA_FN"][:, lw] == 1) and np.all(res.hota["HOTA_FP"][:, lw] == 0)


def test_unlabeled_frames_are_not_evaluated(tmp_path):
    gt = [[person(1)], [person(1)]]
    pr = [[person(1)], [person(1, shift=(500.0, 0.0))]]
    res = run(tmp_path, gt, pr, labeled=[True, False])
    assert np.allclose(res.hota["HOTA"], 1.0)


def test_labeled_frame_without_gt_warns_and_counts_false_positives(tmp_path, caplog):
    gt = [[person(1)], []]
    pr = [[person(1)], [person(1)]]
    with caplog.at_level(logging.WARNING, logger="posetrack"):
        res = run(tmp_path, gt, pr, labeled=[True, True])
    assert "images[1]" in caplog.text and "without ground-truth people" in caplog.text
    # the frame's own predicted joints are false positives (1 per joint)
    assert np.all(res.hota["HOTA_FP"][:, :15] == 1) and np.all(res.hota["HOTA_TP"][:, :15] == 1)
    assert np.allclose(res.map["precision"][:15], 50.0)


def test_ignore_region_removing_every_gt_person_warns(tmp_path, caplog):
    big = [(-10, -10), (2000, -10), (2000, 380), (-10, 380)]
    with caplog.at_level(logging.WARNING, logger="posetrack"):
        res = run(tmp_path, [[person(1)], [person(1)]], [[person(1)], [person(1)]], ignore={1: [big]})
    assert "images[1]" in caplog.text
    assert np.allclose(res.hota["HOTA"], 1.0)  # the prediction was removed too


def test_sequence_without_predictions_pools_with_others(tmp_path, caplog):
    gt_dir, pr_dir = tmp_path / "gt", tmp_path / "pr"
    write(str(gt_dir), "a", pt21([[person(1)]], "a"))
    write(str(pr_dir), "a", pt21([[person(1)]], "a"))
    write(str(gt_dir), "b", pt21([[person(1)]], "b"))
    write(str(pr_dir), "b", pt21([[]], "b"))
    with caplog.at_level(logging.WARNING, logger="posetrack"):
        res = pt.evaluate_dirs(str(gt_dir), str(pr_dir))
    assert "no predictions" in caplog.text
    assert np.allclose(res.hota["DetA"], 0.5) and np.allclose(res.hota["AssA"], 1.0)


def test_total_column_is_a_tp_weighted_mean_of_sequence_means(tmp_path):
    """Pooling: the Total AssA is the TP-weighted mean of each sequence's joint-mean AssA."""
    gt_dir, pr_dir = tmp_path / "gt", tmp_path / "pr"
    gt = [[far(1, 0), far(2, 1)] for _ in range(4)]
    write(str(gt_dir), "a", pt21(gt, "a"))
    write(str(pr_dir), "a", pt21([[far(10 if t < 2 else 11, 0), far(20, 1)] for t in range(4)], "a"))
    # sequence b: one joint only, perfect
    one = [[person(1, drop=tuple(n for n in J if n != "nose"))]]
    write(str(gt_dir), "b", pt21(one, "b"))
    write(str(pr_dir), "b", pt21(one, "b"))
    res = pt.evaluate_dirs(str(gt_dir), str(pr_dir))
    # a: AssA 0.75 on every joint, TP 8 x 15 = 120; b: nose AssA 1 (others 0), joint mean 1/15, TP 1
    assert np.allclose(res.hota["AssA"][:, -1], (0.75 * 120 + (1 / 15) * 1) / 121)
    assert np.allclose(res.hota["AssA"][:, J["nose"]], (0.75 * 8 + 1) / 9)


def test_integer_keypoint_frames_truncate_scores(tmp_path):
    ann = person(1, score=0.9)
    ann["keypoints"] = [int(v) for v in ann["keypoints"]]
    path = write(str(tmp_path), "s", pt21([[ann]], "s"))
    seq = read_sequence(path, is_gt=False)
    assert np.all(seq.kp[:, :, 2] == 0.0)  # 0.9 cast into the kit's integer keypoint array
    path = write(str(tmp_path), "f", pt21([[person(1, score=0.9)]], "f"))
    assert np.allclose(read_sequence(path, is_gt=False).kp[:, :, 2], 0.9)


def test_parallel_sequences_give_the_same_numbers(tmp_path):
    gt_dir, pr_dir = tmp_path / "gt", tmp_path / "pr"
    rng = np.random.default_rng(1)
    for s in range(4):
        gt = [[far(1, 0), far(2, 1)] for _ in range(3)]
        pr = [[far(int(rng.integers(3, 6)), 0, *rng.normal(0, 5, 2)), far(2, 1)] for _ in range(3)]
        write(str(gt_dir), f"s{s}", pt21(gt, f"s{s}"))
        write(str(pr_dir), f"s{s}", pt21(pr, f"s{s}"))
    a = pt.evaluate_dirs(str(gt_dir), str(pr_dir), workers=1)
    b = pt.evaluate_dirs(str(gt_dir), str(pr_dir), workers=2)
    for f in pt.FLOAT_ARRAY_FIELDS:
        assert np.array_equal(a.hota[f], b.hota[f])
    assert np.array_equal(a.map["ap"], b.map["ap"])


def test_enumerated_assignment_equals_scipy():
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(0)
    for _ in range(300):
        m = rng.random((rng.integers(1, 5), rng.integers(1, 5)))
        m[rng.random(m.shape) < 0.5] = 0.0
        if rng.random() < 0.2:
            m = np.round(m * 2) / 2  # ties: the solver decides
        r, c = pt._assign(m)
        rr, cc = linear_sum_assignment(-m)
        keep = m[rr, cc] > 0
        assert sorted(zip(r.tolist(), c.tolist())) == sorted(zip(rr[keep].tolist(), cc[keep].tolist()))


# ----------------------------------------------------------------------------------------------
# bad input


def _dirs(tmp_path, gt, pr, name="000001_mpii_test"):
    gt_dir, pr_dir = tmp_path / "gt", tmp_path / "pr"
    write(str(gt_dir), name, gt)
    if pr is not None:
        write(str(pr_dir), name, pr)
    else:
        pr_dir.mkdir(exist_ok=True)
    return str(gt_dir), str(pr_dir)


def _bad(kind):
    gt = pt21([[person(1)], [person(1)]])
    pr = pt21([[person(1)], [person(1)]])
    if kind == "missing":
        return gt, None, InputError, "prediction file missing"
    if kind == "fewer_images":
        pr["images"] = pr["images"][:1]
        pr["annotations"] = pr["annotations"][:1]
        return gt, pr, FormatError, "1 images but the ground truth"
    if kind == "other_image_id":
        pr["images"][1]["id"] = 5
        pr["annotations"][1]["image_id"] = 5
        return gt, pr, FormatError, "images[1].id is 5"
    if kind == "keypoints_length":
        pr["annotations"][1]["keypoints"] = pr["annotations"][1]["keypoints"][:45]
        return gt, pr, FormatError, "annotations[1].keypoints: 45 values, expected 51"
    if kind == "duplicate_ids":
        pr = pt21([[person(1)], [person(1), person(1, shift=(300.0, 0.0))]])
        return gt, pr, FormatError, "track_id 1 appears more than once"
    if kind == "float_id":
        pr["annotations"][0]["track_id"] = 1.5
        return gt, pr, FormatError, "annotations[0].track_id: must be an integer"
    if kind == "string_id":
        pr["annotations"][1]["track_id"] = "a"
        return gt, pr, FormatError, "annotations[1].track_id: must be an integer"
    if kind == "unknown_image":
        pr["annotations"][1]["image_id"] = 123
        return gt, pr, FormatError, "annotations[1].image_id 123 is not among"
    if kind == "no_head_box":
        del gt["annotations"][0]["bbox_head"]
        return gt, pr, FormatError, "annotations[0].bbox_head missing"
    if kind == "scores_length":
        pr["annotations"][0]["scores"] = [0.5] * 15
        return gt, pr, FormatError, "annotations[0].scores: 15 values, expected 17"
    raise AssertionError(kind)


KINDS = ["missing", "fewer_images", "other_image_id", "keypoints_length", "duplicate_ids", "float_id",
         "string_id", "unknown_image", "no_head_box", "scores_length"]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_is_one_error_naming_file_and_entry(tmp_path, kind):
    gt, pr, err, message = _bad(kind)
    gt_dir, pr_dir = _dirs(tmp_path, gt, pr)
    with pytest.raises(err, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")) as e:
        pt.evaluate_dirs(gt_dir, pr_dir)
    assert "000001_mpii_test.json" in str(e.value)


@pytest.mark.parametrize("kind", ["missing", "duplicate_ids", "float_id"])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, kind):
    gt, pr, _, message = _bad(kind)
    gt_dir, pr_dir = _dirs(tmp_path, gt, pr)
    res = CliRunner().invoke(cli, ["eval", "posetrack21", gt_dir, pr_dir])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.output


def test_cli_prints_tables_and_writes_json(tmp_path):
    frames = [[far(1, 0), far(2, 1)] for _ in range(2)]
    gt_dir, pr_dir = _dirs(tmp_path, pt21(frames), pt21(frames))
    out = tmp_path / "m.json"
    res = CliRunner().invoke(cli, ["eval", "posetrack21", gt_dir, pr_dir, "--json", str(out), "--per-sequence"])
    assert res.exit_code == 0, res.output
    assert "HOTA " in res.output and "Total" in res.output and "mAP" in res.output
    assert "000001_mpii_test.json: HOTA 100.00" in res.output
    data = json.loads(out.read_text())
    assert data["summary"]["HOTA"] == 100.0 and data["summary"]["mAP"] == 100.0
    assert len(data["hota"]["HOTA"]["per_alpha"]) == 19 and len(data["hota"]["HOTA"]["mean"]) == 16
    assert data["map"]["ap_parts"]["Total"] == 100.0


# ----------------------------------------------------------------------------------------------
# the prediction writer


def test_posetrack21_writer_files_are_read_by_the_evaluation(tmp_path):
    from posetrack.keypoints import COCO17, POSETRACK17
    from posetrack.outputs import PoseTrack21JsonWriter, open_writers, output_paths
    from posetrack.types import FrameResult, Poses

    gt = pt21([[far(1, 0), far(2, 1)], [far(1, 0), far(2, 1)]])
    write(str(tmp_path / "gt"), "000001_mpii_test", gt)
    (tmp_path / "pr").mkdir()
    w = PoseTrack21JsonWriter(tmp_path / "pr" / "000001_mpii_test.json", "000001_mpii_test", POSETRACK17)
    anns = gt["annotations"]
    for t, img in enumerate(gt["images"]):
        people = [a for a in anns if a["image_id"] == img["id"]]
        kp = np.array([a["keypoints"] for a in people], np.float32).reshape(-1, 17, 3)
        kp[..., 2] = np.where(kp[..., 0] > 0, 0.8, 0.0)
        # an untracked person (-1) is not written
        kp = np.concatenate([kp, kp[:1]])
        ids = [a["track_id"] for a in people] + [-1]
        poses = Poses(kp, np.zeros((len(kp), 4)), np.ones(len(kp)), POSETRACK17, np.array(ids))
        w.add(FrameResult(t, 0.0, 640, 480, poses, name=f"{t:06d}.jpg"), image_id=img["id"],
              file_name=img["file_name"])  # fmt: skip
    w.close()
    data = json.loads((tmp_path / "pr" / "000001_mpii_test.json").read_text())
    assert len(data["annotations"]) == 4 and all(len(a["scores"]) == 17 for a in data["annotations"])
    assert all(isinstance(a["track_id"], int) and a["track_id"] >= 0 for a in data["annotations"])
    res = pt.evaluate_dirs(str(tmp_path / "gt"), str(tmp_path / "pr"))
    assert np.allclose(res.hota["HOTA"], 1.0) and res.map["ap"][-1] == 100.0
    # COCO-17 model output is converted to the PoseTrack slot order (head joints estimated)
    paths = output_paths(tmp_path / "run", "clip", ["posetrack21"], render=False)
    (tmp_path / "run").mkdir()
    (cw,) = open_writers(paths, "clip", COCO17)
    kp = np.random.default_rng(0).uniform(10, 100, (1, 17, 3)).astype(np.float32)
    cw.add(FrameResult(0, 0.0, 120, 100, Poses(kp, np.zeros((1, 4)), np.ones(1), COCO17, np.array([3]))))
    out = json.loads(cw.close().read_text())
    assert out["categories"][0]["keypoints"][1:3] == ["head_bottom", "head_top"]
    assert len(out["annotations"][0]["keypoints"]) == 51 and paths["posetrack21"].name == "clip.posetrack21.json"


def test_eval_posetrack_hota_adds_the_table_for_2018_files(tmp_path):
    from tests.evaluation.builders import write_pair

    gt = [[far(1, 0), far(2, 1)] for _ in range(4)]
    pr = [[far(10 if t < 2 else 11, 0), far(20, 1)] for t in range(4)]
    gt_dir, pr_dir = write_pair(tmp_path, gt, pr)
    out = tmp_path / "m.json"
    res = CliRunner().invoke(cli, ["eval", "posetrack", gt_dir, pr_dir, "--hota", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "Multiple Object Tracking" in res.output and "AssA" in res.output
    data = json.loads(out.read_text())
    assert data["hota_summary"]["AssA"] == pytest.approx(75.0) and "summary" in data
    assert data["hota"]["HOTA"]["mean"][-1] == pytest.approx(100 * np.sqrt(0.75))


def test_batched_inside_test_equals_the_single_polygon_test():
    from posetrack.evaluation.posetrack_eval import points_in_polygon

    rng = np.random.default_rng(3)
    polys = [[rng.uniform(0, 50, (int(rng.integers(3, 7)), 2)) for _ in range(int(rng.integers(0, 3)))]
             for _ in range(6)]  # fmt: skip
    polys[0].append(np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]))
    pts = np.concatenate([rng.uniform(0, 50, (40, 2)), [[5.0, 0.0], [10.0, 10.0], [5.0, 5.0]]])  # edge, vertex, in
    frame = np.concatenate([rng.integers(0, 6, 40), [0, 0, 0]])
    flat = [(f, poly) for f, ps in enumerate(polys) for poly in ps]
    ring_xy = np.concatenate([poly for _, poly in flat])
    ring_start = np.concatenate([[0], np.cumsum([len(poly) for _, poly in flat])])
    got = pt._inside(pts, frame, ring_xy, ring_start, np.array([f for f, _ in flat]))
    want = np.array([any(points_in_polygon(p[None], poly)[0] for poly in polys[f]) for p, f in zip(pts, frame)])
    assert np.array_equal(got, want) and got[-1] and not got[-2] and not got[-3]


def test_reading_without_orjson_gives_the_same_arrays(tmp_path, monkeypatch):
    import sys

    path = write(str(tmp_path), "s", pt21([[person(1), far(2, 1)], [person(1)]], "s"))
    a = read_sequence(path, is_gt=True)
    monkeypatch.setitem(sys.modules, "orjson", None)  # import fails: the standard reader is used
    b = read_sequence(path, is_gt=True)
    assert np.array_equal(a.kp, b.kp) and np.array_equal(a.head_size, b.head_size)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(FormatError, match="not valid JSON"):
        read_sequence(str(tmp_path / "bad.json"), is_gt=True)
