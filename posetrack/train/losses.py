"""Training losses, called like and valued like the official ones (vectorised over joints/people).

* :class:`JointsMSELoss`, :class:`JointsOHKMMSELoss`: HRNet ``lib/core/loss.py``;
* :class:`HeatmapLoss`, :class:`AELoss`, :class:`MultiResolutionLoss`: HigherHRNet
  ``lib/core/loss.py`` (``MultiLossFactory``) and how ``do_train`` sums them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


def _joint_weight(weight: Tensor, n: int, k: int) -> Tensor:
    """Accept (N, K) or (N, K, 1) weights; (N, K, 1) for broadcasting over pixels."""
    return weight.reshape(n, k, 1).to(dtype=torch.float32) if weight.numel() == n * k else weight


def _per_joint_mse(output: Tensor, target: Tensor, weight: Tensor | None) -> Tensor:
    """(N, K) of 0.5 * mean over pixels of (w * pred - w * gt)^2.

    Official quirk kept: the weight multiplies prediction and target *before* the difference, so
    the loss scales with the squared weight (joints_weight 1.5 counts 2.25x).
    """
    n, k = output.shape[:2]
    pred = output.reshape(n, k, -1).float()
    gt = target.reshape(n, k, -1).float()
    if weight is not None:
        w = _joint_weight(weight, n, k)
        pred, gt = pred.mul(w), gt.mul(w)
    return 0.5 * (pred - gt).pow(2).mean(dim=2)


class JointsMSELoss(nn.Module):
    """HRNet's loss: the per-joint MSE (x 0.5), each a mean over batch and pixels, averaged over joints."""

    def __init__(self, use_target_weight: bool) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor) -> Tensor:
        per = _per_joint_mse(output, target, target_weight if self.use_target_weight else None)
        # official: sum over joints of (mean over batch and pixels), divided by the joint count
        return per.mean(dim=0).sum() / output.shape[1]


class JointsOHKMMSELoss(nn.Module):
    """Online hard keypoint mining: per sample, the mean of its ``topk`` largest joint losses."""

    def __init__(self, use_target_weight: bool, topk: int = 8) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight
        self.topk = topk

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor) -> Tensor:
        per = _per_joint_mse(output, target, target_weight if self.use_target_weight else None)
        top, _ = torch.topk(per, k=self.topk, dim=1, sorted=False)
        return (top.sum(dim=1) / self.topk).mean()


class HeatmapLoss(nn.Module):
    """Masked squared error, one value per image: mean over joints and pixels of mask * (p - g)^2."""

    def forward(self, pred: Tensor, gt: Tensor, mask: Tensor) -> Tensor:
        if pred.shape != gt.shape:
            raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(gt.shape)} differ")
        loss = (pred - gt) ** 2 * mask[:, None, :, :].expand_as(pred)
        return loss.mean(dim=3).mean(dim=2).mean(dim=1)


class AELoss(nn.Module):
    """Associative-embedding grouping loss; returns (push, pull), each (N,), one value per image.

    ``tags`` (N, L) or (N, L, 1): flattened tag maps; ``joints`` (N, M, K, 2): flat index into L
    and a valid flag (from :func:`~posetrack.train.targets.bottomup_joints`). Per image, as the
    official ``singleTagLoss``: pull = mean over people (with >= 1 valid joint) of the variance of
    their tags around their mean tag; push over those people's mean tags, 'exp':
    (sum_ij exp(-(t_i - t_j)^2) - n) / ((n - 1) n) * 0.5, 'max': the same with max(0, 1 - |t_i - t_j|);
    0 with fewer than two people (no pull either with none). Scalar tags only (tag dim 1).
    """

    def __init__(self, loss_type: str = "exp") -> None:
        super().__init__()
        if loss_type not in ("exp", "max"):
            raise ValueError(f"unknown AE loss type {loss_type!r} (exp, max)")
        self.loss_type = loss_type

    def forward(self, tags: Tensor, joints: Tensor) -> tuple[Tensor, Tensor]:
        n = tags.shape[0]
        tags = tags.reshape(n, -1).float()
        joints = joints.to(tags.device).long()
        m, k = joints.shape[1], joints.shape[2]
        valid = (joints[..., 1] > 0).float()  # (N, M, K)
        t = tags.gather(1, joints[..., 0].reshape(n, -1)).reshape(n, m, k)
        count = valid.sum(dim=2)  # (N, M)
        has = count > 0
        denom = count.clamp(min=1)
        mean = (t * valid).sum(dim=2) / denom
        pull_p = (valid * (t - mean[..., None]) ** 2).sum(dim=2) / denom
        num = has.sum(dim=1).float()  # people with a tag, per image
        pull = (pull_p * has).sum(dim=1) / num.clamp(min=1)
        diff = mean[:, :, None] - mean[:, None, :]
        pair = (has[:, :, None] & has[:, None, :]).float()
        if self.loss_type == "exp":
            push = (torch.exp(-diff.pow(2)) * pair).sum(dim=(1, 2)) - num
        else:
            push = (torch.clamp(1 - diff.abs(), min=0) * pair).sum(dim=(1, 2)) - num
        push = torch.where(num > 1, push / ((num - 1) * num).clamp(min=1) * 0.5, torch.zeros_like(push))
        return push, pull


class MultiResolutionLoss(nn.Module):
    """HigherHRNet's ``MultiLossFactory``: heatmap loss at every resolution, AE where enabled.

    Defaults are the official COCO config: two resolutions, heatmap factors (1, 1), AE at the
    first (1/4) output only, push and pull factors 1e-3, 'exp'. ``forward`` returns three lists
    (one entry per resolution, ``None`` where a loss is off) of per-image losses, already scaled;
    :meth:`total` sums them as ``do_train`` does (each averaged over the batch).
    """

    def __init__(
        self,
        num_joints: int,
        with_heatmaps_loss: Sequence[bool] = (True, True),
        heatmaps_loss_factor: Sequence[float] = (1.0, 1.0),
        with_ae_loss: Sequence[bool] = (True, False),
        push_loss_factor: Sequence[float] = (1e-3, 1e-3),
        pull_loss_factor: Sequence[float] = (1e-3, 1e-3),
        ae_loss_type: str = "exp",
    ) -> None:
        super().__init__()
        lens = {len(with_heatmaps_loss), len(heatmaps_loss_factor), len(with_ae_loss),
                len(push_loss_factor), len(pull_loss_factor)}
        if len(lens) != 1:
            raise ValueError("every multi-resolution loss setting needs one entry per resolution")
        self.num_joints = num_joints
        self.with_heatmaps = list(with_heatmaps_loss)
        self.with_ae = list(with_ae_loss)
        self.heatmaps_factor = list(heatmaps_loss_factor)
        self.push_factor = list(push_loss_factor)
        self.pull_factor = list(pull_loss_factor)
        self.heatmap_loss = HeatmapLoss()
        self.ae_loss = AELoss(ae_loss_type)

    def forward(
        self, outputs: Sequence[Tensor], heatmaps: Sequence[Tensor], masks: Sequence[Tensor],
        joints: Sequence[Tensor],
    ) -> tuple[list[Tensor | None], list[Tensor | None], list[Tensor | None]]:
        if not (len(outputs) == len(heatmaps) == len(masks) == len(joints) == len(self.with_ae)):
            raise ValueError(
                f"{len(outputs)} outputs, {len(heatmaps)} heatmaps, {len(masks)} masks, {len(joints)} joints "
                f"for a loss over {len(self.with_ae)} resolutions"
            )
        hm_losses: list[Tensor | None] = []
        pushes: list[Tensor | None] = []
        pulls: list[Tensor | None] = []
        for i, out in enumerate(outputs):
            out = out.float()
            offset = 0
            if self.with_heatmaps[i]:
                offset = self.num_joints
                hm = self.heatmap_loss(out[:, : self.num_joints], heatmaps[i], masks[i])
                hm_losses.append(hm * self.heatmaps_factor[i])
            else:
                hm_losses.append(None)
            if self.with_ae[i]:
                tags = out[:, offset:].contiguous().reshape(out.shape[0], -1, 1)
                push, pull = self.ae_loss(tags, joints[i])
                pushes.append(push * self.push_factor[i])
                pulls.append(pull * self.pull_factor[i])
            else:
                pushes.append(None)
                pulls.append(None)
        return hm_losses, pushes, pulls

    @staticmethod
    def total(hm_losses, pushes, pulls) -> Tensor:
        """The scalar do_train back-propagates. Official quirk: push/pull of a resolution count only
        when that resolution also has a heatmap loss."""
        loss = 0
        for hm, push, pull in zip(hm_losses, pushes, pulls):
            if hm is None:
                continue
            loss = loss + hm.mean(dim=0)
            if push is not None:
                loss = loss + push.mean(dim=0)
            if pull is not None:
                loss = loss + pull.mean(dim=0)
        return loss
