"""The training loop on tiny synthetic datasets: learning, checkpoints, exact resume, DDP, CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from posetrack.train.config import load_train_config
from posetrack.train.engine import build_data, build_network, train
from posetrack.train.validate import validate
from tests.train.synth import write_coco

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "model.name": "hrnet-w8-128x96", "model.input_size": [32, 64], "data.train_split": "train",
    "data.val_split": "val", "train.batch_size": 4, "train.workers": 0, "train.progress": False,
    "train.lr_steps": [100], "train.val_interval": 100,
}


@pytest.fixture(scope="module")
def coco_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("coco")
    write_coco(root, "train", 8, seed=1, width=96, height=80)
    write_coco(root, "val", 8, seed=1, width=96, height=80, layout="flat")  # the training images, val/ layout
    return root


def tiny_config(**extra):
    return load_train_config("hrnet-w32-coco", {**TINY, **extra})


def test_loss_falls_and_ap_rises_above_untrained(coco_root, tmp_path):
    torch.manual_seed(0)
    cfg = tiny_config(**{"train.epochs": 10, "train.lr": 0.005, "augment.rotation_prob": 0.0,
                         "augment.half_body_prob": 0.0, "augment.scale_factor": 0.1})
    model, spec = build_network("hrnet-w8-128x96", None)
    spec = spec.with_input_size((32, 64))
    data = build_data(cfg, coco_root, spec, 17)
    untrained = validate(model, spec, data.layout, cfg.val, data.val, "cpu")["AP"]
    result = train(cfg, coco_root, tmp_path / "out", init="none")
    losses = [e.loss for e in result.epochs]
    assert losses[-1] < 0.2 * losses[0]
    ap = result.epochs[-1].val["AP"]
    assert ap > 0.25 and ap > untrained + 0.2, (untrained, ap)
    out = tmp_path / "out"
    lines = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == list(range(1, 11)) and lines[-1]["val"]["AP"] == pytest.approx(ap)
    for name in ("last.pth", "best.pth"):
        sd = torch.load(out / name, weights_only=True)
        assert all(isinstance(v, torch.Tensor) for v in sd.values())
    state = torch.load(out / "train_state.pth", weights_only=True)
    assert state["epoch"] == 10 and {"optimizer", "scheduler", "scaler", "rng", "config"} <= set(state)
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != ".lock"]  # no temp files left


def test_checkpoint_loads_strictly_in_eval_and_run(coco_root, tmp_path):
    cfg = tiny_config(**{"train.epochs": 1, "data.val_split": None})
    train(cfg, coco_root, tmp_path / "o", init="none")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run(
        [sys.executable, "-m", "posetrack.cli", "eval", "coco", "--images", str(coco_root / "val"),
         "--annotations", str(coco_root / "annotations" / "person_keypoints_val.json"), "--gt-boxes", "-q",
         "--weights", str(tmp_path / "o" / "last.pth"), "--device", "cpu", "--set", "pose.model=hrnet-w8-128x96"],
        capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "| AP" in r.stdout


def test_resume_after_interruption_is_bit_exact(coco_root, tmp_path):
    cfg = tiny_config(**{"train.epochs": 3, "data.val_split": None, "train.lr_steps": [2]})
    full = train(cfg, coco_root, tmp_path / "full", init="none")

    def stop(epoch, step, loss):
        if epoch == 2 and step == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, coco_root, tmp_path / "cut", init="none", on_step=stop)
    assert torch.load(tmp_path / "cut" / "train_state.pth", weights_only=True)["epoch"] == 2
    resumed = train(cfg, coco_root, tmp_path / "cut", resume=True)
    assert [e.epoch for e in resumed.epochs] == [3]
    assert resumed.epochs[0].loss == full.epochs[2].loss
    assert resumed.epochs[0].lr == full.epochs[2].lr == pytest.approx(1e-4)
    a = torch.load(tmp_path / "full" / "last.pth", weights_only=True)
    b = torch.load(tmp_path / "cut" / "last.pth", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    log = [json.loads(x)["epoch"] for x in (tmp_path / "cut" / "log.jsonl").read_text().splitlines()]
    assert log == [1, 2, 3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_cpu_processes_equal_one_process(tmp_path):
    """2 gloo processes x batch 2 == 1 process x batch 4 (BatchNorm frozen: per-GPU BN statistics are
    the one thing DDP changes, in the official recipe too). An even number of samples, so that the
    DistributedSampler pads nothing."""
    coco_root = tmp_path / "data"
    write_coco(coco_root, "train", 6, seed=3, width=96, height=80, people=1)
    sets = {**TINY, "train.epochs": 2, "data.val_split": None, "train.freeze_bn": True, "train.lr": 0.002}
    single = train(load_train_config("hrnet-w32-coco", sets), coco_root, tmp_path / "one", init="none")
    args = [a for k, v in {**sets, "train.batch_size": 2}.items() for a in ("--set", f"{k}={json.dumps(v)}")]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    r = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
         "-m", "posetrack.cli", "train", "topdown", "-c", "hrnet-w32-coco", "--data", str(coco_root),
         "-o", str(tmp_path / "two"), "--from", "none", "--device", "cpu", "-q", *args],
        capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [json.loads(x) for x in (tmp_path / "two" / "log.jsonl").read_text().splitlines()]
    assert single.epochs[0].samples == 6
    for e, line in zip(single.epochs, lines):
        assert line["samples"] == e.samples
        assert line["loss"] == pytest.approx(e.loss, rel=1e-4)
    a = torch.load(tmp_path / "one" / "last.pth", weights_only=True)
    b = torch.load(tmp_path / "two" / "last.pth", weights_only=True)
    for k in a:
        if a[k].is_floating_point():
            torch.testing.assert_close(a[k], b[k], rtol=1e-3, atol=1e-5)


def test_bottomup_and_posetrack_runs(tmp_path):
    from posetrack.pose.models import build_model
    from tests.train.synth import write_posetrack

    root = tmp_path / "coco"
    write_coco(root, "train", 2, seed=1, width=96, height=80, crowd=True)
    cfg = load_train_config("higherhrnet-w32-coco", {
        "model.name": "higherhrnet-w8-128", "model.input_size": [64, 64], "data.train_split": "train",
        "data.val_split": None, "train.epochs": 1, "train.batch_size": 2, "train.workers": 0, "train.progress": False,
        "train.channels_last": True})
    res = train(cfg, root, tmp_path / "bu", init="none")
    assert set(res.epochs[0].parts) == {"heatmaps_0", "push_0", "pull_0", "heatmaps_1"}
    build_model("higherhrnet-w8-128", tmp_path / "bu" / "best.pth")  # strict
    pt = tmp_path / "pt"
    write_posetrack(pt, "train", 1, 3)
    write_posetrack(pt, "val", 1, 3, seed=1)
    cfg = load_train_config("hrnet-w32-posetrack18", {
        "model.name": "hrnet-w8-128x96", "model.input_size": [32, 64], "train.epochs": 1, "train.batch_size": 4,
        "train.workers": 0, "train.progress": False})
    res = train(cfg, pt, tmp_path / "pto", init="none")
    val = res.epochs[0].val
    assert 0.0 <= val["mAP"] <= 1.0 and "ap_head" in val
