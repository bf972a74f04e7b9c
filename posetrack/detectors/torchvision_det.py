"""torchvision's COCO detectors, keeping only people (COCO label 1).

Images go in as RGB uint8 numpy arrays; the model's own transform (resize to ``input_size``, ImageNet
normalisation) runs inside the model, as torchvision's weights expect. Several frames share one
forward (``batch_size``); fp16 / bf16 autocast applies on CUDA only.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from posetrack.detectors.boxes import filter_boxes
from posetrack.detectors.config import DetectorConfig
from posetrack.devices import autocast
from posetrack.types import Detections, Frame

PERSON_LABEL = 1  # COCO category id of "person" (torchvision keeps COCO's 91-id numbering)

def _builder_kwargs(options: str | None, config: DetectorConfig) -> dict:
    kw: dict = {}
    if options == "rcnn":
        kw.update(box_score_thresh=config.score_threshold, box_nms_thresh=config.nms_threshold)
    else:
        kw.update(score_thresh=config.score_threshold, nms_thresh=config.nms_threshold)
    if config.input_size is not None:
        # keep torchvision's 800:1333 ratio between the shorter-side target and the longer-side cap
        kw.update(min_size=config.input_size, max_size=round(config.input_size * 1333 / 800))
    return kw


def build_model(config: DetectorConfig) -> torch.nn.Module:
    """The torchvision model for ``config.name`` (a zoo architecture) with zoo / file / random weights."""
    from posetrack import zoo
    from posetrack.pose.checkpoints import load_checkpoint

    resolved = zoo.resolve(config.weights, config.name)
    model = resolved.arch.build(**_builder_kwargs(resolved.arch.options, config))
    if resolved.path is not None:
        load_checkpoint(model, resolved.path, expected_layout=resolved.checkpoint_layout)
    return model


def person_detections(output: dict, config: DetectorConfig) -> Detections:
    """One image's torchvision output (boxes, labels, scores) reduced to filtered person boxes."""
    labels = output["labels"].detach().cpu().numpy()
    person = labels == PERSON_LABEL
    boxes = output["boxes"].detach().float().cpu().numpy()[person]
    scores = output["scores"].detach().float().cpu().numpy()[person]
    return filter_boxes(boxes, scores, config, nms=True)


class TorchvisionDetector:
    """Implements the Detector protocol with a torchvision detection model."""

    def __init__(self, model: torch.nn.Module, config: DetectorConfig, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.config = config

    @torch.inference_mode()
    def raw(self, images: Sequence[np.ndarray]) -> list[dict]:
        """The model's outputs (all classes) for a list of RGB uint8 images, batch_size at a time."""
        outputs: list[dict] = []
        bs = self.config.batch_size
        for start in range(0, len(images), bs):
            batch = [  # numpy frames, or HxWx3 uint8 tensors already on the device (the pipeline's)
                (img if isinstance(img, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(img)))
                .to(self.device, non_blocking=True)
                .permute(2, 0, 1).float().div_(255.0)  # the model normalises internally
                for img in images[start:start + bs]
            ]
            with autocast(self.device, self.config.precision):
                outputs.extend(self.model(batch))
        return outputs

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        images = [f.image if f.device_image is None else f.device_image for f in frames]
        return [person_detections(o, self.config) for o in self.raw(images)]
