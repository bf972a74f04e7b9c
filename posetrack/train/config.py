"""The training config: typed sections validated at load, YAML presets in ``configs/train/``.

Every value a run uses is a key here, settable with ``--set section.key=value``. Defaults are the
official HRNet COCO W32 256x192 recipe (``w32_256x192_adam_lr1e-3.yaml``); the bottom-up values are
HigherHRNet's (``w32_512_adam_lr1e-3.yaml``). A preset may say ``base: other-preset``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from posetrack.configbase import bounded, from_dict, to_dict
from posetrack.errors import ConfigError
from posetrack.pose.config import PoseConfig


@dataclass
class ModelSection:
    name: str = "hrnet-w32-256x192"  # a name known to posetrack.pose.models.model_spec
    num_joints: int | None = None  # None: the dataset's joint count (must fit the network head)
    # Train at another input size than the registry's (width, height; bottom-up: square). The network
    # is fully convolutional, so the weights still load strictly under model.name.
    input_size: list[int] | None = None

    def check(self) -> None:
        if self.input_size is not None and (len(self.input_size) != 2 or min(self.input_size) < 32
                                            or any(v % 32 for v in self.input_size)):
            raise ValueError("input_size: give [width, height], multiples of 32")


@dataclass
class DataSection:
    format: Literal["coco", "posetrack", "crowdpose"] = "coco"
    train_split: str = "train2017"
    val_split: str | None = "val2017"  # None: no validation
    max_bad_images: float = bounded(0.01, 0.0, 1.0)  # share of missing/undecodable images tolerated
    val_detections: str | None = None  # top-down COCO validation boxes (results JSON); None: GT boxes
    val_max_images: int | None = None  # validate on the first N images only (quick checks)

    def check(self) -> None:
        if self.val_max_images is not None and self.val_max_images < 1:
            raise ValueError("val_max_images: must be at least 1")


@dataclass
class AugmentSection:
    # top-down (HRNet DATASET.*)
    scale_factor: float = bounded(0.35, 0.0, 0.99)
    rotation_factor: float = bounded(45.0, 0.0, 180.0)
    rotation_prob: float = bounded(0.6, 0.0, 1.0)
    flip: bool = True
    flip_prob: float = bounded(0.5, 0.0, 1.0)
    half_body_prob: float = bounded(0.3, 0.0, 1.0)
    half_body_joints: int = bounded(8, 0)
    half_body_scale: float = bounded(1.5, 0.1)
    # bottom-up (HigherHRNet DATASET.*)
    max_rotation: float = bounded(30.0, 0.0, 180.0)
    min_scale: float = bounded(0.75, 0.01)
    max_scale: float = bounded(1.5, 0.01)
    scale_type: Literal["short", "long"] = "short"
    max_translate: float = bounded(40.0, 0.0)

    def check(self) -> None:
        if self.min_scale > self.max_scale:
            raise ValueError("min_scale: must not exceed max_scale")


@dataclass
class TargetSection:
    sigma: float = bounded(2.0, 0.1, 20.0)  # MODEL.SIGMA / DATASET.SIGMA (not scaled per resolution)
    use_target_weight: bool = True  # LOSS.USE_TARGET_WEIGHT
    joints_weight: bool = False  # LOSS.USE_DIFFERENT_JOINTS_WEIGHT (COCO 1 / 1.2 / 1.5 table)
    max_people: int = bounded(30, 1)  # DATASET.MAX_NUM_PEOPLE
    tag_per_joint: bool = True  # MODEL.TAG_PER_JOINT


@dataclass
class LossSection:
    topdown: Literal["mse", "ohkm"] = "mse"
    ohkm_topk: int = bounded(8, 1)
    heatmaps_factor: list[float] = field(default_factory=lambda: [1.0, 1.0])
    with_heatmaps: list[bool] = field(default_factory=lambda: [True, True])
    with_ae: list[bool] = field(default_factory=lambda: [True, False])
    push_factor: list[float] = field(default_factory=lambda: [1e-3, 1e-3])
    pull_factor: list[float] = field(default_factory=lambda: [1e-3, 1e-3])
    ae_type: Literal["exp", "max"] = "exp"

    def check(self) -> None:
        n = {len(self.heatmaps_factor), len(self.with_heatmaps), len(self.with_ae), len(self.push_factor),
             len(self.pull_factor)}
        if len(n) != 1:
            raise ValueError("with_ae: heatmaps_factor, with_heatmaps, with_ae, push_factor and pull_factor "
                             "need one entry per output resolution")


@dataclass
class TrainSection:
    epochs: int = bounded(210, 1)  # TRAIN.END_EPOCH
    lr: float = bounded(1e-3, 0.0)  # TRAIN.LR
    lr_steps: list[int] = field(default_factory=lambda: [170, 200])  # TRAIN.LR_STEP (1-based epochs)
    lr_factor: float = bounded(0.1, 0.0, 1.0)  # TRAIN.LR_FACTOR
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    weight_decay: float = bounded(0.0, 0.0)  # official Adam: none (TRAIN.WD is SGD-only)
    momentum: float = bounded(0.9, 0.0, 1.0)  # SGD only
    nesterov: bool = False
    batch_size: int = bounded(32, 1)  # per process (GPU); the global batch is batch_size x world size
    workers: int = bounded(4, 0)
    pin_memory: bool = True
    val_interval: int = bounded(1, 1)  # validate every N epochs (and after the last)
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"  # autocast on CUDA; fp16 adds a GradScaler
    channels_last: bool = False
    sync_bn: bool = False  # SyncBatchNorm under DDP (CUDA only)
    freeze_bn: bool = False  # BatchNorm layers in eval mode (small-batch fine-tuning)
    init: str | None = None  # starting weights: a file, 'zoo', a zoo entry name; None = from scratch
    progress: bool = True
    seed: int = 0

    def check(self) -> None:
        if sorted(self.lr_steps) != list(self.lr_steps) or any(s < 1 for s in self.lr_steps):
            raise ValueError("lr_steps: must be increasing epoch numbers >= 1")


def _val_default() -> PoseConfig:
    return PoseConfig(weights=None)


@dataclass
class TrainConfig:
    """The whole training run; ``val`` holds the inference settings validation runs with."""

    name: str = "train"
    kind: Literal["topdown", "bottomup"] = "topdown"
    device: str = "auto"
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    augment: AugmentSection = field(default_factory=AugmentSection)
    target: TargetSection = field(default_factory=TargetSection)
    loss: LossSection = field(default_factory=LossSection)
    train: TrainSection = field(default_factory=TrainSection)
    val: PoseConfig = field(default_factory=_val_default)

    def check(self) -> None:
        from posetrack.config import check_device_name

        check_device_name(self.device)


def load_train_config(name_or_path: str, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """A preset name (``hrnet-w32-coco``) or YAML file, ``base:`` resolved, overrides applied.

    ``base:`` names a file next to the config (``base: hrnet-w32-coco.yaml``) or a path.
    """
    from posetrack.config import apply_override, read_yaml, resolve_config_path

    path = resolve_config_path(name_or_path, kind="train", what="training config")
    data = read_yaml(path)
    data.setdefault("name", path.stem)
    for dotted, value in (overrides or {}).items():
        apply_override(data, dotted, value)
    return from_dict(TrainConfig, data, str(path))


def dump_train_config(config: TrainConfig, path: Path) -> None:
    path.write_text(yaml.safe_dump(to_dict(config), sort_keys=False))


# Keys a --resume may change: how the run is executed, not what it computes.
RESUME_FREE = ("train.workers", "train.progress", "train.pin_memory", "train.epochs", "device", "name",
               "train.val_interval", "data.val_max_images")


def config_difference(saved: dict, current: dict, prefix: str = "") -> str | None:
    """The first dotted key whose value differs between two config dicts (None when equal)."""
    for key in sorted(set(saved) | set(current)):
        dotted = f"{prefix}{key}"
        a, b = saved.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diff = config_difference(a, b, dotted + ".")
            if diff:
                return diff
        elif a != b and dotted not in RESUME_FREE:
            return dotted
    return None


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)
