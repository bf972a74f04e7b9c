"""optimize_for_inference: the inference copy equals the plain network for every registered architecture."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from posetrack.pose import build_model, model_names, model_spec, optimize_for_inference
from posetrack.pose.optimize import (
    FusedHighResolutionModule,
    _upsample_add_,
    fold_batchnorm,
)


def _architectures(test_only: bool) -> list[str]:
    """One registered name per distinct network (input sizes and keypoint layouts share weights)."""
    seen, names = set(), []
    for name in model_names(include_test=True):
        spec = model_spec(name)
        key = (spec.builder, tuple(sorted(spec.kwargs.items())))
        if spec.test_only == test_only and key not in seen:
            seen.add(key)
            names.append(name)
    return names


TINY = _architectures(test_only=True)
FULL = _architectures(test_only=False)


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Trained-looking statistics: BN with non-trivial running stats and affine, convs at default init.

    (The official init, std 0.001 and BN identity, would make folding trivially exact.)
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                fan_in = (
                    m.weight[0].numel()
                    if isinstance(m, nn.Conv2d)
                    else m.weight.shape[0] * 16
                )
                m.weight.copy_(
                    torch.randn(m.weight.shape, generator=g) * (1.0 / fan_in) ** 0.5
                )
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) * 0.8 + 0.4)
                m.bias.copy_(torch.randn(n, generator=g) * 0.2)
    return model.eval()


@functools.cache
def _model(name: str) -> nn.Module:
    return randomise(build_model(name))


def _outputs(out) -> list[torch.Tensor]:
    return [out] if isinstance(out, torch.Tensor) else list(out)


def assert_equivalent(
    plain: nn.Module, fast: nn.Module, x: torch.Tensor, rtol: float = 1e-4
) -> None:
    """Every output within rtol of the plain one, relative to its largest magnitude; same dtype and layout."""
    with torch.inference_mode():
        ref, got = _outputs(plain(x)), _outputs(fast(x))
    assert len(ref) == len(got)
    for r, o in zip(ref, got):
        assert o.shape == r.shape and o.dtype == r.dtype
        assert o.is_contiguous() == r.is_contiguous()  # the plain layout
        scale = r.abs().max()
        assert scale > 0
        err = (o - r).abs().max() / scale
        assert err <= rtol, f"relative error {float(err):.2e}"


def _input(name: str, side: int | None = None, batch: int = 2) -> torch.Tensor:
    w, h = model_spec(name).input_size
    if side is not None:
        w = h = side
    return torch.randn(batch, 3, h, w, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name", TINY)
def test_tiny_networks_are_equivalent_at_their_input_size(name):
    model = _model(name)
    assert_equivalent(model, optimize_for_inference(model), _input(name))


@pytest.mark.parametrize("name", FULL)
def test_full_size_networks_are_equivalent(name):
    # Full width and depth, at a small input (all sides must be multiples of 32) to keep CPU time low.
    model = _model(name)
    fast = optimize_for_inference(model)
    assert not any(
        isinstance(m, nn.BatchNorm2d) for m in fast.modules()
    )  # every BN was folded
    assert_equivalent(model, fast, _input(name, side=64, batch=1))


def test_input_model_is_not_modified():
    model = _model(TINY[0])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    types_before = [type(m) for m in model.modules()]
    optimize_for_inference(model)
    assert [type(m) for m in model.modules()] == types_before
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(
        p.is_contiguous() for p in model.parameters()
    )  # not turned channels_last
    assert not model._forward_hooks and not model._forward_pre_hooks


def test_copy_is_channels_last_and_keeps_dtype_and_training_mode_off():
    model = _model(TINY[0])
    fast = optimize_for_inference(model)
    assert not fast.training
    assert fast.final_layer.weight.is_contiguous(memory_format=torch.channels_last)
    double = optimize_for_inference(model.double())
    assert all(p.dtype == torch.float64 for p in double.parameters())
    assert_equivalent(model, double, _input(TINY[0], 64, 1).double(), rtol=1e-10)
    model.float()
    # channels_last=False leaves the layout as it was: NCHW stays NCHW, channels_last stays so.
    nchw = optimize_for_inference(model, channels_last=False)
    assert all(p.is_contiguous() for p in nchw.parameters())
    assert_equivalent(model, nchw, _input(TINY[0], 64, 1))
    cl = optimize_for_inference(
        model.to(memory_format=torch.channels_last), channels_last=False
    )
    assert cl.final_layer.weight.is_contiguous(memory_format=torch.channels_last)
    assert_equivalent(
        model, cl, _input(TINY[0], 64, 1).contiguous(memory_format=torch.channels_last)
    )
    model.to(memory_format=torch.contiguous_format)


def test_every_exchange_unit_is_fused_and_bn_folded_in_named_pairs():
    model = _model(TINY[1])  # higherhrnet-w8-128: stem, blocks, exchange, deconv head
    fast = optimize_for_inference(model)
    plain_units = [
        m for m in model.modules() if type(m).__name__ == "HighResolutionModule"
    ]
    fused = [m for m in fast.modules() if isinstance(m, FusedHighResolutionModule)]
    assert len(fused) == len(plain_units) > 0
    bns = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    copy = build_model(TINY[1])
    assert fold_batchnorm(copy) == bns


def test_upsample_add_equals_upsample_then_add():
    y = torch.randn(2, 3, 8, 12)
    z = torch.randn(2, 3, 2, 3)
    expected = y + nn.functional.interpolate(z, scale_factor=4, mode="nearest")
    assert torch.equal(_upsample_add_(y.clone(), z), expected)
    ycl = y.contiguous(memory_format=torch.channels_last)
    assert torch.equal(
        _upsample_add_(ycl, z.contiguous(memory_format=torch.channels_last)), expected
    )


def _small_net() -> nn.Module:
    return randomise(nn.Sequential(nn.Conv2d(3, 17, 3, 1, 1), nn.BatchNorm2d(17), nn.ReLU()))


@pytest.mark.parametrize("kind", ["topdown", "bottomup"])
def test_estimators_run_the_inference_copy_unless_told_not_to(kind):
    from posetrack.keypoints import COCO17
    from posetrack.pose.bottomup import BottomUpEstimator
    from posetrack.pose.config import PoseConfig
    from posetrack.pose.topdown import TopDownEstimator

    def build(config):
        net = _small_net()
        if kind == "topdown":
            return net, TopDownEstimator(net, COCO17, config, (32, 32), "cpu")
        return net, BottomUpEstimator(net, COCO17, config, 64, "cpu")

    net, est = build(PoseConfig(weights=None))
    assert est.model is not net and not any(isinstance(m, nn.BatchNorm2d) for m in est.model.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules())  # the caller's network as it was
    x = torch.randn(2, 3, 32, 32)
    assert_equivalent(net, est.model, x)
    net, est = build(PoseConfig(weights=None, optimize=False))
    assert est.model is net


def test_optimize_key_is_validated_at_load():
    from posetrack.configbase import from_dict
    from posetrack.errors import ConfigError
    from posetrack.pose.config import PoseConfig

    assert from_dict(PoseConfig, {"optimize": False}).optimize is False
    with pytest.raises(ConfigError, match="optimize"):
        from_dict(PoseConfig, {"optimize": "yes"})
