"""EfficientHRNet H0..H-4: Table 1 of the paper, compound-scaled backbone, head, outputs, cost."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from posetrack.pose import build_model, model_spec
from posetrack.pose.models import EFFICIENTHRNET_TABLE, EfficientHRNet
from posetrack.pose.models.hrnet import BasicBlock
from tests.pose._reference import meta_model

# EfficientHRNet Table 1, typed in from shared/reference/papers.md section 1.3:
# variant: (phi, R_input, (W_b1..W_b4), (M_s2, M_s3, M_s4))
TABLE1 = {
    "h0": (0, 512, (32, 64, 128, 256), (1, 4, 3)),
    "h-1": (-1, 480, (26, 52, 103, 206), (1, 3, 3)),
    "h-2": (-2, 448, (21, 42, 83, 166), (1, 2, 3)),
    "h-3": (-3, 416, (17, 34, 67, 133), (1, 1, 3)),
    "h-4": (-4, 384, (14, 27, 54, 107), (1, 1, 2)),
}
# Our measured cost at R_input (docs/models.md): params, conv/linear multiply-adds, and the
# backbone's share of each. Pinned so that the documentation cannot drift from the code.
MEASURED = {
    "h0": (19484303, 23203312128, 3595388, 1901490688),
    "h-1": (12846961, 12693628748, 3050752, 1501467248),
    "h-2": (8160865, 6782199592, 2125854, 1045401504),
    "h-3": (5293221, 3619143229, 1602678, 724158864),
    "h-4": (2721202, 1729616544, 993186, 381550752),
}
# EfficientNet-B0 stages (expand, kernel, stride, out channels, layers), torchvision/paper.
B0 = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]


def _round8(c: float) -> int:
    """EfficientNet's channel rounding: nearest multiple of 8, never below 90% of the target."""
    r = max(8, int(c + 4) // 8 * 8)
    return r + 8 if r < 0.9 * c else r


@pytest.mark.parametrize("variant", sorted(TABLE1))
def test_structure_follows_table1(variant: str) -> None:
    phi, size, widths, modules = TABLE1[variant]
    cfg = EFFICIENTHRNET_TABLE[variant]
    assert (cfg.phi, cfg.input_size, cfg.widths, cfg.stage_modules) == (phi, size, widths, modules)
    assert size == 512 + 32 * phi and size % 32 == 0  # Eq. 6
    name = f"efficienthrnet-{variant}"
    spec = model_spec(name)
    assert (spec.kind, spec.input_size, spec.output_strides, spec.width) == ("bottomup", (size, size), (4, 2), widths[0])
    model = meta_model(name)
    assert isinstance(model, EfficientHRNet)
    # HRN: stage s has M modules of s+2 branches, W_bn channels, two residual blocks per branch
    assert [len(stage) for stage in model.stages] == list(modules)
    for s, stage in enumerate(model.stages):
        for module in stage:
            assert len(module.branches) == s + 2
            for b, branch in enumerate(module.branches):
                assert len(branch) == 2 and all(isinstance(blk, BasicBlock) for blk in branch)
                assert branch[0].conv1.in_channels == branch[-1].conv2.out_channels == widths[b]
    assert len(model.stages[-1][-1].fuse_layers) == 1  # only the 1/4 output leaves the HRN
    # head: 34 = 17 heatmaps + 17 tags at 1/4; DeConv on (W_b1 + 34) channels, two residual blocks; 17 at 1/2
    assert model.final_layers[0].out_channels == 34 and model.final_layers[1].out_channels == 17
    deconv = model.deconv_layers[0]
    assert isinstance(deconv[0][0], nn.ConvTranspose2d)
    assert (deconv[0][0].in_channels, deconv[0][0].out_channels, deconv[0][0].stride) == (widths[0] + 34, widths[0], (2, 2))
    assert len(deconv) == 1 + 2 and all(isinstance(blk[0], BasicBlock) for blk in deconv[1:])


@pytest.mark.parametrize("variant", sorted(TABLE1))
def test_backbone_compound_scaling_and_taps(variant: str) -> None:
    phi, size, _, _ = TABLE1[variant]
    model = meta_model(f"efficienthrnet-{variant}")
    stages = list(model.backbone)[1:]  # after the stem conv
    for (_, _, _, out, layers), stage in zip(B0, stages):
        assert len(stage) == math.ceil(layers * 1.2**phi)  # depth 1.2^phi
        assert stage[-1].out_channels == _round8(out * 1.1**phi)  # width 1.1^phi
    feats = model.backbone_features(torch.empty(1, 3, size, size, device="meta"))
    assert [f.shape[-1] for f in feats] == [size // 4, size // 8, size // 16, size // 32]


def test_forward_shapes_h4_small_input() -> None:
    torch.manual_seed(0)
    model = build_model("efficienthrnet-h-4")
    assert not model.training
    with torch.inference_mode():
        y0, y1 = model(torch.randn(2, 3, 128, 192))
    assert y0.shape == (2, 34, 32, 48)  # heatmaps + tags at 1/4
    assert y1.shape == (2, 17, 64, 96)  # heatmaps at 1/2
    assert torch.isfinite(y0).all() and torch.isfinite(y1).all()


@pytest.mark.parametrize("variant", sorted(TABLE1))
def test_measured_cost_matches_docs(variant: str) -> None:
    name = f"efficienthrnet-{variant}"
    size = model_spec(name).input_size[0]
    model = meta_model(name)
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, size, size, device="meta"))
    params = sum(p.numel() for p in model.parameters())
    backbone = sum(p.numel() for p in model.backbone.parameters())
    assert (params, counter.get_total_flops() // 2, backbone) == MEASURED[variant][:3]
