"""HigherHRNet (bottom-up): the HRNet backbone plus a deconvolution head, in the official layout.

Layout of HRNet/HigherHRNet-Human-Pose-Estimation ``PoseHigherResolutionNet`` with one deconv module
(the COCO configs): ``final_layers.0`` (C -> K heatmaps + K tags at 1/4), ``deconv_layers.0`` =
[ConvTranspose2d(C+2K -> C, 4, 2, 1)+BN+ReLU, then BasicBlocks each wrapped in its own Sequential],
``final_layers.1`` (C -> K heatmaps at 1/2). The deconv input is ``cat([features, y0])``, features
first, as the official code concatenates.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from posetrack.pose.models.hrnet import BN_MOMENTUM, BasicBlock, HRNetBackbone, init_official


def make_deconv_head(in_channels: int, channels: int, num_basic_blocks: int) -> nn.Sequential:
    """Official deconv module: 4x4 stride-2 transposed conv (no bias) + BN + ReLU, then residual blocks.

    Each BasicBlock sits in its own Sequential, which is why official keys read ``deconv_layers.0.1.0.conv1``.
    """
    layers: list[nn.Module] = [
        nn.Sequential(
            nn.ConvTranspose2d(in_channels, channels, 4, stride=2, padding=1, output_padding=0, bias=False),
            nn.BatchNorm2d(channels, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
        )
    ]
    layers += [nn.Sequential(BasicBlock(channels, channels)) for _ in range(num_basic_blocks)]
    return nn.Sequential(*layers)


def head_forward(final_layers: nn.ModuleList, deconv_layers: nn.ModuleList, x: Tensor) -> list[Tensor]:
    """y0 = final_layers[0](x); for each deconv: x = deconv(cat([x, y_prev])); y = final_layers[i+1](x)."""
    y = final_layers[0](x)
    outputs = [y]
    for i, deconv in enumerate(deconv_layers):
        x = deconv(torch.cat((x, y), dim=1))
        y = final_layers[i + 1](x)
        outputs.append(y)
    return outputs


def make_head(
    width: int, num_joints: int, num_basic_blocks: int, with_tags: bool = True
) -> tuple[nn.ModuleList, nn.ModuleList]:
    """``final_layers`` (1/4: K heatmaps + K tags; 1/2: K heatmaps) and ``deconv_layers`` (one module)."""
    y0_channels = 2 * num_joints if with_tags else num_joints
    final_layers = nn.ModuleList(
        [nn.Conv2d(width, y0_channels, 1, 1, 0), nn.Conv2d(width, num_joints, 1, 1, 0)]
    )
    deconv_layers = nn.ModuleList([make_deconv_head(width + y0_channels, width, num_basic_blocks)])
    return final_layers, deconv_layers


class HigherHRNet(HRNetBackbone):
    """HigherHRNet-W{width}; forward returns ``[y0 (N, 2K, H/4, W/4), y1 (N, K, H/2, W/2)]``."""

    def __init__(
        self,
        width: int = 32,
        num_joints: int = 17,
        stage_modules: Sequence[int] = (1, 4, 3),
        blocks_per_branch: int = 4,
        deconv_basic_blocks: int = 4,
    ) -> None:
        super().__init__(width, stage_modules, blocks_per_branch)
        self.num_joints = num_joints
        self.final_layers, self.deconv_layers = make_head(width, num_joints, deconv_basic_blocks)
        init_official(self)

    def forward(self, x: Tensor) -> list[Tensor]:
        return head_forward(self.final_layers, self.deconv_layers, self.forward_features(x)[0])


__all__ = ["HigherHRNet", "make_head", "head_forward", "make_deconv_head"]
