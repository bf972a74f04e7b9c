"""Reading PoseTrack files: both formats, and clear errors / warnings for bad input."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest
from click.testing import CliRunner

from posetrack.errors import FormatError, InputError
from posetrack.evaluation.posetrack_eval import evaluate_dirs
from posetrack.evaluation.posetrack_io import EVAL_JOINTS, read_sequence
from tests.evaluation.builders import BASE as JOINT_NAMES
from tests.evaluation.builders import all_close, person, sequence, write, write_pair


def _to_annolist(data: dict) -> dict:
    """Write a 2018 test sequence as a 2017 annolist file (what poseval's converter produces)."""
    names = data["categories"][0]["keypoints"]
    frames = []
    for img in data["images"]:
        rects = []
        for ann in data["annotations"]:
            if ann["image_id"] != img["id"]:
                continue
            kp = np.array(ann["keypoints"], float).reshape(-1, 3)
            pts = [
                {"id": [EVAL_JOINTS.index(n)], "x": [kp[k, 0]], "y": [kp[k, 1]], "score": [ann["scores"][k]]}
                for k, n in enumerate(names)
                if n in EVAL_JOINTS and not (kp[k] == 0).all()
            ]
            rect = {"track_id": [ann["track_id"]], "annopoints": [{"point": pts}]}
            if "bbox_head" in ann:
                x, y, w, h = ann["bbox_head"]
                rect.update(x1=[x], y1=[y], x2=[x + w], y2=[y + h])
            rects.append(rect)
        frames.append({"image": [{"name": img["file_name"]}], "annorect": rects})
    return {"annolist": frames}


def test_annolist_format_gives_the_same_numbers(tmp_path):
    gt = [[person(1), person(2, shift=(300, 0))], [person(1)], [person(1), person(2, shift=(300, 0))]]
    pr = [[person(1, shift=(5, 0), score=0.7), person(4, shift=(290, 3))], [person(2, shift=(8, 8))],
          [person(1), person(2, shift=(330, 0), score=0.3)]]  # fmt: skip
    g18, p18 = sequence(gt), sequence(pr)
    write(tmp_path / "a" / "gt", "s", g18)
    write(tmp_path / "a" / "pr", "s", p18)
    write(tmp_path / "b" / "gt", "s", _to_annolist(g18))
    write(tmp_path / "b" / "pr", "s", _to_annolist(p18))
    ra = evaluate_dirs(str(tmp_path / "a" / "gt"), str(tmp_path / "a" / "pr"))
    rb = evaluate_dirs(str(tmp_path / "b" / "gt"), str(tmp_path / "b" / "pr"))
    for x, y in ((ra.ap, rb.ap), (ra.mota, rb.mota), (ra.motp, rb.motp), (ra.mot_rec, rb.mot_rec)):
        assert all_close(x, y)
    assert 0 < ra.ap[15] < 100


def test_2018_reader_maps_joints_to_the_evaluation_order(tmp_path):
    path = write(tmp_path, "s", sequence([[person(3)], None]))
    seq = read_sequence(path, is_gt=True)
    assert len(seq.frames) == 2 and seq.frames[0].labeled and not seq.frames[1].labeled
    people = seq.frames[0].people
    assert people.track_ids.tolist() == [3]
    assert people.xy[0, EVAL_JOINTS.index("right_ankle")].tolist() == [70, 340]
    assert people.xy[0, EVAL_JOINTS.index("head_top")].tolist() == [100, 10]
    assert people.head[0].tolist() == [85, 5, 115, 45]
    assert people.present.all()


def test_missing_prediction_file(tmp_path):
    gt_dir, pr_dir = write_pair(tmp_path, [[person(1)]], [[person(1)]])
    os.remove(os.path.join(pr_dir, "000001_mpii_test.json"))
    with pytest.raises(InputError, match="000001_mpii_test.json: prediction file missing"):
        evaluate_dirs(gt_dir, pr_dir)


def test_different_frame_counts(tmp_path):
    gt_dir, pr_dir = write_pair(tmp_path, [[person(1)], [person(1)]], [[person(1)]])
    with pytest.raises(FormatError, match="1 prediction frames but 2 ground-truth frames"):
        evaluate_dirs(gt_dir, pr_dir)


def test_duplicate_track_ids_in_a_prediction_frame(tmp_path):
    gt_dir, pr_dir = write_pair(tmp_path, [[person(1)]], [[person(4), person(4, shift=(300, 0))]])
    with pytest.raises(FormatError, match="frame 0 .*duplicate track_id"):
        evaluate_dirs(gt_dir, pr_dir)


def test_duplicate_track_ids_in_ground_truth_warn(tmp_path, caplog):
    gt_dir, pr_dir = write_pair(tmp_path, [[person(1), person(1, shift=(300, 0))]], [[person(1)]])
    with caplog.at_level(logging.WARNING, logger="posetrack"):
        evaluate_dirs(gt_dir, pr_dir)
    assert "duplicate track_id in the ground truth" in caplog.text


def test_malformed_json(tmp_path):
    gt_dir, pr_dir = write_pair(tmp_path, [[person(1)]], [[person(1)]])
    with open(os.path.join(pr_dir, "000001_mpii_test.json"), "w") as f:
        f.write('{"images": [')
    with pytest.raises(FormatError, match="000001_mpii_test.json: not valid JSON"):
        evaluate_dirs(gt_dir, pr_dir)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["categories"][0]["keypoints"].__setitem__(1, "left_eye"), "keypoint 'head_bottom' not found"),
        (lambda d: d["categories"][0]["keypoints"].pop(), "expected 15 or 17 keypoint names"),
        (lambda d: d["annotations"][0].pop("track_id"), r"annotations\[0\].track_id missing"),
        (lambda d: d["annotations"][0].__setitem__("track_id", 12345), "track id 12345 >= 10000"),
        (lambda d: d["annotations"][0]["keypoints"].pop(), r"annotations\[0\].keypoints: 50 values, expected 51"),
        (lambda d: d["annotations"][0].__setitem__("scores", [0.5] * 3),
         r"annotations\[0\].scores: 3 values, expected 17"),
        (lambda d: d.pop("images"), "neither 'annolist'"),
        (lambda d: d["annotations"][0].__setitem__("track_id", "seven"), "track id must be an integer"),
        (lambda d: d["annotations"][0].__setitem__("bbox_head", [1, 2, 3]), r"bbox_head: 3 values, expected 4"),
        (lambda d: d["annotations"][0]["keypoints"].__setitem__(0, "x"), "expected a number"),
    ],
)
def test_bad_prediction_fields_are_named(tmp_path, mutate, message):
    gt_dir, pr_dir = write_pair(tmp_path, [[person(1)]], [[person(1)]])
    path = os.path.join(pr_dir, "000001_mpii_test.json")
    data = json.load(open(path))
    mutate(data)
    json.dump(data, open(path, "w"))
    with pytest.raises(FormatError, match=message) as err:
        evaluate_dirs(gt_dir, pr_dir)
    assert "000001_mpii_test.json" in str(err.value)


def test_gt_without_head_box_is_an_error(tmp_path):
    gt_dir, pr_dir = write_pair(tmp_path, [[person(1, head=None)]], [[person(1)]])
    with pytest.raises(FormatError, match="bbox_head missing"):
        evaluate_dirs(gt_dir, pr_dir)


def test_unknown_extra_keypoint_name_warns(tmp_path, caplog):
    gt_dir, pr_dir = write_pair(tmp_path, [[person(1)]], [[person(1)]])
    path = os.path.join(pr_dir, "000001_mpii_test.json")
    data = json.load(open(path))
    data["categories"][0]["keypoints"][3] = "left_eye"  # replaces left_ear: 15 names still there
    json.dump(data, open(path, "w"))
    with caplog.at_level(logging.WARNING, logger="posetrack"):
        r = evaluate_dirs(gt_dir, pr_dir)
    assert "unknown keypoint name 'left_eye'" in caplog.text
    assert r.ap[15] == 100.0


def test_frames_out_of_order_warn(tmp_path, caplog):
    gt_dir, pr_dir = write_pair(tmp_path, [[person(1)], [person(1)]], [[person(1)], [person(1)]])
    path = os.path.join(pr_dir, "000001_mpii_test.json")
    data = json.load(open(path))
    data["images"].reverse()
    json.dump(data, open(path, "w"))
    with caplog.at_level(logging.WARNING, logger="posetrack"):
        evaluate_dirs(gt_dir, pr_dir)
    assert "matched by position" in caplog.text


def test_cli_eval_posetrack(tmp_path):
    from posetrack.cli import commands  # noqa: F401
    from posetrack.cli.main import cli

    gt_dir, pr_dir = write_pair(tmp_path, [[person(1)]] * 3, [[person(1)]] * 3)
    out = tmp_path / "m.json"
    res = CliRunner().invoke(cli, ["eval", "posetrack", gt_dir, pr_dir, "--json", str(out), "--per-sequence"])
    assert res.exit_code == 0, res.output
    assert "&100.0 &100.0 &100.0 &100.0 &100.0 &100.0 &100.0 &100.0 \\\\" in res.output
    assert "Multiple Object Tracking (MOT) metrics:" in res.output
    data = json.loads(out.read_text())
    assert data["ap"][15] == 100.0 and data["mota"][15] == 100.0
    assert data["names"][12] == "neck" and "000001_mpii_test" in data["sequences"]
    os.remove(os.path.join(pr_dir, "000001_mpii_test.json"))
    res = CliRunner().invoke(cli, ["eval", "posetrack", gt_dir, pr_dir])
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1].startswith("posetrack: error:")
    assert "Traceback" not in res.output


def test_only_the_first_video_of_a_file_is_read(tmp_path, caplog):
    data = sequence([[person(1)], [person(1)], [person(1)]])
    data["images"][2]["file_name"] = "images/val/000002_mpii_test/000000.jpg"
    path = write(tmp_path, "s", data)
    with caplog.at_level(logging.WARNING, logger="posetrack"):
        seq = read_sequence(path, is_gt=True)
    assert len(seq.frames) == 2 and "only the first video" in caplog.text


def test_gt_person_without_joints_needs_no_head_box(tmp_path):
    empty = person(2, drop=tuple(JOINT_NAMES), head=None)
    gt_dir, pr_dir = write_pair(tmp_path, [[person(1), empty]] * 2, [[person(1)]] * 2)
    r = evaluate_dirs(gt_dir, pr_dir)
    assert all_close(r.ap, np.full(16, 100.0))


def test_annolist_person_without_annopoints_is_dropped_but_frame_stays_labeled(tmp_path):
    gt = {"annolist": [
        {"annorect": [{"track_id": [1], "x1": [0], "y1": [0], "x2": [10], "y2": [10]}]},
        {"annorect": []},
    ]}  # fmt: skip
    seq = read_sequence(write(tmp_path, "s", gt), is_gt=True)
    assert seq.frames[0].labeled and len(seq.frames[0].people) == 0
    assert not seq.frames[1].labeled
