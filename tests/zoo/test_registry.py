"""The registry's facts agree with their sources, and names resolve as the configs expect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torchvision.models.detection as tv_det
import torchvision.models.optical_flow as tv_flow

from posetrack import download, zoo
from posetrack.errors import ConfigError

from .httpserver import tiny_entry


def _tv_weights(spec: str):
    enum_name, member = spec.split(".")
    module = tv_flow if enum_name.startswith("Raft") else tv_det
    return getattr(getattr(module, enum_name), member)


@pytest.mark.parametrize("entry", [e for e in zoo.entries() if e.store == "torch-hub"], ids=lambda e: e.name)
def test_torchvision_entries_match_the_installed_weights_enums(entry):
    w = _tv_weights(entry.torchvision_weights)
    assert entry.urls == (w.url,)
    assert entry.num_params == w.meta["num_params"]
    assert entry.gflops == pytest.approx(w.meta["_ops"])
    # torchvision's check_hash convention: the sha256 prefix after the last '-' in the file name
    assert entry.sha256 == re.search(r"-([a-f0-9]+)\.", entry.file_name).group(1)
    assert callable(getattr(tv_flow if entry.kind == "flow" else tv_det, entry.torchvision_builder))
    metrics = next(iter(w.meta["_metrics"].values()))
    first = next(iter(metrics.values()))
    assert entry.accuracy.value == pytest.approx(first, abs=1e-3)


def test_mmpose_entries_carry_the_hash_prefix_of_their_file_names():
    mm = [e for e in zoo.entries() if e.checkpoint_layout == "mmpose0"]
    assert len(mm) == 11
    for e in mm:
        assert e.urls[0].startswith("https://download.openmmlab.com/mmpose/")
        m = re.fullmatch(r"[a-z0-9_]+-([0-9a-f]{8})_\d{8}\.pth", e.file_name)
        assert m and e.sha256 == m.group(1), e.name


def test_every_required_checkpoint_is_registered():
    names = {e.name for e in zoo.entries()}
    for w in (32, 48):
        for size in ("256x192", "384x288"):
            assert f"hrnet-w{w}-{size}-coco" in names
            assert f"hrnet-w{w}-{size}-posetrack18" in names
    for n in ("higherhrnet-w32-512-coco", "higherhrnet-w32-640-coco", "higherhrnet-w48-512-coco",
              "higherhrnet-w48-640-coco", "fasterrcnn-r50-fpn-v2-coco", "raft-large", "raft-small"):
        assert n in names
    assert len(names) == len(zoo.entries())  # unique names


def test_default_entry_for_model_names_in_the_configs():
    d = zoo.default_entry_for_model
    assert d("hrnet-w48-256x192").name == "hrnet-w48-256x192-coco"
    assert d("hrnet-w48-384x288-posetrack18").name == "hrnet-w48-384x288-posetrack18"
    assert d("higherhrnet-w32-512").name == "higherhrnet-w32-512-coco"
    assert d("higherhrnet-w48-640").name == "higherhrnet-w48-640-coco"  # official only: manual
    assert d("fasterrcnn-r50-fpn-v2").name == "fasterrcnn-r50-fpn-v2-coco"
    assert d("raft-small").name == "raft-small"
    assert d("efficienthrnet-h0") is None  # no public weights
    pt18 = zoo.get_entry("hrnet-w48-384x288-posetrack18")
    assert pt18.keypoint_layout == "posetrack17" and pt18.matches_model("hrnet-w48-384x288-posetrack18")
    assert not pt18.matches_model("hrnet-w48-384x288")  # COCO joint order: the wrong weights
    assert zoo.get_entry("higherhrnet-w48-640-coco").checkpoint_layout == "official-fp16"


def test_unknown_name_suggests_close_ones():
    with pytest.raises(ConfigError, match="did you mean hrnet-w48-256x192-coco"):
        zoo.get_entry("hrnet-w48-256x192-cooc")


def test_cache_locations_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("POSETRACK_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert download.cache_root() == tmp_path / "xdg" / "posetrack"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert download.cache_root() == Path.home() / ".cache" / "posetrack"
    monkeypatch.setenv("POSETRACK_HOME", str(tmp_path / "ph"))
    assert zoo.get_entry("hrnet-w32-256x192-coco").cache_path() == (
        tmp_path / "ph" / "weights" / "hrnet_w32_coco_256x192-c78dce93_20200708.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert zoo.get_entry("raft-large").cache_path() == Path(torch.hub.get_dir()) / "checkpoints" / (
        "raft_large_C_T_SKHT_V2-ff5fadd5.pth")


def test_registered_adds_and_restores():
    before = [e.name for e in zoo.entries()]
    extra = tiny_entry("tiny-net-coco", ("http://127.0.0.1:9/x.pth",), None)
    with zoo.registered(extra):
        assert zoo.get_entry("tiny-net-coco") is extra
        with pytest.raises(ValueError, match="already exists"):
            zoo.register(extra)
    assert [e.name for e in zoo.entries()] == before


def test_entries_are_validated():
    with pytest.raises(ValueError, match="URL or a filename"):
        zoo.ZooEntry(name="x", kind="flow", model="x")
    with pytest.raises(ValueError, match="say where to get it"):
        zoo.ZooEntry(name="x", kind="flow", model="x", filename="x.pth")
    with pytest.raises(ValueError, match="hex"):
        zoo.ZooEntry(name="x", kind="flow", model="x", urls=("http://h/x.pth",), sha256="XYZ")


def test_entry_models_are_names_the_stages_build():
    from typing import get_args, get_type_hints

    from posetrack.detectors.config import DetectorName
    from posetrack.flow.config import FlowConfig
    from posetrack.pose.models.registry import model_names, model_spec

    pose_models = set(model_names())
    flows = set(get_args(get_type_hints(FlowConfig)["name"]))
    for e in zoo.entries():
        if e.kind.startswith("pose"):
            assert e.model in pose_models, e.name
            spec = model_spec(e.model)
            assert spec.layout == e.keypoint_layout, e.name
            assert spec.input_size == e.input_size[::-1], e.name  # spec: (W, H); zoo: (H, W)
        elif e.kind == "detector":
            assert e.model in get_args(DetectorName), e.name
        else:
            assert e.model in flows, e.name
