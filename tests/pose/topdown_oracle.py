"""An oracle heatmap network for testing the top-down geometry without trusting that geometry.

The test scene is a *coordinate image*: red = x, green = y (so the scene is at most 256 x 256) and
blue = 255 everywhere inside it. Bilinear crops of such an image keep red/green linear in the crop
pixel, so the oracle recovers, from its input tensor alone, the affine map from each crop pixel to
the scene (a least-squares fit over the pixels whose blue is 255), whatever the crop, scale or
mirroring the pipeline used. It then renders, like a perfect network, Gaussian heatmaps of the
planted keypoints of the person whose box centre the crop is centred on, at heatmap pixel
u = crop x / stride (the correspondence the official decoder assumes). Nothing in it uses the
pipeline's transforms.

A final 1x1 identity convolution makes the heatmaps pass through autocast like a network's last layer.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def coordinate_image(width: int, height: int) -> np.ndarray:
    """RGB uint8 scene whose red is x, green is y and blue is 255."""
    assert width <= 256 and height <= 256
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = np.arange(width, dtype=np.uint8)[None, :]
    img[..., 1] = np.arange(height, dtype=np.uint8)[:, None]
    img[..., 2] = 255
    return img


class OracleHeatmapNet(nn.Module):
    """Renders the planted keypoints of ``people`` into the heatmaps of whichever crop it is given.

    ``people``: list of (box centre (2,), keypoints (K, 2)) in scene pixels. ``flip_index``: the
    left/right permutation of the joints; a mirrored crop shows the person's left side as a right
    side, so (as a real network would) the oracle then reports joint ``flip_index[k]`` as joint k.
    """

    def __init__(self, people, flip_index, heatmap_stride: int = 4, sigma: float = 2.0) -> None:
        super().__init__()
        self.flip_index = torch.as_tensor(np.asarray(flip_index), dtype=torch.long)
        self.centres = torch.tensor(np.array([c for c, _ in people]), dtype=torch.float64)
        self.keypoints = torch.tensor(np.array([k for _, k in people]), dtype=torch.float64)
        self.stride = heatmap_stride
        self.sigma = sigma
        k = self.keypoints.shape[1]
        self.head = nn.Conv2d(k, k, 1, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(torch.eye(k).view(k, k, 1, 1))

    def crop_to_scene(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 2, 3) affine maps crop pixel (i, j, 1) -> scene (x, y), fitted from the pixels."""
        pix = (x.double() * STD.double() + MEAN.double()) * 255.0
        b, _, h, w = x.shape
        jj, ii = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
        design = torch.stack([ii, jj, torch.ones_like(ii)], -1).view(1, -1, 3)  # (1, h*w, 3)
        valid = (pix[:, 2] > 254.5).reshape(b, -1, 1).double()
        target = pix[:, :2].reshape(b, 2, -1).transpose(1, 2)  # (B, h*w, 2)
        a = design * valid
        ata = a.transpose(1, 2) @ design  # (B, 3, 3)
        atb = a.transpose(1, 2) @ target  # (B, 3, 2)
        return torch.linalg.solve(ata, atb).transpose(1, 2)  # (B, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        hh, ww = h // self.stride, w // self.stride
        with torch.autocast(device_type=x.device.type, enabled=False):
            m = self.crop_to_scene(x.float())
            centre = m @ torch.tensor([w / 2.0, h / 2.0, 1.0], dtype=torch.float64)  # (B, 2)
            who = torch.cdist(centre, self.centres).argmin(1)  # the person the crop is centred on
            kp = self.keypoints[who]  # (B, K, 2) scene
            lin, t = m[:, :, :2], m[:, :, 2]
            mirrored = torch.linalg.det(lin) < 0
            kp = torch.where(mirrored.view(-1, 1, 1), kp[:, self.flip_index], kp)
            crop = torch.linalg.solve(lin.unsqueeze(1), (kp - t.unsqueeze(1)).unsqueeze(-1)).squeeze(-1)
            u = crop / self.stride  # heatmap coordinates
            vs = torch.arange(hh, dtype=torch.float64).view(1, 1, hh, 1)
            us = torch.arange(ww, dtype=torch.float64).view(1, 1, 1, ww)
            d2 = (us - u[..., 0, None, None]) ** 2 + (vs - u[..., 1, None, None]) ** 2
            heat = torch.exp(-d2 / (2 * self.sigma**2)).float()
        return self.head(heat)
