"""Each loss against a small case computed by hand (and the official per-joint loop)."""

import math

import pytest
import torch

from posetrack.train.losses import AELoss, HeatmapLoss, JointsMSELoss, JointsOHKMMSELoss, MultiResolutionLoss


def test_joints_mse_hand_case():
    # N=1, K=2, 1x2 maps: joint 0 error (1, 0), joint 1 error (2, 2)
    out = torch.tensor([[[[1.0, 0.0]], [[2.0, 2.0]]]])
    gt = torch.zeros_like(out)
    w = torch.tensor([[1.0, 0.5]])
    # unweighted: 0.5 * mean([1, 0]) = 0.25 ; 0.5 * mean([4, 4]) = 2  -> (0.25 + 2) / 2
    assert JointsMSELoss(False)(out, gt, w).item() == pytest.approx(1.125)
    # weighted (weight squared, the official pred*w - gt*w): 0.25 ; 0.5 * mean([1, 1]) = 0.5 -> 0.375
    assert JointsMSELoss(True)(out, gt, w).item() == pytest.approx(0.375)
    assert JointsMSELoss(True)(out, gt, w[..., None]).item() == pytest.approx(0.375)  # (N, K, 1)


def test_joints_mse_equals_official_loop():
    g = torch.Generator().manual_seed(0)
    out, gt = torch.rand(3, 5, 4, 6, generator=g), torch.rand(3, 5, 4, 6, generator=g)
    w = torch.rand(3, 5, 1, generator=g)
    ref = 0
    crit = torch.nn.MSELoss()
    for k in range(5):
        p, t = out[:, k].reshape(3, -1), gt[:, k].reshape(3, -1)
        ref += 0.5 * crit(p.mul(w[:, k]), t.mul(w[:, k]))
    assert JointsMSELoss(True)(out, gt, w).item() == pytest.approx((ref / 5).item(), rel=1e-6)


def test_ohkm_hand_case():
    # N=2, K=3, one pixel each; per-joint 0.5 * e^2
    out = torch.tensor([[1.0, 2.0, 3.0], [0.0, 4.0, 2.0]]).reshape(2, 3, 1, 1)
    gt = torch.zeros_like(out)
    w = torch.ones(2, 3, 1)
    # sample 0: 0.5, 2, 4.5 -> top2 6.5 / 2 = 3.25 ; sample 1: 0, 8, 2 -> 10 / 2 = 5 ; mean 4.125
    assert JointsOHKMMSELoss(True, topk=2)(out, gt, w).item() == pytest.approx(4.125)


def test_heatmap_loss_per_image_with_mask():
    pred = torch.zeros(2, 1, 2, 2)
    pred[0, 0] = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    gt = torch.zeros_like(pred)
    mask = torch.ones(2, 2, 2)
    mask[0, 1, 1] = 0  # ignore the 4
    loss = HeatmapLoss()(pred, gt, mask)
    assert loss.shape == (2,)
    assert loss[0].item() == pytest.approx((1 + 4 + 9) / 4) and loss[1].item() == 0


def _joints(groups, k=2):
    """(1, M, K, 2) from lists of flat indices per person."""
    j = torch.zeros(1, len(groups), k, 2, dtype=torch.long)
    for m, idx in enumerate(groups):
        for s, i in enumerate(idx):
            j[0, m, s] = torch.tensor([i, 1])
    return j


def test_ae_loss_hand_case():
    tags = torch.tensor([[0.0, 2.0, 1.0, 1.0, 2.0]])
    joints = _joints([[0, 1], [2, 3]])  # person A tags 0, 2 (mean 1, var 1); person B 1, 1 (mean 1, var 0)
    push, pull = AELoss("exp")(tags, joints)
    assert pull.item() == pytest.approx(0.5)
    # two people, equal means: sum exp(-d^2) over the 2x2 = 4, minus 2 -> 2 / (1 * 2) * 0.5 = 0.5
    assert push.item() == pytest.approx(0.5)
    joints = _joints([[0, 1], [4]])  # means 1 and 2
    push, pull = AELoss("exp")(tags, joints)
    assert push.item() == pytest.approx((2 + 2 * math.exp(-1) - 2) / 2 * 0.5)
    push_max, _ = AELoss("max")(tags, _joints([[0, 1], [2, 3]]))
    assert push_max.item() == pytest.approx(0.5)  # |d| = 0: (4 - 2) / 2 * 0.5
    push1, pull1 = AELoss("exp")(tags, _joints([[0, 1]]))
    assert push1.item() == 0 and pull1.item() == pytest.approx(1.0)
    push0, pull0 = AELoss("exp")(tags, torch.zeros(1, 2, 2, 2, dtype=torch.long))
    assert push0.item() == 0 and pull0.item() == 0


def test_ae_matches_official_single_tag_loop():
    g = torch.Generator().manual_seed(3)
    tags = torch.randn(2, 50, generator=g, requires_grad=True)
    joints = torch.zeros(2, 4, 3, 2, dtype=torch.long)
    joints[..., 0] = torch.randint(0, 50, (2, 4, 3), generator=g)
    joints[..., 1] = torch.randint(0, 2, (2, 4, 3), generator=g)
    push, pull = AELoss("exp")(tags, joints)
    for i in range(2):
        means, pl = [], 0
        for person in joints[i]:
            t = torch.stack([tags[i, j[0]] for j in person if j[1] > 0]) if (person[:, 1] > 0).any() else None
            if t is None:
                continue
            means.append(t.mean())
            pl = pl + ((t - means[-1]) ** 2).mean()
        n = len(means)
        assert pull[i].item() == pytest.approx(float(pl) / max(n, 1), rel=1e-5, abs=1e-7)
        if n > 1:
            m = torch.stack(means)
            ref = (torch.exp(-(m[:, None] - m[None]) ** 2).sum() - n) / ((n - 1) * n) * 0.5
            assert push[i].item() == pytest.approx(ref.item(), rel=1e-5)
    (push.sum() + pull.sum()).backward()
    assert tags.grad is not None and torch.isfinite(tags.grad).all()


def test_multi_resolution_loss_factors_and_total():
    k = 2
    out0 = torch.zeros(1, 2 * k, 2, 2)
    out0[:, :k] = 1.0  # heatmap error 1 everywhere at 1/4
    out1 = torch.full((1, k, 4, 4), 2.0)  # error 2 at 1/2
    hms = [torch.zeros(1, k, 2, 2), torch.zeros(1, k, 4, 4)]
    masks = [torch.ones(1, 2, 2), torch.ones(1, 4, 4)]
    out0[0, k, 0, 0], out0[0, k, 0, 1] = 0.0, 2.0  # one person, tags 0 and 2: pull 1
    joints = [torch.tensor([[[[0, 1], [1, 1]]]]), torch.zeros(1, 1, k, 2, dtype=torch.long)]
    crit = MultiResolutionLoss(k)
    hl, push, pull = crit([out0, out1], hms, masks, joints)
    assert hl[0].item() == pytest.approx(1.0) and hl[1].item() == pytest.approx(4.0)
    assert push[1] is None and pull[1] is None
    assert pull[0].item() == pytest.approx(1e-3) and push[0].item() == 0
    assert crit.total(hl, push, pull).item() == pytest.approx(5.001)
