"""torchvision's COCO detectors, keeping only people (COCO label 1).

Images go in as RGB uint8 numpy arrays; the model's own transform (resize to ``input_size``, ImageNet
normalisation) runs inside the model, as torchvision's weights expect. Several frames share one
forward (``batch_size``); fp16 / bf16 autocast applies on CUDA only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from posetrack.detectors.boxes import filter_boxes
from posetrack.detectors.config import DetectorConfig
from posetrack.errors import CheckpointError
from posetrack.types import Detections, Frame

PERSON_LABEL = 1  # COCO category id of "person" (torchvision keeps COCO's 91-id numbering)

# config name → (torchvision builder, family); the family decides the names of the builder's options
MODELS: dict[str, tuple[str, str]] = {
    "fasterrcnn-r50-fpn-v2": ("fasterrcnn_resnet50_fpn_v2", "rcnn"),
    "fasterrcnn-r50-fpn": ("fasterrcnn_resnet50_fpn", "rcnn"),
    "fasterrcnn-mobilenet-v3-large-fpn": ("fasterrcnn_mobilenet_v3_large_fpn", "rcnn"),
    "retinanet-r50-fpn-v2": ("retinanet_resnet50_fpn_v2", "dense"),
    "fcos-r50-fpn": ("fcos_resnet50_fpn", "dense"),
    "keypointrcnn-r50-fpn": ("keypointrcnn_resnet50_fpn", "rcnn"),  # 2 classes: background, person
}


def _builder_kwargs(family: str, config: DetectorConfig) -> dict:
    kw: dict = {}
    if family == "rcnn":
        kw.update(box_score_thresh=config.score_threshold, box_nms_thresh=config.nms_threshold)
    else:
        kw.update(score_thresh=config.score_threshold, nms_thresh=config.nms_threshold)
    if config.input_size is not None:
        # keep torchvision's 800:1333 ratio between the shorter-side target and the longer-side cap
        kw.update(min_size=config.input_size, max_size=round(config.input_size * 1333 / 800))
    return kw


def build_model(config: DetectorConfig) -> torch.nn.Module:
    """The torchvision model for ``config.name`` with zoo / file / random weights."""
    from torchvision.models import detection

    builder_name, family = MODELS[config.name]
    builder = getattr(detection, builder_name)
    model = builder(weights=None, weights_backbone=None, **_builder_kwargs(family, config))
    if config.weights is not None:
        from posetrack import zoo

        path = zoo.resolve_weights(config.weights, config.name)
        load_state_dict(model, path, config.name)
    return model


def load_state_dict(model: torch.nn.Module, path: Path, name: str) -> None:
    """Load a plain state_dict file strictly; a mismatch is the user's checkpoint problem."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle / zip errors
        raise CheckpointError(f"{path}: cannot be read as a PyTorch checkpoint ({type(e).__name__}: {e})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        lines = str(e).splitlines()
        detail = lines[1].strip() if len(lines) > 1 else lines[0]
        raise CheckpointError(f"{path}: does not match the {name} detector ({detail[:300]})") from None


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
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(config.precision)
        self.autocast_dtype = dtype if self.device.type == "cuda" else None

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
            if self.autocast_dtype is not None:
                with torch.autocast("cuda", dtype=self.autocast_dtype):
                    outputs.extend(self.model(batch))
            else:
                outputs.extend(self.model(batch))
        return outputs

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        images = [f.image if f.device_image is None else f.device_image for f in frames]
        return [person_detections(o, self.config) for o in self.raw(images)]
