"""HRNet / HigherHRNet: official layouts (keys, shapes, dtypes, counts, FLOPs), forward, registry."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from posetrack.errors import ConfigError
from posetrack.pose import build_model, model_names, model_spec
from posetrack.pose.models import HigherHRNet, HRNet
from tests.pose._reference import CONFIG_MODELS, meta_model, reference


@pytest.mark.parametrize("config", sorted(CONFIG_MODELS))
def test_layout_equals_official(config: str) -> None:
    """Ordered keys, shapes, dtypes, parameter and buffer counts and conv FLOPs equal the official net."""
    ref = reference()[config]
    name = CONFIG_MODELS[config]
    model = meta_model(name)
    ours = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in model.state_dict().items()]
    assert ours == ref["state_dict"]
    assert sum(p.numel() for p in model.parameters()) == ref["num_parameters"]
    assert sum(b.numel() for b in model.buffers()) == ref["num_buffer_elements"]
    h, w = ref["input_size_HW"]
    assert model_spec(name).input_size == (w, h)
    # The FLOP count at the official input size pins the fusion topology (which branch feeds which).
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.empty(1, 3, h, w, device="meta"))
    assert counter.get_total_flops() == ref["total_flops"]


def test_published_parameter_counts() -> None:
    counts = {cfg: sum(p.numel() for p in meta_model(name).parameters()) for cfg, name in CONFIG_MODELS.items()}
    assert counts["hrnet_w32_256x192"] == 28_536_113
    assert counts["hrnet_w48_256x192"] == 63_595_745
    assert counts["higherhrnet_w32_512"] == 28_645_331
    assert counts["higherhrnet_w48_640"] == 63_827_139


def test_tiny_topdown_forward_shape_and_official_init() -> None:
    torch.manual_seed(0)
    model = build_model("hrnet-w8-128x96")
    assert isinstance(model, HRNet) and not model.training
    with torch.inference_mode():
        out = model(torch.randn(2, 3, 128, 96))
    assert out.shape == (2, 17, 32, 24)
    assert out.dtype == torch.float32
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    weights = torch.cat([c.weight.flatten() for c in convs])
    assert 0.0008 < weights.std().item() < 0.0012  # N(0, 0.001)
    assert all(c.bias is None or torch.all(c.bias == 0) for c in convs)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.all(b.weight == 1) and torch.all(b.bias == 0) for b in bns)


def test_tiny_bottomup_forward_shapes() -> None:
    model = build_model("higherhrnet-w8-128")
    assert isinstance(model, HigherHRNet)
    with torch.inference_mode():
        y0, y1 = model(torch.randn(1, 3, 128, 192))
    assert y0.shape == (1, 34, 32, 48)  # 17 heatmaps + 17 tags at 1/4
    assert y1.shape == (1, 17, 64, 96)  # heatmaps at 1/2


def test_higherhrnet_deconv_input_is_features_then_y0() -> None:
    """The deconv sees cat([features, y0]): zero its y0 input channels and y1 ignores y0's head."""
    torch.manual_seed(0)
    model = build_model("higherhrnet-w8-128")
    for m in model.modules():  # make the net non-trivial so that a wrong order would show
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.normal_(m.weight, std=0.1)
    deconv = model.deconv_layers[0][0][0]
    assert deconv.weight.shape == (8 + 34, 8, 4, 4)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        deconv.weight[8:] = 0  # input channels after the features: y0
        y0_a, y1_a = model(x)
        model.final_layers[0].weight.mul_(3.0)
        y0_b, y1_b = model(x)
    assert not torch.allclose(y0_a, y0_b)
    torch.testing.assert_close(y1_a, y1_b)


def test_fusion_upsamples_with_nearest() -> None:
    model = build_model("hrnet-w8-128x96")
    up = model.stage2[0].fuse_layers[0][1][2]
    assert isinstance(up, torch.nn.Upsample) and up.mode == "nearest" and up.scale_factor == 2
    # the last module of stage 4 fuses into the 1/4 branch only
    assert len(model.stage4[2].fuse_layers) == 1 and len(model.stage4[1].fuse_layers) == 4


def test_registry_names_and_specs() -> None:
    names = model_names()
    for expected in (
        "hrnet-w32-256x192", "hrnet-w32-384x288", "hrnet-w48-256x192", "hrnet-w48-384x288",
        "hrnet-w32-256x192-posetrack18", "hrnet-w48-384x288-posetrack18",
        "higherhrnet-w32-512", "higherhrnet-w32-640", "higherhrnet-w48-640",
        "efficienthrnet-h0", "efficienthrnet-h-1", "efficienthrnet-h-2", "efficienthrnet-h-3", "efficienthrnet-h-4",
    ):
        assert expected in names
    assert "hrnet-w8-128x96" not in names and "hrnet-w8-128x96" in model_names(include_test=True)
    spec = model_spec("hrnet-w48-384x288")
    assert (spec.kind, spec.input_size, spec.heatmap_stride, spec.width, spec.layout) == (
        "topdown", (288, 384), 4, 48, "coco17"
    )
    assert model_spec("hrnet-w48-384x288-posetrack18").layout == "posetrack17"
    spec = model_spec("higherhrnet-w32-512")
    assert (spec.kind, spec.input_size, spec.output_strides, spec.tag_channels) == ("bottomup", (512, 512), (4, 2), 17)
    assert model_spec("efficienthrnet-h-4").input_size == (384, 384)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.width = 3  # type: ignore[misc]


def test_unknown_name_is_a_config_error_with_suggestions() -> None:
    with pytest.raises(ConfigError, match="hrnet-w32-256x192"):
        model_spec("hrnet-w32-256x191")
    with pytest.raises(ConfigError, match="unknown pose model"):
        build_model("resnet50")
