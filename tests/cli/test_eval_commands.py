"""`eval coco` and `benchmark posetrack` in the README's exact form (no --device, no --weights):
device and weights are resolved as `run` resolves them (zoo weights, downloaded on first use; the
offline message when they cannot be fetched), and random weights only when asked, with a warning."""

from __future__ import annotations

import dataclasses
import io

import pytest
import torch
from evaluation.test_coco_eval import dataset  # noqa: F401  (the COCO-format fixture)
from zoo.httpserver import FileServer, sha256

from posetrack import zoo
from posetrack.evaluation import synthetic_dataset as sd

from ._cli import posetrack

CONFIG = """\
base: default
pose:
  model: hrnet-w8-128x96
  flip_test: false
flow:
  name: none
"""


def _checkpoint() -> bytes:
    from posetrack.pose.models import build_model

    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save(build_model("hrnet-w8-128x96").state_dict(), buf)
    return buf.getvalue()


def _tiny_zoo(urls: tuple[str, ...], digest: str) -> tuple[zoo.Architecture, zoo.Weights]:
    """The tiny test network with published weights at ``urls``: what `weights: zoo` then fetches."""
    arch = dataclasses.replace(zoo.architecture("hrnet-w8-128x96"), default_weights="hrnet-w8-128x96-coco")
    weights = zoo.Weights(name="hrnet-w8-128x96-coco", arch=arch.name, urls=urls, sha256=digest,
                          preprocessing=dataclasses.replace(arch.preprocessing, mean=zoo.IMAGENET_MEAN,
                                                            std=zoo.IMAGENET_STD))
    return arch, weights


@pytest.fixture
def zoo_entry(tmp_path, monkeypatch):
    """`weights: zoo` for hrnet-w8-128x96 means a checkpoint on a local server, cached in tmp_path."""
    monkeypatch.setenv("POSETRACK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = FileServer()
    data = _checkpoint()
    arch, entry = _tiny_zoo((server.add("/w/hrnet_w8_tiny.pth", data),), sha256(data))
    (tmp_path / "tiny.yaml").write_text(CONFIG)
    with zoo.registered(arch, entry):
        yield entry
    server.close()


@pytest.fixture
def offline_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("POSETRACK_HOME", str(tmp_path / "home"))
    arch, entry = _tiny_zoo(("http://posetrack-test.invalid/w/hrnet_w8_tiny.pth",), "0" * 64)
    (tmp_path / "tiny.yaml").write_text(CONFIG)
    with zoo.registered(arch, entry):
        yield entry


def _coco_args(dataset, tmp_path):  # noqa: F811
    images_dir, ann_path, det_path, _ = dataset
    return ["eval", "coco", "--images", images_dir, "--annotations", ann_path, "--detections", det_path,
            "-c", tmp_path / "tiny.yaml", "-q"]


def test_eval_coco_readme_form_uses_zoo_weights(dataset, tmp_path, zoo_entry):  # noqa: F811
    r = posetrack(*_coco_args(dataset, tmp_path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "| Arch | AP | AP .5" in r.stdout
    assert zoo_entry.cache_path().is_file()  # the zoo's file was fetched, not random weights
    assert "random" not in r.stderr


def test_eval_coco_random_weights_only_when_asked(dataset, tmp_path, zoo_entry):  # noqa: F811
    r = posetrack(*_coco_args(dataset, tmp_path), "--set", "pose.weights=null", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if "WARNING" in ln]
    assert len(warnings) == 1 and "randomly initialised" in warnings[0], r.stderr
    assert not zoo_entry.cache_path().exists()


def test_eval_coco_offline_is_one_line(dataset, tmp_path, offline_entry):  # noqa: F811
    r = posetrack(*_coco_args(dataset, tmp_path), cwd=tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "hrnet-w8-128x96-coco" in lines[0] and "no network?" in lines[0], lines[0]


def test_benchmark_readme_form_uses_zoo_weights(tmp_path, zoo_entry):
    root = tmp_path / "data"
    sd.write_dataset(str(root), sd.generate_sequences(n_sequences=1, n_frames=4, n_people=2, seed=3))
    r = posetrack("benchmark", "posetrack", "--root", root, "--split", "val", "-c", tmp_path / "tiny.yaml",
                  "--gt-boxes", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Average Precision (AP) metric:" in r.stdout and "random" not in r.stderr
    assert zoo_entry.cache_path().is_file()
    assert (tmp_path / "posetrack-val-tiny").is_dir()


def test_benchmark_offline_is_one_line(tmp_path, offline_entry):
    root = tmp_path / "data"
    sd.write_dataset(str(root), sd.generate_sequences(n_sequences=1, n_frames=4, n_people=2, seed=3))
    r = posetrack("benchmark", "posetrack", "--root", root, "--split", "val", "-c", tmp_path / "tiny.yaml",
                  "--gt-boxes", "-q", cwd=tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "no network?" in lines[0]


def test_benchmark_disk_full_is_one_line(tmp_path, zoo_entry, monkeypatch):
    import errno
    import os

    from posetrack import outputs

    def full(self, *args, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs.PoseTrackJsonWriter, "add", full)
    root = tmp_path / "data"
    sd.write_dataset(str(root), sd.generate_sequences(n_sequences=1, n_frames=4, n_people=2, seed=3))
    out = tmp_path / "preds"
    r = posetrack("benchmark", "posetrack", "--root", root, "--split", "val", "-c", tmp_path / "tiny.yaml",
                  "--gt-boxes", "-q", "--out", out, cwd=tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "disk is full" in lines[0]
    assert list(out.iterdir()) == []
