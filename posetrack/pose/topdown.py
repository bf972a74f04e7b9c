"""Top-down pose estimation: person boxes -> crops -> heatmaps -> keypoints, as the official HRNet test.

The steps and their official counterparts (HRNet/deep-high-resolution-net.pytorch, tools/test.py
and lib/core/function.py ``validate``):

1. box -> center/scale fitted to the network aspect ratio, padded x1.25 (``_xywh2cs``);
2. affine crop of the RGB uint8 frame (``get_affine_transform`` + ``cv2.warpAffine``), on the GPU
   when the frame is already a torch tensor there;
3. ToTensor (/255) and ImageNet Normalize, in float32;
4. all people of a frame (or of several frames) in one batch, chunked by ``batch_size``;
5. flip test: the normalized crop mirrored, its heatmaps mirrored back with left/right joints
   swapped and shifted one pixel right (SHIFT_HEATMAP), averaged with the plain heatmaps;
6. decode (argmax + quarter offset, or DARK) and map back to the frame (``get_final_preds``);
7. person score = box score x mean keypoint score above the threshold, then OKS-NMS (``evaluate``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from posetrack.devices import autocast, resolve_device
from posetrack.keypoints import KeypointLayout, coco_to_posetrack, output_layout
from posetrack.pose.config import PoseConfig
from posetrack.pose.decode import decode_heatmaps
from posetrack.pose.nms import crop_areas, oks_nms, rescore
from posetrack.pose.optimize import optimize_for_inference
from posetrack.pose.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    affine_matrices,
    boxes_to_center_scale,
    crop_cv2,
    crop_torch,
    normalize_crops,
)
from posetrack.types import Detections, Poses


def _as_hwc(image: torch.Tensor) -> torch.Tensor:
    """An RGB uint8 frame tensor as H x W x 3 (accepts H x W x 3 or 3 x H x W)."""
    if image.dtype != torch.uint8 or image.ndim != 3:
        raise TypeError(f"expected an RGB uint8 image tensor, got {image.dtype} {tuple(image.shape)}")
    if image.shape[-1] != 3 and image.shape[0] == 3:
        image = image.permute(1, 2, 0)
    return image.contiguous()


def rescore_and_nms(
    keypoints: np.ndarray,
    box_scores: np.ndarray,
    scales: np.ndarray,
    config: PoseConfig,
    sigmas: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Official person scores (N,) float64 and the indices kept by OKS-NMS (best first)."""
    scores = rescore(keypoints[..., 2], box_scores, config.keypoint_threshold)
    if len(keypoints) == 0 or config.oks_nms_threshold >= 1.0:
        return scores, np.arange(len(keypoints))
    keep = oks_nms(keypoints, scores, crop_areas(scales), config.oks_nms_threshold, sigmas)
    return scores, keep


class TopDownEstimator:
    """A heatmap network run on person crops (implements the PoseEstimator protocol).

    ``model`` maps (B, 3, h, w) normalized RGB crops to (B, K, h/4, w/4) heatmaps (or a list whose
    last element is that); ``layout`` is what it predicts; ``input_size`` is (w, h).
    """

    needs_boxes = True

    def __init__(
        self,
        model: nn.Module,
        layout: KeypointLayout,
        config: PoseConfig,
        input_size: tuple[int, int],
        device: torch.device | str = "cpu",
        *,
        mean: tuple[float, float, float] | None = IMAGENET_MEAN,  # the weights entry's
        std: tuple[float, float, float] | None = IMAGENET_STD,
    ) -> None:
        self.device = resolve_device(device)
        self.mean, self.std = mean, std
        self.config = config
        self.model_layout = layout
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.aspect_ratio = self.input_size[0] * 1.0 / self.input_size[1]
        self.model = model.eval().to(self.device)
        self._compiled = None
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if config.optimize:  # an inference copy (BN folded, channels_last): same outputs, faster
            self.model = optimize_for_inference(self.model)
        self._flip_index = torch.as_tensor(layout.flip_index, device=self.device)
        self.layout, self._convert = output_layout(layout, config.output_layout)

    # -- crops and network ---------------------------------------------------------------------

    def _crops(self, image, centers: np.ndarray, scales: np.ndarray) -> torch.Tensor:
        """(N, 3, h, w) uint8 crops on self.device; GPU warp when the frame is a tensor."""
        matrices = affine_matrices(centers, scales, self.input_size)
        if isinstance(image, torch.Tensor):
            crops = crop_torch(_as_hwc(image), matrices, self.input_size)
        else:
            arr = np.ascontiguousarray(image)
            if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
                raise TypeError(f"expected an RGB uint8 HxWx3 image, got {arr.dtype} {arr.shape}")
            crops = torch.from_numpy(crop_cv2(arr, matrices, self.input_size)).permute(0, 3, 1, 2)
        return crops.to(self.device, non_blocking=True)

    def _padded(self, x: torch.Tensor) -> torch.Tensor:
        """With ``compile``: ``x`` padded (zeros) to the next size of a fixed set (powers of two up
        to the largest batch), so the compiled network sees few shapes and compiles once."""
        n = len(x)
        if not self.config.compile:
            return x
        size = next((b for b in self._batch_buckets if b >= n), n)
        if size == n:
            return x
        return torch.cat([x, x.new_zeros((size - n,) + tuple(x.shape[1:]))])

    @property
    def _batch_buckets(self) -> list[int]:
        largest = self.config.batch_size * (2 if self.config.flip_test else 1)
        sizes = [2]
        while sizes[-1] < largest:
            sizes.append(min(sizes[-1] * 2, largest))
        return sizes

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(x)
        x = self._padded(x)
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, self.config.precision):
            out = self._network(x)
        if isinstance(out, (list, tuple)):
            out = out[-1]
        return out[:n].float()

    @property
    def _network(self):
        """The model, compiled once on first use when ``pose.compile`` is set."""
        if self.config.compile and self._compiled is None:
            self._compiled = torch.compile(self.model, dynamic=False)
        return self._compiled if self.config.compile else self.model

    @torch.inference_mode()
    def _heatmap_batches(self, crops: torch.Tensor):
        """Averaged (flip test) heatmaps of uint8 crops, on the device, chunk by chunk."""
        for start in range(0, len(crops), self.config.batch_size):
            x = normalize_crops(crops[start : start + self.config.batch_size].to(self.device), self.mean, self.std)
            n = len(x)
            if self.config.flip_test:
                both = self._forward(torch.cat([x, x.flip(3)]))
                plain, flipped = both[:n], both[n:]
                flipped = flipped.flip(3).index_select(1, self._flip_index)
                if self.config.shift_heatmap:
                    flipped[:, :, :, 1:] = flipped.clone()[:, :, :, 0:-1]
                plain = (plain + flipped) * 0.5
            else:
                plain = self._forward(x)
            yield plain

    def heatmaps_from_crops(self, crops: torch.Tensor) -> np.ndarray:
        """(N, 3, h, w) uint8 crops -> (N, K, h', w') float32 heatmaps (flip test included)."""
        outs = [hm.cpu().numpy() for hm in self._heatmap_batches(crops)]
        if not outs:
            k = self.model_layout.num_joints
            w, h = self.input_size
            return np.zeros((0, k, h // 4, w // 4), np.float32)
        return np.concatenate(outs)

    def _decode(self, crops: torch.Tensor, centers: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """(N, K, 3) keypoints of the crops. On the GPU with the official decoder, the heatmaps
        are decoded there and only (N, K, 3) values come back; elsewhere (CPU, DARK) on the host."""
        if self.device.type == "cuda" and self.config.decode == "official":
            from posetrack.pose.decode import heatmap_to_image
            from posetrack.pose.decode_torch import official_peaks

            parts = [torch.cat(official_peaks(hm), -1) for hm in self._heatmap_batches(crops)]
            peaks = torch.cat(parts).cpu().numpy()
            w, h = self.input_size
            xy = heatmap_to_image(peaks[..., :2], centers, scales, (w // 4, h // 4))
            return np.concatenate([xy.astype(np.float32), peaks[..., 2:]], axis=-1)
        hm = self.heatmaps_from_crops(crops)
        return decode_heatmaps(hm, centers, scales, self.config.decode, self.config.blur_kernel)

    def heatmaps(self, image, centers: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Averaged heatmaps of the crops of ``image`` at the given official centers/scales."""
        return self.heatmaps_from_crops(self._crops(image, centers, scales))

    def predict(self, image, centers: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """(N, K, 3) float32 keypoints (x, y, peak score) in the model layout, frame pixels."""
        hm = self.heatmaps(image, centers, scales)
        return decode_heatmaps(hm, centers, scales, self.config.decode, self.config.blur_kernel)

    # -- PoseEstimator -------------------------------------------------------------------------

    def estimate(self, image, boxes: Detections | None) -> Poses:
        """Poses of the people in ``boxes`` (RGB uint8 HxWx3 numpy frame, or a uint8 tensor)."""
        return self.estimate_batch([image], [boxes])[0]

    def estimate_batch(self, images: Sequence, boxes: Sequence[Detections | None]) -> list[Poses]:
        """Like :meth:`estimate` for several frames, their crops sharing forward batches."""
        boxes = [b if b is not None else Detections.empty() for b in boxes]
        return [self.finish(kp, b) for kp, b in zip(self.keypoints_in_boxes(images, boxes), boxes)]

    def keypoints_in_boxes(self, images: Sequence, boxes: Sequence[Detections]) -> list[np.ndarray]:
        """Per frame, (N, K, 3) keypoints (model layout) of every box, before rescoring and
        OKS-NMS; all frames' crops share forward batches. A caller may estimate some boxes of a
        frame now and the others later and :meth:`finish` the frame with all of them: the same
        poses up to float rounding (on the CPU oneDNN's convolutions give the last bits of a crop's
        heatmaps a dependence on the batch it is in, ~1e-7 relative)."""
        if len(images) != len(boxes):
            raise ValueError("images and boxes differ in length")
        geometry = [boxes_to_center_scale(d.boxes, self.aspect_ratio) for d in boxes]
        crops = [self._crops(img, c, s) for img, d, (c, s) in zip(images, boxes, geometry) if len(d)]
        k = self.model_layout.num_joints
        if not crops:
            return [np.zeros((0, k, 3), np.float32) for _ in boxes]
        keypoints = self._decode(
            torch.cat(crops), np.concatenate([c for c, _ in geometry]), np.concatenate([s for _, s in geometry])
        )
        bounds = np.cumsum([0] + [len(d) for d in boxes])
        return [keypoints[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def finish(self, keypoints: np.ndarray, boxes: Detections) -> Poses:
        """Poses of one frame from its boxes' keypoints: official rescoring, OKS-NMS (the kept
        poses keep their box and its ``source``), layout conversion."""
        if len(boxes) == 0:
            return Poses.empty(self.layout)
        _, scales = boxes_to_center_scale(boxes.boxes, self.aspect_ratio)
        scores, keep = rescore_and_nms(keypoints, boxes.scores, scales, self.config, self.model_layout.sigma_array)
        kp = keypoints[keep]
        if self._convert:
            kp = coco_to_posetrack(kp)
        return Poses(kp, boxes.boxes[keep], scores[keep], self.layout, source=boxes.source[keep])
