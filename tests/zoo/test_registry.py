"""Every registry entry is checked against what it describes: architectures are built and counted,
weights entries agree with their architecture, their publisher's conventions and the official
reference layouts; names resolve as the configs expect."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args, get_type_hints

import pytest
import torch
import torchvision.models.detection as tv_det
import torchvision.models.optical_flow as tv_flow

from posetrack import download, zoo
from posetrack.errors import CheckpointError, ConfigError
from posetrack.keypoints import get_layout
from tests.pose._reference import CONFIG_MODELS, reference

from .httpserver import TINY_ARCH, tiny_entry


def _tv_weights(spec: str):
    enum_name, member = spec.split(".")
    module = tv_flow if enum_name.startswith("Raft") else tv_det
    return getattr(getattr(module, enum_name), member)


def _is_batchnorm(model: torch.nn.Module, param_name: str) -> bool:
    return isinstance(model.get_submodule(param_name.rsplit(".", 1)[0]), torch.nn.BatchNorm2d)


def _meta_build(arch: zoo.Architecture) -> torch.nn.Module:
    with torch.device("meta"):
        return arch.build()


# --- architectures ------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", zoo.architectures(include_test=True), ids=lambda a: a.name)
def test_every_architecture_builds_with_its_parameter_count_and_preprocessing(arch):
    model = _meta_build(arch)  # the builder and its arguments, shapes only
    n = sum(p.numel() for p in model.parameters())
    if arch.num_params is not None:
        if arch.kind == "detector" and n != arch.num_params:
            # torchvision's count is of its published model, whose backbone BatchNorms are frozen
            # (weight/bias are buffers there); ours are ordinary BatchNorms holding the same values
            frozen = sum(p.numel() for name, p in model.named_parameters()
                         if name.startswith("backbone.body.") and _is_batchnorm(model, name))
            n -= frozen
        assert n == arch.num_params
    else:  # no published figure: only EfficientHRNet (no public weights) and the test networks
        assert arch.test_only or arch.name.startswith("efficienthrnet-")
    if arch.default_weights is not None:
        assert zoo.get_entry(arch.default_weights).fits(arch.name)
    prep = arch.preprocessing
    if arch.is_pose:
        # COCO-17 networks, and HigherHRNet's 14-joint CrowdPose heads (named so, layout crowdpose14)
        crowdpose = arch.name.endswith("-crowdpose")
        assert (prep.keypoint_layout == "crowdpose14") == crowdpose
        assert get_layout(prep.keypoint_layout).num_joints == arch.num_joints == (14 if crowdpose else 17)
        w, h = prep.input_size
        assert w % 32 == 0 and h % 32 == 0  # the 1/32 branch must divide the input
        assert arch.kind == "topdown" or w == h  # bottom-up inputs are square
        assert arch.output_strides == ((4,) if arch.kind == "topdown" else (4, 2))
        assert (prep.mean, prep.std) == (zoo.IMAGENET_MEAN, zoo.IMAGENET_STD)
    else:
        assert prep.keypoint_layout is None and prep.input_size is None and prep.mean is None


@pytest.mark.parametrize("name", ["hrnet-w8-128x96", "higherhrnet-w8-128", "higherhrnet-w8-128-crowdpose"])
def test_test_networks_run_at_their_input_size(name):
    arch = zoo.architecture(name)
    torch.manual_seed(0)
    model = arch.build().eval()
    w, h = arch.input_size
    with torch.no_grad():
        out = model(torch.rand(1, 3, h, w))
    outs = out if isinstance(out, (list, tuple)) else [out]
    for o, stride, extra in zip(outs, arch.output_strides, (arch.tag_channels, 0)):
        assert tuple(o.shape) == (1, arch.num_joints + extra, h // stride, w // stride)


@pytest.mark.parametrize("config", sorted(CONFIG_MODELS))
def test_pose_architectures_match_the_official_reference(config):
    """shared/reference/checkpoints/<config>.json: the official implementation instantiated."""
    ref = reference()[config]
    arch = zoo.architecture(CONFIG_MODELS[config])
    assert arch.num_params == ref["num_parameters"]
    assert arch.input_size == tuple(ref["input_size_HW"][::-1])  # ours (W, H), theirs (H, W)


def test_detector_and_flow_names_come_from_the_registry():
    from posetrack.detectors.config import OTHER_DETECTORS, DetectorConfig
    from posetrack.flow.config import FlowConfig

    detectors = get_args(get_type_hints(DetectorConfig)["name"])
    assert detectors == zoo.architecture_names("detector") + OTHER_DETECTORS
    assert set(zoo.architecture_names("flow")) < set(get_args(get_type_hints(FlowConfig)["name"]))


# --- weights ------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", zoo.entries(), ids=lambda e: e.name)
def test_every_weights_entry_fits_its_architecture(entry):
    arch = entry.architecture
    assert entry.fits(arch.name)
    prep = entry.preprocessing
    if arch.is_pose:
        # the networks' names carry the input size they are trained at: the entry must agree
        assert prep.input_size == arch.input_size
        assert get_layout(prep.keypoint_layout).num_joints == arch.num_joints
        assert (prep.mean, prep.std) == (zoo.IMAGENET_MEAN, zoo.IMAGENET_STD)  # all train on ImageNet stats
        assert entry.checkpoint_layout in ("official", "official-fp16", "mmpose0")
    else:
        assert entry.checkpoint_layout == "torchvision" and entry.store == "torch-hub"
        assert prep == arch.preprocessing
    if entry.urls:
        assert entry.sha256 is not None and entry.urls[0].startswith("https://")
    else:
        assert entry.manual and entry.filename


def test_posetrack18_weights_carry_the_posetrack_layout():
    pt18 = zoo.get_entry("hrnet-w48-384x288-posetrack18")
    assert pt18.preprocessing.keypoint_layout == "posetrack17"
    # the same network as the COCO model: the weights (and so their layout) may be used with it
    assert pt18.fits("hrnet-w48-384x288-posetrack18") and pt18.fits("hrnet-w48-384x288")
    assert not pt18.fits("hrnet-w32-384x288")
    assert zoo.resolve(None, "hrnet-w48-384x288-posetrack18").preprocessing.keypoint_layout == "posetrack17"


@pytest.mark.parametrize("entry", [e for e in zoo.entries() if e.store == "torch-hub"], ids=lambda e: e.name)
def test_torchvision_entries_match_the_installed_weights_enums(entry):
    w = _tv_weights(entry.enum)
    assert entry.urls == (w.url,)
    assert entry.gflops == pytest.approx(w.meta["_ops"])
    assert entry.architecture.num_params == w.meta["num_params"]
    assert entry.sha256 == re.search(r"-([a-f0-9]+)\.", entry.file_name).group(1)
    module, _, builder = entry.architecture.builder.partition(":")
    assert getattr(tv_flow if entry.kind == "flow" else tv_det, builder).__module__.startswith(module)
    metrics = next(iter(w.meta["_metrics"].values()))
    assert entry.accuracy.value == pytest.approx(next(iter(metrics.values())), abs=1e-3)


def test_mmpose_entries_carry_the_hash_prefix_of_their_file_names():
    mm = [e for e in zoo.entries() if e.checkpoint_layout == "mmpose0"]
    assert len(mm) == 12
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


def test_default_weights_of_the_config_names():
    d = zoo.default_entry_for_model
    assert d("hrnet-w48-256x192").name == "hrnet-w48-256x192-coco"
    assert d("hrnet-w48-384x288-posetrack18").name == "hrnet-w48-384x288-posetrack18"
    assert d("higherhrnet-w32-512").name == "higherhrnet-w32-512-coco"
    assert d("higherhrnet-w48-640").name == "higherhrnet-w48-640-coco"  # official only: manual
    assert d("fasterrcnn-r50-fpn-v2").name == "fasterrcnn-r50-fpn-v2-coco"
    assert d("raft-small").name == "raft-small"
    assert d("efficienthrnet-h0") is None  # no public weights
    assert zoo.get_entry("higherhrnet-w48-640-coco").checkpoint_layout == "official-fp16"
    assert d("higherhrnet-w32-512-crowdpose").name == "higherhrnet-w32-512-crowdpose"  # MMPose's
    assert d("higherhrnet-w48-640-crowdpose") is None  # the official CrowdPose files are unpublished


def test_crowdpose_networks_differ_from_the_coco_ones_only_in_the_joint_head():
    """Same builder and width as the COCO network; 14 joints, so COCO files do not fit them."""
    for w, size in ((32, 512), (32, 640), (48, 640)):
        crowd, coco = zoo.architecture(f"higherhrnet-w{w}-{size}-crowdpose"), zoo.architecture(f"higherhrnet-w{w}-{size}")
        assert (crowd.builder, crowd.width, crowd.input_size) == (coco.builder, coco.width, coco.input_size)
        assert crowd.num_joints == 14 and crowd.layout == "crowdpose14" and not crowd.same_network(coco)
        assert not zoo.get_entry(f"higherhrnet-w{w}-{size}-coco").fits(crowd.name)
    entry = zoo.get_entry("higherhrnet-w32-512-crowdpose")
    assert entry.preprocessing.keypoint_layout == "crowdpose14" and entry.accuracy.metric == "CrowdPose AP"


def test_unknown_names_suggest_close_ones():
    with pytest.raises(ConfigError, match="did you mean hrnet-w48-256x192-coco"):
        zoo.get_entry("hrnet-w48-256x192-cooc")
    with pytest.raises(ConfigError, match="unknown pose model 'fasterrcnn-r50-fpn'"):
        zoo.architecture("fasterrcnn-r50-fpn", "topdown", "bottomup", what="pose model")


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
    before = [e.name for e in zoo.entries()], zoo.architecture_names(include_test=True)
    extra = tiny_entry("tiny-net-coco", ("http://127.0.0.1:9/x.pth",), None)
    with zoo.registered(TINY_ARCH, extra):
        assert zoo.get_entry("tiny-net-coco") is extra and zoo.architecture("tiny-net") is TINY_ARCH
        with pytest.raises(ValueError, match="already exists"):
            zoo.register(extra)
    assert ([e.name for e in zoo.entries()], zoo.architecture_names(include_test=True)) == before


def test_entries_are_validated():
    with pytest.raises(ValueError, match="URL or a filename"):
        zoo.Weights(name="x", arch="raft-small")
    with pytest.raises(ValueError, match="say where to get it"):
        zoo.Weights(name="x", arch="raft-small", filename="x.pth")
    with pytest.raises(ValueError, match="hex"):
        zoo.Weights(name="x", arch="raft-small", urls=("http://h/x.pth",), sha256="XYZ")


# --- loading: the one checkpoint reader and the entry's declared layout ----------------------------


def test_a_file_in_another_layout_than_its_entry_declares_is_refused(tmp_path):
    from posetrack.pose.models import build_model

    torch.manual_seed(0)
    path = tmp_path / "official.pth"
    torch.save(build_model("hrnet-w8-128x96").state_dict(), path)
    assert build_model("hrnet-w8-128x96", path, checkpoint_layout="official") is not None
    with pytest.raises(CheckpointError, match="keys are in the official layout, but this zoo entry's file is mmpose0"):
        build_model("hrnet-w8-128x96", path, checkpoint_layout="mmpose0")


def test_torchvision_files_without_batchnorm_counters_load_strictly(tmp_path):
    """torchvision's published detector files come from FrozenBatchNorm models: no
    ``num_batches_tracked``. They load (strictly otherwise) into our BatchNorm build."""
    from posetrack.detectors.config import DetectorConfig
    from posetrack.detectors.torchvision_det import build_model

    torch.manual_seed(0)
    source = zoo.architecture("fasterrcnn-mobilenet-v3-large-fpn").build()
    sd = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "det.pth"
    torch.save(sd, path)
    model = build_model(DetectorConfig(name="fasterrcnn-mobilenet-v3-large-fpn", weights=str(path)))
    got = model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in sd.items())
    del sd[next(k for k in sd if k.endswith(".weight"))]
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match="1 missing keys"):
        build_model(DetectorConfig(name="fasterrcnn-mobilenet-v3-large-fpn", weights=str(path)))
