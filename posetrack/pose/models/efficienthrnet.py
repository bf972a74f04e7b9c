"""EfficientHRNet H0 .. H-4 (Neff et al., 2020): EfficientNet backbone + HRNet-style high-resolution
network + HigherHRNet-style two-resolution head.

The family is specified by the paper's Table 1 (copied verbatim in ``EFFICIENTHRNET_TABLE``; see
/work/shared/reference/papers.md 1.3 and section 5 note 18):

* backbone: EfficientNet-B0 scaled below B0 by compound scaling, depth 1.2^phi and width 1.1^phi,
  built from torchvision's EfficientNet blocks (``_efficientnet_conf``/``EfficientNet.features``).
  Features are taken at 1/4, 1/8, 1/16 and 1/32 (ends of torchvision stages 2, 3, 5 and 7; the 1x1
  1280-channel classifier conv is not used);
* high-resolution network: stages s1/s2/s3 (= HRNet stages 2/3/4) with M_s2/M_s3/M_s4 modules;
  branch b_n (W_bn channels, 1/2^(n+1) resolution) enters at its stage from the backbone feature of
  the same resolution through a 3x3 conv + BN + ReLU; every module has two residual blocks per
  branch and the HRNet fusion; the last module keeps the 1/4 output only;
* head: 1x1 conv to 17 heatmaps + 17 tags at 1/4; DeConv block (4x4 transposed conv on
  cat([features, y0]), BN, ReLU, then TWO residual blocks, width W_b1); 1x1 conv to 17 heatmaps at 1/2.

There are no public EfficientHRNet weights; these are random-initialised architectures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn
from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

from posetrack.pose.models.higherhrnet import head_forward, make_head
from posetrack.pose.models.hrnet import BN_MOMENTUM, BasicBlock, init_official, make_stage


@dataclass(frozen=True)
class EfficientHRNetConfig:
    """One row of EfficientHRNet Table 1."""

    phi: int
    input_size: int  # R_input = 512 + 32 phi
    widths: tuple[int, int, int, int]  # W_b1..W_b4
    stage_modules: tuple[int, int, int]  # M_s2, M_s3, M_s4


# Table 1 of the EfficientHRNet paper, verbatim (widths do not follow Eq. 5; the table wins).
EFFICIENTHRNET_TABLE: dict[str, EfficientHRNetConfig] = {
    "h0": EfficientHRNetConfig(0, 512, (32, 64, 128, 256), (1, 4, 3)),
    "h-1": EfficientHRNetConfig(-1, 480, (26, 52, 103, 206), (1, 3, 3)),
    "h-2": EfficientHRNetConfig(-2, 448, (21, 42, 83, 166), (1, 2, 3)),
    "h-3": EfficientHRNetConfig(-3, 416, (17, 34, 67, 133), (1, 1, 3)),
    "h-4": EfficientHRNetConfig(-4, 384, (14, 27, 54, 107), (1, 1, 2)),
}

# torchvision EfficientNet ``features`` indices whose outputs are at 1/4, 1/8, 1/16, 1/32.
_FEATURE_TAPS = (2, 3, 5, 7)


def efficientnet_features(phi: int, stochastic_depth_prob: float = 0.2) -> tuple[nn.Sequential, list[int]]:
    """EfficientNet-B(phi) feature stages 0..7 (compound scaling: depth 1.2^phi, width 1.1^phi).

    Returns the stages and the channel counts at the four taps.
    """
    setting, _ = _efficientnet_conf("efficientnet_b0", width_mult=1.1**phi, depth_mult=1.2**phi)
    net = EfficientNet(setting, dropout=0.2, stochastic_depth_prob=stochastic_depth_prob)
    features = nn.Sequential(*list(net.features.children())[: _FEATURE_TAPS[-1] + 1])
    channels = [setting[t - 1].out_channels for t in _FEATURE_TAPS]
    return features, channels


class EfficientHRNet(nn.Module):
    """EfficientHRNet; forward returns ``[y0 (N, 2K, H/4, W/4), y1 (N, K, H/2, W/2)]`` like HigherHRNet."""

    def __init__(
        self,
        phi: int,
        widths: Sequence[int],
        stage_modules: Sequence[int],
        num_joints: int = 17,
        blocks_per_branch: int = 2,
        deconv_basic_blocks: int = 2,
    ) -> None:
        super().__init__()
        if len(widths) != 4 or len(stage_modules) != 3:
            raise ValueError("EfficientHRNet needs 4 branch widths and 3 stage module counts")
        self.phi = phi
        self.num_joints = num_joints
        self.backbone, feat_ch = efficientnet_features(phi)
        # One entry adapter per branch: backbone feature of that resolution -> W_bn channels.
        self.transitions = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(feat_ch[b], widths[b], 3, 1, 1, bias=False),
                nn.BatchNorm2d(widths[b], momentum=BN_MOMENTUM),
                nn.ReLU(inplace=True),
            )
            for b in range(4)
        )
        stages = []
        for s, n_mod in enumerate(stage_modules):
            n_br = s + 2
            ch = list(widths[:n_br])
            stage, _ = make_stage(n_mod, BasicBlock, [blocks_per_branch] * n_br, ch, ch, multi_scale_output=s < 2)
            stages.append(stage)
        self.stages = nn.ModuleList(stages)
        self.final_layers, self.deconv_layers = make_head(widths[0], num_joints, deconv_basic_blocks)
        for m in (self.transitions, self.stages, self.final_layers, self.deconv_layers):
            init_official(m)

    def backbone_features(self, x: Tensor) -> list[Tensor]:
        """Backbone outputs at 1/4, 1/8, 1/16, 1/32."""
        taps = []
        for i, stage in enumerate(self.backbone):
            x = stage(x)
            if i in _FEATURE_TAPS:
                taps.append(x)
        return taps

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = [t(f) for t, f in zip(self.transitions, self.backbone_features(x))]
        xs = feats[:2]
        for s, stage in enumerate(self.stages):
            if s > 0:
                xs = xs + [feats[s + 1]]
            xs = stage(xs)
        return head_forward(self.final_layers, self.deconv_layers, xs[0])


def efficienthrnet(variant: str, num_joints: int = 17) -> EfficientHRNet:
    """Build a Table-1 variant by name: 'h0', 'h-1', 'h-2', 'h-3' or 'h-4'."""
    cfg = EFFICIENTHRNET_TABLE[variant]
    return EfficientHRNet(cfg.phi, cfg.widths, cfg.stage_modules, num_joints)


__all__ = ["EfficientHRNet", "EfficientHRNetConfig", "EFFICIENTHRNET_TABLE", "efficienthrnet", "efficientnet_features"]
