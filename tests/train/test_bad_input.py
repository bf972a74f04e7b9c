"""Bad input ends with one line naming the problem, exit code 2, and no half-written checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import posetrack.cli.commands  # noqa: F401  (registers the subcommands)
from posetrack.cli.main import cli
from posetrack.train import checkpoint as ckpt
from tests.train.synth import write_coco, write_posetrack

TINY = ["--set", "model.name=hrnet-w8-128x96", "--set", "model.input_size=[32, 64]", "--set", "train.epochs=1",
        "--set", "data.train_split=train", "--set", "data.val_split=null", "--set", "train.workers=0",
        "--set", "train.batch_size=4", "-q"]


def run(*args):
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def one_line_error(code, out, *needles):
    lines = [x for x in out.splitlines() if x.startswith("posetrack: error:")]
    assert code == 2, out
    assert len(lines) == 1 and "Traceback" not in out, out
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    r = tmp_path_factory.mktemp("bad")
    write_coco(r, "train", 3, seed=7, width=96, height=80)
    return r


def train_args(root, out, *extra):
    return ["train", "topdown", "-c", "hrnet-w32-coco", "--data", str(root), "-o", str(out), "--from", "none",
            "--device", "cpu", *TINY, *extra]


def test_root_without_expected_files(tmp_path):
    one_line_error(*run(*train_args(tmp_path, tmp_path / "o")), "annotations/person_keypoints_train.json")
    one_line_error(*run(*train_args(tmp_path / "nope", tmp_path / "o")), "dataset root not found")
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "person_keypoints_train.json").write_text("{}")
    one_line_error(*run(*train_args(tmp_path, tmp_path / "o")), "no image folder")
    assert not (tmp_path / "o" / "last.pth").exists()


def test_annotations_not_coco(tmp_path):
    (tmp_path / "train").mkdir()
    ann = tmp_path / "annotations" / "person_keypoints_train.json"
    ann.parent.mkdir()
    ann.write_text("{not json")
    one_line_error(*run(*train_args(tmp_path, tmp_path / "o")), "not valid JSON")
    ann.write_text(json.dumps([1, 2]))
    one_line_error(*run(*train_args(tmp_path, tmp_path / "o")), "not a COCO annotation file")
    ann.write_text(json.dumps({"images": [{"id": 1, "width": 9, "height": 9}], "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "area": 25, "keypoints": [1, 2]}]}))
    one_line_error(*run(*train_args(tmp_path, tmp_path / "o")), "keypoint values, expected 51")


def test_posetrack_annotations_not_posetrack(tmp_path):
    write_posetrack(tmp_path, "train", n_sequences=1, n_frames=2)
    bad = next((tmp_path / "annotations" / "train").glob("*.json"))
    bad.write_text(json.dumps({"foo": 1}))
    args = ["train", "topdown", "-c", "hrnet-w32-posetrack18", "--data", str(tmp_path), "-o", str(tmp_path / "o"),
            "--from", "none", "--device", "cpu", *TINY, "--set", "model.name=hrnet-w8-128x96"]
    one_line_error(*run(*args), "neither 'annolist'")


def test_undecodable_image_is_skipped_or_stops(root, tmp_path):
    imgs = sorted((root / "images" / "train").glob("*.jpg"))
    broken = tmp_path / "data"
    import shutil

    shutil.copytree(root, broken)
    (broken / "images" / "train" / imgs[0].name).write_bytes(b"not a jpeg")
    code, out = run(*train_args(broken, tmp_path / "ok", "--set", "data.max_bad_images=0.5"))
    assert code == 0, out
    assert (tmp_path / "ok" / "last.pth").is_file()
    code, out = run(*train_args(broken, tmp_path / "stop", "--set", "data.max_bad_images=0"))
    one_line_error(code, out, "did not decode", imgs[0].name)
    assert not (tmp_path / "stop" / "last.pth").exists() and not (tmp_path / "stop" / "train_state.pth").exists()
    (broken / "images" / "train" / imgs[1].name).unlink()
    one_line_error(*run(*train_args(broken, tmp_path / "gone", "--set", "data.max_bad_images=0")), "missing")


def test_from_checkpoint_that_does_not_fit(root, tmp_path):
    from posetrack.pose.models import build_model

    wrong = tmp_path / "w32.pth"
    torch.save(build_model("higherhrnet-w8-128").state_dict(), wrong)
    args = train_args(root, tmp_path / "o")
    args[args.index("--from") + 1] = str(wrong)
    one_line_error(*run(*args), "does not fit", "w32.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00" * 10)
    args[args.index("--from") + 1] = str(junk)
    one_line_error(*run(*args), "not a PyTorch checkpoint")
    assert not (tmp_path / "o" / "last.pth").exists()


def test_resume_with_another_config_existing_out_and_bad_values(root, tmp_path):
    out = tmp_path / "o"
    code, text = run(*train_args(root, out))
    assert code == 0, text
    one_line_error(*run(*train_args(root, out)), "already holds a training", "--resume")
    one_line_error(*run(*train_args(root, out, "--resume", "--set", "train.lr=0.01")), "config differs", "train.lr")
    one_line_error(*run(*train_args(root, tmp_path / "new", "--resume")), "holds no training state")
    code, text = run(*train_args(root, out, "--resume", "--set", "train.epochs=2"))  # extending is allowed
    assert code == 0, text
    assert torch.load(out / "train_state.pth", weights_only=True)["epoch"] == 2
    one_line_error(*run(*train_args(root, tmp_path / "x", "--set", "train.lr=-1")), "train.lr")
    one_line_error(*run(*train_args(root, tmp_path / "x", "--set", "train.lr_steps=[5, 2]")), "lr_steps")
    one_line_error(*run(*train_args(root, tmp_path / "x", "--set", "train.bogus=1")), "unknown config key")
    one_line_error(*run("train", "bottomup", "-c", "hrnet-w32-coco", "--data", str(root), "-o", str(tmp_path / "x")),
                   "topdown config")
    one_line_error(*run("train", "topdown", "-c", "nope", "--data", str(root), "-o", str(tmp_path / "x")),
                   "unknown training config")


def test_interrupted_save_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "last.pth"
    ckpt.save_atomic({"a": torch.zeros(3)}, target)
    real_save = torch.save

    def dying(obj, f):
        real_save(obj, f)
        raise KeyboardInterrupt  # Ctrl-C after the bytes, before the rename

    monkeypatch.setattr(torch, "save", dying)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_atomic({"a": torch.ones(3)}, target)
    assert torch.equal(torch.load(target, weights_only=True)["a"], torch.zeros(3))  # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["last.pth"]


def test_concurrent_run_on_the_same_folder(root, tmp_path):
    import fcntl

    out = tmp_path / "o"
    out.mkdir()
    with open(out / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another training holds the folder
        one_line_error(*run(*train_args(root, out)), "another training")
    assert not (out / "last.pth").exists()


def test_sigterm_ends_with_one_line_and_whole_checkpoints(root, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "o"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), OMP_NUM_THREADS="1")
    args = train_args(root, out, "--set", "train.epochs=50")
    p = subprocess.Popen([sys.executable, "-m", "posetrack.cli", *args], stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 240
    while not (out / "train_state.pth").exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2, err
    assert err.strip().splitlines()[-1].startswith("posetrack: error: training interrupted")
    assert not [f for f in out.iterdir() if f.name.endswith(".part")]
    state = torch.load(out / "train_state.pth", weights_only=True)
    assert state["epoch"] >= 1
    torch.load(out / "last.pth", weights_only=True)
