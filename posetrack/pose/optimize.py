"""An inference-only copy of a pose network: same outputs (float tolerance), less work per forward.

``optimize_for_inference(model)`` deep-copies the network (training and checkpoints never see the
result) and rewrites the copy:

* **BatchNorm folded** into the convolution (or transposed convolution) that feeds it: in eval mode
  BN is a per-channel affine map, so ``bn(conv(x)) == conv'(x)`` with scaled weights and a bias;
  the BN module becomes an ``Identity`` (one pass over every activation saved per BN);
* **channels_last** weights, and the input converted once on entry (a forward pre-hook), so oneDNN
  runs its NHWC kernels without reordering each layer (the largest gain on x86 CPUs); outputs are
  returned NCHW-contiguous like the plain model's (a forward hook);
* **ReLU and residual add fused into the convolution** (oneDNN post-ops,
  ``torch.ops.mkldnn._convolution_pointwise``, the kernels torch.compile's CPU backend emits): in
  the residual blocks, transitions, exchange down-paths and the stem, saving one or two passes over
  each output; on other devices or dtypes the same modules run the unfused ops;
* **fused upsample + add** in the HRNet exchange units: ``y + upsample(z)`` (nearest, x2^k) is a
  broadcast add into ``y`` viewed as (N, C, h, s, w, s), so the upsampled tensor is never built;
  and the sums are accumulated in place, in the official order.

Each part is measured by ``benchmarks/pose_forward.py --variants`` (plain, fold, fold-cl,
fold-cl-exchange, optimized, compile). BN folding alone does not pay on a CPU (the gain comes
with channels_last and the fused post-ops); ``torch.jit.freeze`` was slower than this and is
deprecated; ``torch.compile`` costs minutes of compilation per input shape, so it is not applied
here (``pose.compile`` is the loop's option). Module names are kept (BN slots hold ``Identity``,
converted modules change class, not name), but the copy is no checkpoint layout any more.
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from posetrack.pose.models.hrnet import (
    BasicBlock,
    Bottleneck,
    HighResolutionModule,
    HRNetBackbone,
)

_CONV = (nn.Conv2d, nn.ConvTranspose2d)


def _fold(conv: nn.Module, bn: nn.BatchNorm2d) -> bool:
    """Fold eval-mode ``bn`` into ``conv`` in place; False when the pair does not qualify."""
    if not isinstance(conv, _CONV) or type(bn) is not nn.BatchNorm2d:
        return False
    if (
        bn.running_mean is None
        or bn.running_var is None
        or conv.out_channels != bn.num_features
    ):
        return False
    if isinstance(conv, nn.ConvTranspose2d) and conv.groups != 1:
        return False  # transposed grouped weights are laid out (in, out/groups): not handled
    weight, bias = fuse_conv_bn_weights(
        conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose=isinstance(conv, nn.ConvTranspose2d),
    )  # fmt: skip
    conv.weight = nn.Parameter(weight.detach(), requires_grad=False)
    conv.bias = nn.Parameter(bias.detach().to(weight.dtype), requires_grad=False)
    return True


# Named conv -> bn pairs inside the official blocks (the rest are Sequential neighbours).
_PAIRS: dict[type, tuple[tuple[str, str], ...]] = {
    BasicBlock: (("conv1", "bn1"), ("conv2", "bn2")),
    Bottleneck: (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")),
    HRNetBackbone: (("conv1", "bn1"), ("conv2", "bn2")),
}


def fold_batchnorm(model: nn.Module) -> int:
    """Fold every BN that directly follows a conv (in place); returns how many were folded.

    Pairs are the named ones of the HRNet blocks and stem, and neighbours in any ``nn.Sequential``
    (HRNet fusion/transition layers, the deconv head, torchvision's Conv2dNormActivation).
    """
    folded = 0
    for module in model.modules():
        for cls, pairs in _PAIRS.items():
            if isinstance(module, cls):
                for conv_name, bn_name in pairs:
                    if _fold(getattr(module, conv_name), getattr(module, bn_name)):
                        setattr(module, bn_name, nn.Identity())
                        folded += 1
        if isinstance(module, nn.Sequential):
            children = list(module._modules.items())
            for (_, conv), (bn_name, bn) in itertools.pairwise(children):
                if _fold(conv, bn):
                    module._modules[bn_name] = nn.Identity()
                    folded += 1
    return folded


def _onednn(x: Tensor, conv: nn.Conv2d) -> bool:
    """Whether oneDNN's fused convolution applies: a float32 CPU tensor and a plain zero-padded conv."""
    if torch.compiler.is_compiling():
        return False  # under torch.compile the plain ops let the compiler fuse them itself
    return (
        x.device.type == "cpu" and x.dtype == torch.float32 and conv.weight.dtype == torch.float32
        and torch.backends.mkldnn.is_available() and conv.padding_mode == "zeros"
        and not isinstance(conv.padding, str)
    )  # fmt: skip


class ReLUConv2d(nn.Conv2d):
    """A Conv2d (BN already folded into it) whose ReLU, and optionally a residual add, run inside the
    oneDNN convolution as post-ops, saving one or two passes over the output.

    Instances are converted from the network's own Conv2d (``__class__`` swap), so parameter names
    stay. Elsewhere than a float32 CPU tensor the same result comes from the unfused ops.
    """

    def _args(self) -> tuple:
        return (list(self.padding), list(self.stride), list(self.dilation), self.groups)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        if _onednn(x, self):
            return torch.ops.mkldnn._convolution_pointwise(
                x, self.weight, self.bias, *self._args(), "relu", [], ""
            )
        return torch.relu_(super().forward(x))

    def add_relu(self, x: Tensor, other: Tensor) -> Tensor:
        """relu(conv(x) + other)."""
        if (
            _onednn(x, self)
            and other.dtype == x.dtype
            and other.shape[1] == self.out_channels
        ):
            return torch.ops.mkldnn._convolution_pointwise.binary(
                x,
                other,
                self.weight,
                self.bias,
                *self._args(),
                "add",
                1.0,
                "relu",
                [],
                "",
            )
        return torch.relu_(super().forward(x).add_(other))


class FusedBasicBlock(BasicBlock):
    """BasicBlock with BN folded and ReLU / residual add fused into its convolutions."""

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        residual = x if self.downsample is None else self.downsample(x)
        return self.conv2.add_relu(self.conv1(x), residual)  # type: ignore[operator]


class FusedBottleneck(Bottleneck):
    """Bottleneck with BN folded and ReLU / residual add fused into its convolutions."""

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        residual = x if self.downsample is None else self.downsample(x)
        return self.conv3.add_relu(self.conv2(self.conv1(x)), residual)  # type: ignore[operator]


def _relu_conv(conv: nn.Module) -> bool:
    if type(conv) is nn.Conv2d:
        conv.__class__ = ReLUConv2d
        return True
    return False


def fuse_relu(model: nn.Module) -> int:
    """After :func:`fold_batchnorm`: ReLU (and residual adds) into the convolutions; returns the count.

    Blocks get the fused forward; ``Sequential(conv, Identity, ReLU)`` runs (transitions, exchange
    down-paths) and the stem (conv1/bn1/relu, conv2/bn2/relu; its ``relu`` is used nowhere else)
    get a ReLU convolution and the ReLU module becomes an Identity.
    """
    count = 0
    for module in list(model.modules()):
        if type(module) is BasicBlock and all(
            isinstance(module._modules[b], nn.Identity) for b in ("bn1", "bn2")
        ):
            if _relu_conv(module.conv1) and _relu_conv(module.conv2):
                module.__class__ = FusedBasicBlock
                count += 1
        elif type(module) is Bottleneck and all(
            isinstance(module._modules[b], nn.Identity) for b in ("bn1", "bn2", "bn3")
        ):
            if (
                _relu_conv(module.conv1)
                and _relu_conv(module.conv2)
                and _relu_conv(module.conv3)
            ):
                module.__class__ = FusedBottleneck
                count += 1
        elif isinstance(module, HRNetBackbone) and all(
            isinstance(module._modules[b], nn.Identity) for b in ("bn1", "bn2")
        ):
            if _relu_conv(module.conv1) and _relu_conv(module.conv2):
                module.relu = nn.Identity()
                count += 1
        elif isinstance(module, nn.Sequential):
            names = list(module._modules)
            for a, b, c in zip(names, names[1:], names[2:]):
                conv, bn, act = (
                    module._modules[a],
                    module._modules[b],
                    module._modules[c],
                )
                if (
                    isinstance(bn, nn.Identity)
                    and type(act) is nn.ReLU
                    and _relu_conv(conv)
                ):
                    module._modules[c] = nn.Identity()
                    count += 1
    return count


def _upsample_add_(y: Tensor, z: Tensor) -> Tensor:
    """``y += nearest_upsample(z)`` without building the upsampled tensor (y is owned, in place)."""
    sh, sw = y.shape[2] // z.shape[2], y.shape[3] // z.shape[3]
    if sh * z.shape[2] != y.shape[2] or sw * z.shape[3] != y.shape[3]:
        return y.add_(nn.functional.interpolate(z, size=y.shape[2:], mode="nearest"))
    n, c, h, w = z.shape
    y.view(n, c, h, sh, w, sw).add_(z[:, :, :, None, :, None])
    return y


class FusedHighResolutionModule(HighResolutionModule):
    """HighResolutionModule whose exchange adds upsampled branches in place (same sums, same order).

    Only ``forward`` differs; instances are converted by changing their class (no new parameters).
    The summation order is the official one (branch 0, 1, ..., n-1), so results match to rounding.
    """

    def forward(self, xs: list[Tensor]) -> list[Tensor]:  # type: ignore[override]
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        fused = []
        for i, row in enumerate(self.fuse_layers):
            y: Tensor | None = None
            for j in range(self.num_branches):
                if j == i:
                    term = xs[j]
                elif j > i:
                    # conv + (folded) BN at the low resolution; the upsample is fused into the add
                    # (y is set: branch 0 always comes first and j > i >= 0).
                    assert y is not None
                    y = _upsample_add_(y, row[j][1](row[j][0](xs[j])))
                    continue
                else:
                    term = row[j](xs[j])
                if y is None:
                    # The first term is copied when it is a branch output (reused by the other rows).
                    y = term.clone() if j == i else term
                else:
                    y = y.add_(term)
            fused.append(torch.relu_(y))
        return fused


def _fusable(module: HighResolutionModule) -> bool:
    """True when every up-path of the exchange is the official conv, BN, nearest Upsample."""
    for i, row in enumerate(module.fuse_layers or []):
        for up in list(row)[i + 1 :]:
            if not (
                isinstance(up, nn.Sequential)
                and len(up) == 3
                and isinstance(up[2], nn.Upsample)
            ):
                return False
            if up[2].mode != "nearest":
                return False
    return True


def _fuse_exchange(model: nn.Module) -> int:
    """Give every official exchange unit the fused forward; returns how many were converted."""
    count = 0
    for module in model.modules():
        if type(module) is HighResolutionModule and _fusable(module):
            module.__class__ = FusedHighResolutionModule
            count += 1
    return count


def _channels_last_input(module: nn.Module, args: tuple) -> tuple:
    """Forward pre-hook: the image batch in channels_last (a no-op when it already is)."""
    x, *rest = args
    return (
        (x.contiguous(memory_format=torch.channels_last), *rest)
        if isinstance(x, Tensor)
        else args
    )


def _contiguous_output(module: nn.Module, args: tuple, out):
    """Forward hook: outputs in the plain layout (NCHW-contiguous), as the plain model returns them."""
    if isinstance(out, Tensor):
        return out.contiguous()
    if isinstance(out, (list, tuple)):
        return type(out)(o.contiguous() if isinstance(o, Tensor) else o for o in out)
    return out


def optimize_for_inference(
    model: nn.Module,
    channels_last: bool = True,
    fuse_exchange: bool = True,
    fuse_activations: bool = True,
) -> nn.Module:
    """An equivalent eval-mode copy of ``model`` for inference; ``model`` itself is not modified.

    BN folded into the convolutions, fused upsample+add in the HRNet exchange units, and (unless
    ``channels_last=False``) channels_last weights with the input converted on entry. Outputs equal
    the plain model's within float rounding (tested to 1e-4 relative) in its dtype and on its device.
    """
    net = copy.deepcopy(model).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    fold_batchnorm(net)
    if fuse_activations:
        fuse_relu(net)
    if fuse_exchange:
        _fuse_exchange(net)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        net.register_forward_pre_hook(_channels_last_input)
        net.register_forward_hook(_contiguous_output)
    return net


__all__ = [
    "FusedHighResolutionModule",
    "ReLUConv2d",
    "fold_batchnorm",
    "fuse_relu",
    "optimize_for_inference",
]
