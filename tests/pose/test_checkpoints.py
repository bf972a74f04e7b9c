"""Checkpoint loading: every supported layout loads strictly; every mismatch is a named error."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from posetrack.errors import CheckpointError
from posetrack.pose import build_model, load_checkpoint
from posetrack.pose.checkpoints import check_state_dict, convert_state_dict, unwrap
from tests.pose._reference import CONFIG_MODELS, meta_model, reference

StateDict = dict[str, Tensor]


@functools.cache
def _randomised(name: str, seed: int) -> nn.Module:
    """A tiny network whose every tensor is distinct, so a wrong mapping cannot go unnoticed (cached: read-only)."""
    torch.manual_seed(seed)
    model = build_model(name)
    with torch.no_grad():
        for k, t in model.state_dict().items():
            if not t.is_floating_point():
                t.fill_(seed + 7)  # num_batches_tracked
            elif t.dim() > 1:  # conv weights, scaled so activations stay finite through the net
                t.copy_(torch.randn_like(t) / (t[0].numel() if "deconv" not in k else t.shape[0] * 16) ** 0.5)
            elif k.endswith(("running_var", "bn1.weight", "bn2.weight", "bn3.weight", "1.weight")):
                t.copy_(0.5 + torch.rand_like(t))
            else:
                t.copy_(0.1 * torch.randn_like(t))
    return model


# --- writers of each layout (the way the publishers save them) ---------------------------------
def _official(sd: StateDict) -> object:
    return dict(sd)


def _wrapped_state_dict(sd: StateDict) -> object:
    return {"state_dict": dict(sd), "epoch": 210, "perf": 0.744}


def _wrapped_model(sd: StateDict) -> object:
    return {"model": dict(sd), "optimizer": {}}


def _dataparallel(sd: StateDict) -> object:
    return {f"module.{k}": v for k, v in sd.items()}


def _mmpose0(sd: StateDict) -> object:
    return {"meta": {"epoch": 210}, "state_dict": {_mm_name(k, "keypoint_head."): v for k, v in sd.items()}}


def _mmpose1(sd: StateDict) -> object:
    return {"meta": {"epoch": 210}, "state_dict": {_mm_name(k, "head."): v for k, v in sd.items()}}


def _mm_name(key: str, head: str) -> str:
    return head + key if key.startswith(("final_layer", "deconv_layers")) else "backbone." + key


def _fp16_wrapper(sd: StateDict) -> object:
    """Official fp16 training: '1.' prefix, conv weights/biases in float16, BN kept in float32."""
    bn = {k.rsplit(".", 1)[0] for k in sd if k.endswith("running_mean")}
    return {
        f"1.{k}": (v.half() if v.is_floating_point() and k.rsplit(".", 1)[0] not in bn else v) for k, v in sd.items()
    }


TOPDOWN_LAYOUTS: dict[str, tuple[Callable[[StateDict], object], str]] = {
    "official": (_official, "official"),
    "state_dict": (_wrapped_state_dict, "official (in 'state_dict')"),
    "model": (_wrapped_model, "official (in 'model')"),
    "module": (_dataparallel, "official"),
    "mmpose0": (_mmpose0, "mmpose0-topdown (in 'state_dict')"),
    "mmpose1": (_mmpose1, "mmpose1 (in 'state_dict')"),
    "fp16": (_fp16_wrapper, "official-fp16"),
}
BOTTOMUP_LAYOUTS = {
    "official": (_official, "official"),
    "module": (_dataparallel, "official"),
    "mmpose0": (_mmpose0, "mmpose0-bottomup (in 'state_dict')"),
    "fp16": (_fp16_wrapper, "official-fp16"),
}


def _assert_same_weights(model: nn.Module, source: nn.Module, fp16: bool) -> None:
    want = source.state_dict()
    if fp16:  # what survives the float16 round trip, back in the model's dtype
        want = {k[2:]: v.to(want[k[2:]].dtype) for k, v in _fp16_wrapper(want).items()}
    for k, v in model.state_dict().items():
        assert v.dtype == want[k].dtype, k
        torch.testing.assert_close(v, want[k], rtol=0, atol=0, msg=k)


@pytest.mark.parametrize("layout", sorted(TOPDOWN_LAYOUTS))
def test_topdown_layouts_load_strictly(layout: str, tmp_path: Path) -> None:
    write, expected_name = TOPDOWN_LAYOUTS[layout]
    source = _randomised("hrnet-w8-128x96", seed=1)
    path = tmp_path / f"{layout}.pth"
    torch.save(write(source.state_dict()), path)
    target = build_model("hrnet-w8-128x96")
    assert load_checkpoint(target, path) == expected_name
    _assert_same_weights(target, source, fp16=layout == "fp16")
    if layout != "fp16":  # same weights -> same heatmaps
        x = torch.randn(1, 3, 128, 96)
        with torch.inference_mode():
            torch.testing.assert_close(target.eval()(x), source.eval()(x))


@pytest.mark.parametrize("layout", sorted(BOTTOMUP_LAYOUTS))
def test_bottomup_layouts_load_strictly(layout: str, tmp_path: Path) -> None:
    write, expected_name = BOTTOMUP_LAYOUTS[layout]
    source = _randomised("higherhrnet-w8-128", seed=2)
    path = tmp_path / f"{layout}.pth"
    torch.save(write(source.state_dict()), path)
    target = build_model("higherhrnet-w8-128", weights=path)  # through the public builder
    _assert_same_weights(target, source, fp16=layout == "fp16")


def test_fp16_wrapper_dtypes_cast_to_model_dtype(tmp_path: Path) -> None:
    source = _randomised("higherhrnet-w8-128", seed=2)
    ckpt = _fp16_wrapper(source.state_dict())
    assert {v.dtype for v in ckpt.values()} == {torch.float16, torch.float32, torch.int64}
    path = tmp_path / "fp16.pth"
    torch.save(ckpt, path)
    target = build_model("higherhrnet-w8-128", weights=path)
    assert {p.dtype for p in target.parameters()} == {torch.float32}


@pytest.mark.parametrize("config", sorted(CONFIG_MODELS))
def test_reference_key_lists_convert_in_every_layout(config: str) -> None:
    """Full-size official key lists (meta tensors), renamed into each layout, map back exactly."""
    ref = reference()[config]
    sd = {k: torch.empty(shape, device="meta", dtype=getattr(torch, dt)) for k, shape, dt in ref["state_dict"]}
    model = meta_model(CONFIG_MODELS[config])
    layouts = BOTTOMUP_LAYOUTS if config.startswith("higher") else TOPDOWN_LAYOUTS
    for layout, (write, expected) in layouts.items():
        raw, _ = unwrap(write(sd))
        converted, name = convert_state_dict(raw, model.state_dict().keys())
        assert name == expected.split(" (")[0], layout
        assert list(converted) == [k for k, _, _ in ref["state_dict"]]
        check_state_dict(converted, model, "ref", name)
    if ref["fp16_dtypes"]:  # the 640 configs were trained with the fp16 wrapper
        fp16 = _fp16_wrapper({k: torch.empty(s, device="meta", dtype=getattr(torch, dt)) for k, s, dt in ref["state_dict"]})
        assert [str(v.dtype).removeprefix("torch.") for v in fp16.values()] == ref["fp16_dtypes"]


def test_missing_key_is_named(tmp_path: Path) -> None:
    sd = build_model("hrnet-w8-128x96").state_dict()
    del sd["stage3.1.fuse_layers.2.0.1.0.weight"]
    path = tmp_path / "missing.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(build_model("hrnet-w8-128x96"), path)
    msg = str(err.value)
    assert "missing.pth" in msg and "1 missing keys: stage3.1.fuse_layers.2.0.1.0.weight" in msg


def test_unexpected_key_is_named(tmp_path: Path) -> None:
    sd = build_model("hrnet-w8-128x96").state_dict()
    sd["keypoint_extra.weight"] = torch.zeros(3)
    path = tmp_path / "extra.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match=r"extra\.pth.*1 unexpected keys: keypoint_extra\.weight"):
        load_checkpoint(build_model("hrnet-w8-128x96"), path)


def test_shape_mismatch_is_named_and_nothing_is_loaded(tmp_path: Path) -> None:
    sd = _randomised("hrnet-w8-128x96", seed=1).state_dict()
    sd["final_layer.weight"] = torch.zeros(16, 8, 1, 1)
    sd["final_layer.bias"] = torch.zeros(16)
    path = tmp_path / "joints16.pth"
    torch.save(sd, path)
    target = build_model("hrnet-w8-128x96")
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"joints16\.pth.*2 tensors of the wrong shape.*final_layer\.weight \[16, 8, 1, 1\] vs model \[17, 8, 1, 1\]"):
        load_checkpoint(target, path)
    for k, v in target.state_dict().items():  # no partial load
        assert torch.equal(v, before[k]), k


def test_wrong_width_fails_clearly(tmp_path: Path) -> None:
    """A W8 checkpoint into a W16 network of the same topology (the W32 -> W48 case, small)."""
    from posetrack.pose.models import HRNet

    path = tmp_path / "w8.pth"
    torch.save(build_model("hrnet-w8-128x96").state_dict(), path)
    with pytest.raises(CheckpointError, match=r"w8\.pth.*wrong shape.*another width"):
        load_checkpoint(HRNet(width=16), path)


def test_w32_reference_into_w48_fails_clearly() -> None:
    ref = reference()["hrnet_w32_256x192"]
    sd = {k: torch.empty(s, device="meta") for k, s, _ in ref["state_dict"]}
    with pytest.raises(CheckpointError, match=r"w32\.pth.*wrong shape.*transition1\.0\.0\.weight \[32, 256, 3, 3\] vs model \[48, 256, 3, 3\]"):
        check_state_dict(sd, meta_model("hrnet-w48-256x192"), "w32.pth", "official")


def test_bottomup_checkpoint_into_topdown_model(tmp_path: Path) -> None:
    path = tmp_path / "higher.pth"
    torch.save(build_model("higherhrnet-w8-128").state_dict(), path)
    with pytest.raises(CheckpointError, match=r"missing keys: final_layer\.weight.*unexpected keys: final_layers\.0\.weight"):
        load_checkpoint(build_model("hrnet-w8-128x96"), path)


@pytest.mark.parametrize(
    "content",
    [b"\x00\x01garbage bytes\xff" * 10, json.dumps({"conv1.weight": [1, 2]}).encode(), b""],
    ids=["garbage", "json", "empty"],
)
def test_non_checkpoint_files(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"weights\.pth: not a PyTorch checkpoint"):
        load_checkpoint(build_model("hrnet-w8-128x96"), path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint not found: .*nope.pth"):
        build_model("hrnet-w8-128x96", weights=tmp_path / "nope.pth")


def test_checkpoint_without_tensors(tmp_path: Path) -> None:
    path = tmp_path / "meta_only.pth"
    torch.save({"epoch": 3, "meta": {"x": 1}}, path)
    with pytest.raises(CheckpointError, match=r"meta_only\.pth: no state_dict of tensors found \(top-level keys: epoch, meta\)"):
        load_checkpoint(build_model("hrnet-w8-128x96"), path)


class _Arbitrary:
    pass


def test_pickled_objects_are_not_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "pickled.pth"
    torch.save({"state_dict": build_model("hrnet-w8-128x96").state_dict(), "obj": _Arbitrary()}, path)
    with pytest.raises(CheckpointError, match=r"pickled\.pth: the checkpoint holds Python objects"):
        load_checkpoint(build_model("hrnet-w8-128x96"), path)
    assert load_checkpoint(build_model("hrnet-w8-128x96"), path, allow_pickle=True) == "official (in 'state_dict')"
