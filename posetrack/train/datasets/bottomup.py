"""Bottom-up training samples: one image per record, official affine/flip, targets, masks, joints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from posetrack.train.augment import BottomUpAugment, bottomup_sample, sample_rng
from posetrack.train.datasets.common import RecordDataset, first_decodable
from posetrack.train.targets import bottomup_heatmaps, bottomup_joints


@dataclass
class ImageRecord:
    """One training image: its people (P, K, 3) and the annotations its ignore mask is made of."""

    image: Path
    width: int
    height: int
    joints: np.ndarray  # (P, K, 3) x, y, visibility (raw COCO flags 0/1/2)
    ignore: list = field(default_factory=list)  # [(segmentation, iscrowd)] rasterised into the mask
    image_id: int = 0


def ignore_mask(rec: ImageRecord) -> np.ndarray:
    """Official ``get_mask``: True where the loss counts; crowd regions and people without
    keypoints (their segmentation, rasterised with pycocotools) are False."""
    h, w = rec.height, rec.width
    m = np.zeros((h, w))
    if rec.ignore:
        from pycocotools import mask as mask_utils

        for seg, _crowd in rec.ignore:
            rles = mask_utils.frPyObjects(seg, h, w)
            dec = mask_utils.decode(rles)
            m += dec.reshape(h, w, -1).sum(axis=2) if dec.ndim == 3 else dec
    return m < 0.5


class BottomUpDataset(RecordDataset):
    """HigherHRNet ``CocoKeypoints.__getitem__`` (train); image as uint8, normalised by the engine."""

    def __init__(
        self,
        records: list[ImageRecord],
        flip_index: np.ndarray,
        input_size: int,
        output_sizes: tuple[int, ...],
        sigma: float,
        max_people: int,
        tag_per_joint: bool,
        augment: BottomUpAugment,
        seed: int = 0,
    ) -> None:
        super().__init__(records, seed)
        self.flip_index = np.asarray(flip_index)
        self.input_size = int(input_size)
        self.output_sizes = tuple(int(s) for s in output_sizes)
        self.sigma = sigma
        self.max_people = max_people
        self.tag_per_joint = tag_per_joint
        self.augment = augment

    def __getitem__(self, index: int) -> dict:
        rec, image, bad = first_decodable(self.records, index)
        rng = sample_rng(self.seed, self.epoch, index)
        img, masks, joints = bottomup_sample(
            image, ignore_mask(rec), rec.joints, self.input_size, self.output_sizes, self.augment, rng,
            self.flip_index,
        )
        heatmaps = [bottomup_heatmaps(j, r, self.sigma) for j, r in zip(joints, self.output_sizes)]
        tags = [bottomup_joints(j, r, self.max_people, self.tag_per_joint) for j, r in zip(joints, self.output_sizes)]
        return {
            "image": torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1),
            "heatmaps": [torch.from_numpy(h) for h in heatmaps],
            "masks": [torch.from_numpy(m) for m in masks],
            "joints": [torch.from_numpy(t) for t in tags],
            "index": index,
            "bad": bad,
        }
