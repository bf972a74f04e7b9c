"""HRNet (HRNetV1) backbone and top-down heatmap head, in the official checkpoint layout.

Module names, registration order and constructor details follow the official
``PoseHighResolutionNet`` (HRNet/deep-high-resolution-net.pytorch) so that the released weights load
with ``load_state_dict(strict=True)``: stem ``conv1/bn1/conv2/bn2``, ``layer1`` (4 bottlenecks),
``transitionN`` ModuleLists with ``None`` slots, ``stageN`` of HighResolutionModules with
``branches`` and ``fuse_layers`` (nearest upsampling), and a 1x1 ``final_layer``.
Everything is configured by explicit constructor arguments; there is no global config object.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

BN_MOMENTUM = 0.1  # official value; only matters for training


def conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs with an identity (or projected) shortcut; expansion 1."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4) with a shortcut; used by ``layer1``."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + residual)


def make_blocks(block: type[nn.Module], inplanes: int, planes: int, num_blocks: int, stride: int = 1) -> nn.Sequential:
    """A run of residual blocks; the first gets a 1x1 projection when the shape changes (official rule)."""
    expansion = block.expansion  # type: ignore[attr-defined]
    downsample = None
    if stride != 1 or inplanes != planes * expansion:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes * expansion, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(planes * expansion, momentum=BN_MOMENTUM),
        )
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(planes * expansion, planes) for _ in range(1, num_blocks)]
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    """Parallel branches followed by a full exchange (fusion) between resolutions.

    ``fuse_layers[i][j]`` carries branch ``j`` to output ``i``: identity (None) when ``i == j``,
    1x1 conv + BN + nearest upsampling from lower resolutions, and a chain of stride-2 3x3 convs from
    higher ones. With ``multi_scale_output=False`` only the highest-resolution output is fused.
    """

    def __init__(
        self,
        block: type[nn.Module],
        num_blocks: Sequence[int],
        in_channels: Sequence[int],
        channels: Sequence[int],
        multi_scale_output: bool = True,
    ) -> None:
        super().__init__()
        if not (len(num_blocks) == len(in_channels) == len(channels)):
            raise ValueError("num_blocks, in_channels and channels need one entry per branch")
        self.num_branches = len(channels)
        self.multi_scale_output = multi_scale_output
        expansion = block.expansion  # type: ignore[attr-defined]
        self.branches = nn.ModuleList(
            make_blocks(block, in_channels[b], channels[b], num_blocks[b]) for b in range(self.num_branches)
        )
        self.out_channels = [c * expansion for c in channels]
        self.fuse_layers = self._make_fuse_layers(self.out_channels)
        self.relu = nn.ReLU(inplace=True)

    def _make_fuse_layers(self, ch: list[int]) -> nn.ModuleList | None:
        n = self.num_branches
        if n == 1:
            return None
        fuse = nn.ModuleList()
        for i in range(n if self.multi_scale_output else 1):
            row: list[nn.Module | None] = []
            for j in range(n):
                if j > i:
                    row.append(
                        nn.Sequential(
                            nn.Conv2d(ch[j], ch[i], 1, 1, 0, bias=False),
                            nn.BatchNorm2d(ch[i], momentum=BN_MOMENTUM),
                            nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"),
                        )
                    )
                elif j == i:
                    row.append(None)
                else:
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        out = ch[i] if last else ch[j]
                        layers: list[nn.Module] = [conv3x3(ch[j], out, 2), nn.BatchNorm2d(out, momentum=BN_MOMENTUM)]
                        if not last:
                            layers.append(nn.ReLU(inplace=True))
                        steps.append(nn.Sequential(*layers))
                    row.append(nn.Sequential(*steps))
            fuse.append(nn.ModuleList(row))
        return fuse

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        fused = []
        for i, row in enumerate(self.fuse_layers):
            y = xs[0] if i == 0 else row[0](xs[0])
            for j in range(1, self.num_branches):
                y = y + (xs[j] if i == j else row[j](xs[j]))
            fused.append(self.relu(y))
        return fused


def make_transition(pre: Sequence[int], cur: Sequence[int]) -> nn.ModuleList:
    """Official transition: adapt existing branches (None if unchanged), add new ones by stride-2 convs."""
    layers: list[nn.Module | None] = []
    for i, c in enumerate(cur):
        if i < len(pre):
            layers.append(
                None
                if c == pre[i]
                else nn.Sequential(conv3x3(pre[i], c), nn.BatchNorm2d(c, momentum=BN_MOMENTUM), nn.ReLU(inplace=True))
            )
            continue
        steps = []
        for k in range(i + 1 - len(pre)):
            out = c if k == i - len(pre) else pre[-1]
            steps.append(
                nn.Sequential(conv3x3(pre[-1], out, 2), nn.BatchNorm2d(out, momentum=BN_MOMENTUM), nn.ReLU(inplace=True))
            )
        layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


def make_stage(
    num_modules: int,
    block: type[nn.Module],
    num_blocks: Sequence[int],
    in_channels: Sequence[int],
    channels: Sequence[int],
    multi_scale_output: bool = True,
) -> tuple[nn.Sequential, list[int]]:
    """``num_modules`` HighResolutionModules; only the last may drop the low-resolution outputs."""
    modules = []
    ch = list(in_channels)
    for m in range(num_modules):
        mod = HighResolutionModule(
            block, num_blocks, ch, channels, multi_scale_output or m < num_modules - 1
        )
        modules.append(mod)
        ch = mod.out_channels
    return nn.Sequential(*modules), ch


def apply_transition(transition: nn.ModuleList, xs: list[Tensor]) -> list[Tensor]:
    """Existing branches pass (or are adapted); new branches come from the lowest-resolution output."""
    out = []
    for i, t in enumerate(transition):
        if i < len(xs):
            out.append(xs[i] if t is None else t(xs[i]))
        else:
            out.append(t(xs[-1]))
    return out


def init_official(model: nn.Module) -> None:
    """Official init_weights: convs and deconvs N(0, 0.001), biases 0, BN weight 1 and bias 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, std=0.001)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


class HRNetBackbone(nn.Module):
    """HRNetV1 backbone; ``forward_features`` returns the stage-4 outputs (branch 0 first, at 1/4).

    ``width`` is C (branch b has C*2^b channels); ``stage_modules`` are the HighResolutionModules of
    stages 2/3/4 (official 1/4/3); ``blocks_per_branch`` residual units per branch (official 4).
    The last stage keeps only the 1/4 output (``multi_scale_output=False``), as the official pose nets.
    """

    def __init__(
        self,
        width: int = 32,
        stage_modules: Sequence[int] = (1, 4, 3),
        blocks_per_branch: int = 4,
        stem_width: int = 64,
        layer1_blocks: int = 4,
    ) -> None:
        super().__init__()
        if len(stage_modules) != 3:
            raise ValueError("stage_modules needs three entries (stages 2, 3, 4)")
        self.width = width
        self.conv1 = nn.Conv2d(3, stem_width, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(stem_width, stem_width, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(stem_width, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = make_blocks(Bottleneck, stem_width, 64, layer1_blocks)
        pre = [64 * Bottleneck.expansion]
        for s, n_mod in enumerate(stage_modules, start=2):
            ch = [width * 2**b for b in range(s)]
            setattr(self, f"transition{s - 1}", make_transition(pre, ch))
            stage, pre = make_stage(n_mod, BasicBlock, [blocks_per_branch] * s, ch, ch, multi_scale_output=s < 4)
            setattr(self, f"stage{s}", stage)

    def forward_features(self, x: Tensor) -> list[Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for s in (2, 3, 4):
            xs = apply_transition(getattr(self, f"transition{s - 1}"), xs)
            xs = getattr(self, f"stage{s}")(xs)
        return xs


class HRNet(HRNetBackbone):
    """Top-down HRNet: backbone + 1x1 ``final_layer``; forward returns (N, K, H/4, W/4) heatmaps."""

    def __init__(
        self,
        width: int = 32,
        num_joints: int = 17,
        stage_modules: Sequence[int] = (1, 4, 3),
        blocks_per_branch: int = 4,
        final_conv_kernel: int = 1,
    ) -> None:
        super().__init__(width, stage_modules, blocks_per_branch)
        self.num_joints = num_joints
        self.final_layer = nn.Conv2d(
            width, num_joints, final_conv_kernel, 1, 1 if final_conv_kernel == 3 else 0
        )
        init_official(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.final_layer(self.forward_features(x)[0])


__all__ = [
    "BasicBlock",
    "Bottleneck",
    "HighResolutionModule",
    "HRNetBackbone",
    "HRNet",
    "make_blocks",
    "make_stage",
    "make_transition",
    "apply_transition",
    "init_official",
]
