"""The official heatmap decoder (argmax + quarter offset, see decode.py) in torch, for heatmaps that
are already on the GPU: only (N, K, 3) peaks leave the device instead of the heatmaps.

Same arithmetic as :func:`posetrack.pose.decode.get_max_preds` + :func:`quarter_offset`: the first
maximum wins (torch.argmax, like numpy), a non-positive peak gives (0, 0), the quarter step follows
the sign of the neighbour difference and applies only when ``1 < px < W - 1`` and ``1 < py < H - 1``.
"""

from __future__ import annotations

import torch


def official_peaks(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, K, H, W) heatmaps -> heatmap coords (N, K, 2) float32 (x, y), peaks (N, K, 1) float32."""
    hm = heatmaps.float()
    n, k, h, w = hm.shape
    flat = hm.reshape(n, k, h * w)
    idx = flat.argmax(dim=2)
    maxvals = flat.gather(2, idx.unsqueeze(-1)).squeeze(-1)
    px, py = idx % w, torch.div(idx, w, rounding_mode="floor")
    positive = maxvals > 0
    px, py = px * positive, py * positive
    inside = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)

    def at(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return flat.gather(2, (y.clamp(0, h - 1) * w + x.clamp(0, w - 1)).unsqueeze(-1)).squeeze(-1)

    dx = at(py, px + 1) - at(py, px - 1)
    dy = at(py + 1, px) - at(py - 1, px)
    step = torch.stack([torch.sign(dx), torch.sign(dy)], -1) * 0.25
    coords = torch.stack([px, py], -1).float() + torch.where(inside.unsqueeze(-1), step, torch.zeros_like(step))
    return coords, maxvals.unsqueeze(-1)
