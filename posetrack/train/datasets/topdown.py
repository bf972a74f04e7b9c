"""Top-down training samples: one person crop per record, official augmentation and targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from posetrack.keypoints import KeypointLayout
from posetrack.train.augment import TopDownAugment, sample_rng, topdown_sample
from posetrack.train.datasets.common import RecordDataset, first_decodable
from posetrack.train.targets import topdown_target


@dataclass
class PersonRecord:
    """One training person: the image, official centre/scale and joints (K, 3) x, y, visibility."""

    image: Path
    center: np.ndarray  # (2,) float32
    scale: np.ndarray  # (2,) float32, 200-pixel units
    joints: np.ndarray  # (K, 3) float64: x, y in image pixels, visibility in {0, 1}
    image_id: int = 0


class TopDownDataset(RecordDataset):
    """Official ``JointsDataset.__getitem__`` (train), returning the crop as uint8 (normalised on the
    device by the engine: ToTensor + ImageNet Normalize, same float32 values).

    An image that does not decode is replaced by the next record's (deterministically) and named
    in the sample's ``bad`` list, so the engine can warn once and stop past the allowed share.
    """

    def __init__(
        self,
        records: list[PersonRecord],
        layout: KeypointLayout,
        upper_ids: tuple[int, ...],
        image_size: tuple[int, int],
        heatmap_size: tuple[int, int],
        sigma: float,
        augment: TopDownAugment | None,
        seed: int = 0,
        joints_weight: np.ndarray | None = None,
    ) -> None:
        super().__init__(records, seed)
        self.layout = layout
        self.upper_ids = upper_ids
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.sigma = sigma
        self.augment = augment
        self.joints_weight = joints_weight

    def __getitem__(self, index: int) -> dict:
        rec, image, bad = first_decodable(self.records, index)
        rng = sample_rng(self.seed, self.epoch, index)
        joints = rec.joints[:, :3].astype(np.float64)
        vis = np.repeat(joints[:, 2:3], 3, axis=1)
        crop, jt, _ = topdown_sample(
            image, joints, vis, rec.center, rec.scale, self.image_size, self.augment, rng,
            self.layout.flip_pairs, self.upper_ids,
        )
        target, weight = topdown_target(jt, self.image_size, self.heatmap_size, self.sigma, self.joints_weight)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1),
            "target": torch.from_numpy(target),
            "weight": torch.from_numpy(weight).reshape(-1, 1),
            "index": index,
            "bad": bad,
        }


def collate(samples: list[dict]) -> dict:
    """Stack tensors; concatenate the ``bad`` lists."""
    out: dict = {}
    for key in samples[0]:
        vals = [s[key] for s in samples]
        if key == "bad":
            out[key] = [b for v in vals for b in v]
        elif isinstance(vals[0], torch.Tensor):
            out[key] = torch.stack(vals)
        elif isinstance(vals[0], list):  # per-resolution lists (bottom-up)
            out[key] = [torch.stack([v[i] for v in vals]) for i in range(len(vals[0]))]
        else:
            out[key] = torch.as_tensor(vals)
    return out
