"""Bottom-up pose estimation (HigherHRNet, EfficientHRNet): image -> heatmaps + tags -> people.

The official HigherHRNet test path, step for step:

1. For each test scale (largest first) the image is warped to the network input keeping its aspect
   ratio (short side = input_size x scale, long side rounded up to 64), then ImageNet-normalised RGB.
2. Forward (with the horizontally flipped image in the same batch for flip test). Every output is
   resized to the largest one (1/2 resolution) and the heatmaps of all outputs averaged; the tags
   come from the first (1/4) output. Flipped maps are flipped back and their joints swapped.
3. Heatmaps and tags are resized to the scale-1 input size (PROJECT2IMAGE); heatmaps are averaged
   over flip and over scales, tags (of scale 1 only, as the official code) stacked on a last axis.
   On a CPU with one scale this resize is done lazily, only on the tiles grouping reads, with the
   same values (:class:`~posetrack.pose.final_maps.TiledMaps`).
4. Associative-embedding grouping (:mod:`posetrack.pose.grouping`) and the inverse affine back to
   image pixels.

Steps 1-3, NMS and top-k run on the model's device; matching runs in numpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from posetrack.devices import autocast
from posetrack.errors import ConfigError
from posetrack.keypoints import KeypointLayout, coco_to_posetrack, output_layout
from posetrack.pose.bottomup_transforms import multi_scale_size, resize_for_scale, to_image_coords
from posetrack.pose.config import PoseConfig
from posetrack.pose.final_maps import DenseMaps, FinalMaps, TiledMaps, tiled_maps_apply
from posetrack.pose.grouping import GroupingParams, group
from posetrack.pose.optimize import optimize_for_inference
from posetrack.pose.transforms import IMAGENET_MEAN, IMAGENET_STD, normalize_crops
from posetrack.types import Detections, Poses

_TILE = 8  # TiledMaps tile side in half-resolution pixels (16 final pixels)


@dataclass
class AggregatedMaps:
    """One image's test-time maps at the scale-1 input size, plus the way back to the image."""

    maps: FinalMaps  # (K, H, W) heatmaps and (K, H, W, L) tags; L = 2 with flip test, else 1
    center: np.ndarray  # (2,) image px
    scale: np.ndarray  # (2,) box size / 200 px

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the maps."""
        return self.maps.width, self.maps.height

    @property
    def heatmaps(self) -> torch.Tensor:
        """The full (K, H, W) heatmaps (computes every tile of tiled maps: for inspection, not grouping)."""
        return self.maps.dense()[0]

    @property
    def tags(self) -> torch.Tensor:
        """The full (K, H, W, L) tags (as :attr:`heatmaps`)."""
        return self.maps.dense()[1]


def normalise(
    image: np.ndarray,
    device: torch.device | str,
    mean: tuple[float, float, float] | None = IMAGENET_MEAN,
    std: tuple[float, float, float] | None = IMAGENET_STD,
) -> torch.Tensor:
    """RGB uint8 HxWx3 -> (1, 3, H, W) float32, /255 then mean/std (torchvision's order)."""
    x = torch.from_numpy(np.ascontiguousarray(image)).to(device)
    return normalize_crops(x.permute(2, 0, 1)[None], mean, std)


def stage_maps(
    outputs: list[torch.Tensor] | tuple[torch.Tensor, ...], num_joints: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Average the heatmaps of all outputs at the last output's size; tags from the first output.

    The official HigherHRNet test config (WITH_HEATMAPS all True, WITH_AE only for the first).
    """
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    size = outputs[-1].shape[2:]
    last = len(outputs) - 1
    resized = [o.float() if i == last else F.interpolate(o.float(), size=size, mode="bilinear", align_corners=False) for i, o in enumerate(outputs)]
    tags = resized[0][:, num_joints:]
    if tags.shape[1] == 0:
        raise ValueError("the model's first output has no tag channels")
    # The official sum starts from 0 (0 + x only turns -0 into +0); dividing in place is the same division.
    heat = resized[0][:, :num_joints]
    for out in resized[1:]:
        heat = heat + out[:, :num_joints]
    if len(outputs) > 1:
        heat /= len(outputs)
    return heat, tags


class BottomUpEstimator:
    """PoseEstimator for bottom-up networks returning [1/4 heatmaps+tags, 1/2 heatmaps]."""

    needs_boxes = False

    def __init__(
        self,
        model: nn.Module,
        layout: KeypointLayout,
        config: PoseConfig,
        input_size: int | tuple[int, int],  # the model's square input side (model_spec.input_size)
        device: torch.device | str = "cpu",
        *,
        mean: tuple[float, float, float] | None = IMAGENET_MEAN,  # the weights entry's
        std: tuple[float, float, float] | None = IMAGENET_STD,
    ) -> None:
        scales = sorted((float(s) for s in config.scales), reverse=True)
        if not scales or min(scales) <= 0:
            raise ConfigError("pose.scales: give one or more positive scales")
        if config.nms_kernel % 2 == 0:
            raise ConfigError("pose.nms_kernel: must be odd")
        if len(scales) > 1 and 1.0 not in scales:
            # The official test path takes tags from scale 1 only.
            raise ConfigError("pose.scales: a multi-scale test must include 1.0 (tags come from it)")
        self.model_layout = layout  # what the network predicts
        self.layout, self._convert = output_layout(layout, config.output_layout)
        self.config = config
        self.input_size = int(input_size[0] if isinstance(input_size, (tuple, list)) else input_size)
        self.mean, self.std = mean, std
        self.device = torch.device(device)
        self.scales = scales
        self.flip_index = torch.as_tensor(layout.flip_index, device=self.device)
        self.params = GroupingParams(
            max_people=config.max_people,
            detection_threshold=config.detection_threshold,
            tag_threshold=config.tag_threshold,
            nms_kernel=config.nms_kernel,
            adjust=config.adjust,
            refine=config.refine,
            assignment=config.assignment,
        )
        self.model = model.to(self.device).eval()
        self.channels_last = bool(config.channels_last)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if config.optimize:  # an inference copy (BN folded, channels_last): same outputs, faster
            self.model = optimize_for_inference(self.model)
        # On a CPU the final maps are computed where grouping reads them (same values, see
        # final_maps); on a GPU building them whole is cheap.
        self.lazy_maps = self.device.type == "cpu"

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, self.config.precision):
            outputs = self.model(x)
        if isinstance(outputs, torch.Tensor):
            outputs = [outputs]
        # NCHW: the map arithmetic below must take the kernels the official (plain) model's outputs take.
        return [o.float().contiguous() for o in outputs]

    def _flip_back(self, maps: torch.Tensor) -> torch.Tensor:
        """(2, K, h, w) maps of an image and of its mirror -> the mirror's maps flipped back."""
        out = torch.empty_like(maps)
        out[0] = maps[0]
        torch.index_select(torch.flip(maps[1], [2]), 0, self.flip_index, out=out[1])
        return out

    def network_inputs(self, image: np.ndarray) -> Iterator[tuple[torch.Tensor, np.ndarray, np.ndarray]]:
        """Per test scale (largest first): the network input (and its mirror under flip test),
        with the center and scale that take the maps back to the image."""
        min_scale = min(self.scales)
        for s in self.scales:
            resized, center, scale = resize_for_scale(image, self.input_size, s, min_scale)
            x = normalise(resized, self.device, self.mean, self.std)
            if self.config.flip_test:
                x = torch.cat((x, torch.flip(x, [3])), dim=0)
            yield x, center, scale

    @torch.inference_mode()
    def aggregate(self, image: np.ndarray) -> AggregatedMaps:
        """Forward every scale (and flip) and aggregate the maps as the official test does."""
        outputs = ((self._forward(x), center, scale) for x, center, scale in self.network_inputs(image))
        return self.aggregate_outputs(image.shape[:2], outputs)

    @torch.inference_mode()
    def aggregate_outputs(
        self, image_hw: tuple[int, int], scale_outputs: Iterable[tuple[list[torch.Tensor], np.ndarray, np.ndarray]]
    ) -> AggregatedMaps:
        """The maps of one image (height, width) from the network's outputs for the inputs of
        :meth:`network_inputs`, with their center and scale, scale by scale."""
        num_joints = self.model_layout.num_joints
        flip = self.config.flip_test
        h, w = image_hw
        base_size, _, _ = multi_scale_size(w, h, self.input_size, 1.0, min(self.scales))
        final = None
        tag_list: list[torch.Tensor] = []  # (L_s, K, H, W) per scale that gives tags
        center = scale = None
        for s, (outputs, center, scale) in zip(self.scales, scale_outputs):
            heat, tags = stage_maps(outputs, num_joints)
            coarse_tags = outputs[0][:, num_joints:] if len(outputs) > 1 else None  # tags before stage_maps' x2
            if flip:
                heat, tags = self._flip_back(heat), self._flip_back(tags)
            size = (base_size[1], base_size[0])
            if self.lazy_maps and len(self.scales) == 1 and tuple(2 * n for n in heat.shape[2:]) == size and tiled_maps_apply(heat, _TILE):
                # The final maps are these upsampled x2: computed only where grouping looks (same values).
                coarse_tags = self._flip_back(coarse_tags) if flip and coarse_tags is not None else coarse_tags
                return AggregatedMaps(TiledMaps(heat, tags, _TILE, coarse_tags), center, scale)
            heat = F.interpolate(heat, size=size, mode="bilinear", align_corners=False)
            heat = (heat[0] + heat[1]) / 2.0 if flip else heat[0]
            final = heat if final is None else final + heat
            if s == 1.0 or len(self.scales) == 1:
                tags = F.interpolate(tags, size=size, mode="bilinear", align_corners=False)
                tag_list.append(tags)
        final = final / float(len(self.scales))
        # (K, H, W, L) as a view of the (L, K, H, W) maps: the same values as stacking them on a
        # last axis without copying them (grouping reads tags at a few pixels only).
        tags = tag_list[0] if len(tag_list) == 1 else torch.cat(tag_list)
        return AggregatedMaps(DenseMaps(final, tags.permute(1, 2, 3, 0)), center, scale)

    @torch.inference_mode()
    def group(self, maps: AggregatedMaps) -> Poses:
        """Group aggregated maps into people in image pixels."""
        people, scores = group(maps.maps, self.params)
        if len(people) == 0:
            return Poses.empty(self.layout)
        xy = to_image_coords(people[:, :, :2], maps.center, maps.scale, maps.size)
        keypoints = np.concatenate((xy, people[:, :, 2:3]), axis=2)
        boxes = keypoint_boxes(keypoints)
        if self._convert:
            keypoints = coco_to_posetrack(keypoints)
        return Poses(keypoints, boxes, scores, self.layout)

    def estimate(self, image: np.ndarray | torch.Tensor, boxes: Detections | None = None) -> Poses:
        """Poses in an RGB uint8 HxWx3 image; boxes are ignored (bottom-up needs none).

        A tensor frame (e.g. kept on the GPU by the pipeline) is brought to the CPU first: the
        official resize is OpenCV's warp, which the maps must match bit for bit.
        """
        if isinstance(image, torch.Tensor):
            image = image.detach().cpu().numpy()
        return self.group(self.aggregate(image))


def keypoint_boxes(keypoints: np.ndarray) -> np.ndarray:
    """(N, 4) extent of each person's detected joints (score > 0); zeros if none."""
    if len(keypoints) == 0:
        return np.zeros((0, 4), np.float32)
    seen = keypoints[:, :, 2] > 0
    xy = keypoints[:, :, :2]
    lo = np.where(seen[..., None], xy, np.inf).min(axis=1)
    hi = np.where(seen[..., None], xy, -np.inf).max(axis=1)
    boxes = np.concatenate((lo, hi), axis=1)
    boxes[~seen.any(axis=1)] = 0.0
    return boxes.astype(np.float32)
