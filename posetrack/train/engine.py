"""The training loop: data, model, optimizer, AMP, DDP, validation, checkpoints, resume, log.

One process per GPU under ``torchrun`` (``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` in the environment;
NCCL on CUDA, gloo on the CPU), DistributedDataParallel and a DistributedSampler. Rank 0 validates,
writes the checkpoints and the log. Every epoch: scheduler step (official order), one pass over the
shuffled data, validation every ``train.val_interval`` epochs, then ``best.pth`` (when the score is
>= the best so far, as the official), ``last.pth`` and ``train_state.pth``, then a ``log.jsonl`` line.

Reproducibility: the model is initialised from ``train.seed``; the sampler permutes with
``seed + epoch``; each sample's augmentation draws from its own (seed, epoch, index) generator. So a
resumed run repeats exactly what the uninterrupted one would have done (same losses, same
weights), and N processes with batch b see the same global batches as one process with N*b.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from posetrack.configbase import to_dict
from posetrack.errors import CheckpointError, ConfigError, InputError, OutputError, UserError
from posetrack.pose.transforms import IMAGENET_MEAN, IMAGENET_STD
from posetrack.train import checkpoint as ckpt
from posetrack.train.config import TrainConfig, config_difference

log = logging.getLogger("posetrack")


# -- processes ----------------------------------------------------------------------------------------


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def init_distributed(device_kind: str) -> Dist:
    """Join the torchrun process group when there is one (gloo on the CPU, NCCL on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")
    return Dist(rank, world, local)


def pick_device(name: str, d: Dist) -> torch.device:
    from posetrack.devices import resolve_device

    device = resolve_device(name)
    if device.type == "cuda" and d.active and device.index is None:
        device = torch.device("cuda", d.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


# -- data ---------------------------------------------------------------------------------------------


@dataclass
class Data:
    train: torch.utils.data.Dataset
    layout: object
    val: object | None  # posetrack.train.validate.ValSet


def build_data(config: TrainConfig, root: Path, spec, num_joints: int) -> Data:
    """Training dataset and validation set for the config's data format and kind."""
    from posetrack.train.augment import BottomUpAugment, TopDownAugment
    from posetrack.train.datasets import coco as coco_ds
    from posetrack.train.datasets.bottomup import BottomUpDataset
    from posetrack.train.datasets.common import (
        COCO_JOINTS_WEIGHT,
        LAYOUTS,
        UPPER_BODY,
        check_files,
        coco_paths,
    )
    from posetrack.train.datasets.topdown import TopDownDataset
    from posetrack.train.validate import ValSet, subset_coco

    dc, a, t = config.data, config.augment, config.target
    fmt = dc.format
    layout = LAYOUTS[fmt]
    if layout.num_joints != num_joints:
        raise ConfigError(f"model.num_joints={num_joints} but {fmt} has {layout.num_joints} joints")
    if fmt == "posetrack" and config.kind != "topdown":
        raise ConfigError("data.format posetrack trains top-down models (HRNet fine-tuning)")
    prefix = "crowdpose" if fmt == "crowdpose" else "person_keypoints"
    aspect = spec.input_size[0] / spec.input_size[1]
    valset = None
    if fmt == "posetrack":
        from posetrack.train.datasets.posetrack import posetrack_records

        records, _ = posetrack_records(root, dc.train_split, aspect)
        if dc.val_split is not None:
            _, seqs = posetrack_records(root, dc.val_split, aspect)
            if dc.val_max_images is not None:
                seqs = seqs[: max(1, dc.val_max_images)]
            valset = ValSet("posetrack", sequences=seqs, root=Path(root))
    else:
        paths = coco_paths(root, dc.train_split, prefix)
        coco = coco_ds.load_coco_split(paths.annotations)
        if config.kind == "topdown":
            records = coco_ds.topdown_records(coco, paths.images, num_joints, aspect, str(paths.annotations))
        else:
            records = coco_ds.bottomup_records(coco, paths.images, num_joints, str(paths.annotations),
                                               with_mask=fmt == "coco")
        if dc.val_split is not None:
            from posetrack.evaluation.coco import detection_boxes, ground_truth_boxes

            vpaths = coco_paths(root, dc.val_split, prefix)
            vcoco = subset_coco(coco_ds.load_coco_split(vpaths.annotations), dc.val_max_images)
            if config.kind == "topdown":
                boxes = detection_boxes(dc.val_detections) if dc.val_detections else ground_truth_boxes(vcoco)
                valset = ValSet("coco-topdown", coco=vcoco, images_dir=vpaths.images, boxes=boxes)
            else:
                valset = ValSet("coco-bottomup", coco=vcoco, images_dir=vpaths.images)
    if not records:
        raise InputError(f"{root}: split '{dc.train_split}' has no usable annotated people")
    ok = check_files(sorted({r.image for r in records}), dc.max_bad_images, "training")
    if not ok.all():
        missing = {p for p, k in zip(sorted({r.image for r in records}), ok) if not k}
        records = [r for r in records if r.image not in missing]
    seed = config.train.seed
    if config.kind == "topdown":
        aug = TopDownAugment(a.scale_factor, a.rotation_factor, a.rotation_prob, a.flip, a.flip_prob,
                             a.half_body_prob, a.half_body_joints, a.half_body_scale)
        w, h = spec.input_size
        hm = (w // spec.heatmap_stride, h // spec.heatmap_stride)
        jw = COCO_JOINTS_WEIGHT if (t.joints_weight and fmt == "coco") else None
        train = TopDownDataset(records, layout, UPPER_BODY[layout.name], (w, h), hm, t.sigma, aug, seed, jw)
    else:
        aug = BottomUpAugment(a.max_rotation, a.min_scale, a.max_scale, a.scale_type, a.max_translate,
                              a.flip_prob if a.flip else 0.0)
        size = spec.input_size[0]
        outs = tuple(size // s for s in spec.output_strides)
        train = BottomUpDataset(records, layout.flip_index, size, outs, t.sigma, t.max_people, t.tag_per_joint,
                                aug, seed)
    return Data(train, layout, valset)


# -- model --------------------------------------------------------------------------------------------


def build_network(name: str, num_joints: int | None) -> tuple[nn.Module, object]:
    """The registry network ``name`` (official random init), with another joint count if asked."""
    from posetrack.pose.models import build_model, model_spec

    spec = model_spec(name)
    if num_joints is None or num_joints == spec.num_joints:
        return build_model(name), spec
    return spec.build(num_joints=num_joints).eval(), spec


def load_init(model: nn.Module, init: str | None, model_name: str) -> str | None:
    """Starting weights: None = from scratch; else a file / 'zoo' / zoo name, loaded strictly.

    A zoo name may belong to another registry model with the same tensors (fine-tuning the COCO
    HRNet on PoseTrack-17 joints): it is fetched under its own model name; the strict load below
    is what decides whether it fits.
    """
    if init is None or init == "none":
        return None
    from posetrack.pose.checkpoints import load_checkpoint
    from posetrack.zoo import entries, resolve_weights

    owner = next((e.model for e in entries() if e.name == init), model_name)
    path = resolve_weights(init, owner)
    try:
        load_checkpoint(model, path)
    except CheckpointError as e:
        raise CheckpointError(f"--from {e}") from None
    return str(path)


def _set_bn_eval(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


# -- the run ------------------------------------------------------------------------------------------


@dataclass
class EpochResult:
    epoch: int  # 1-based
    lr: float
    loss: float
    parts: dict[str, float]
    samples: int
    seconds: float
    bad_images: int
    val: dict | None = None
    best: float | None = None

    def line(self) -> dict:
        return {
            "epoch": self.epoch, "lr": self.lr, "loss": self.loss, "parts": self.parts, "samples": self.samples,
            "seconds": round(self.seconds, 3),
            "samples_per_s": round(self.samples / self.seconds, 2) if self.seconds > 0 else None,
            "bad_images": self.bad_images, "val": _finite(self.val), "best": _finite(self.best),
        }


@dataclass
class TrainResult:
    out_dir: Path
    epochs: list[EpochResult] = field(default_factory=list)
    best: float | None = None


@contextlib.contextmanager
def _run_lock(out_dir: Path, enabled: bool):
    """One training per output folder at a time (advisory lock, released when the process ends)."""
    if not enabled:
        yield
        return
    fh = open(out_dir / ".lock", "w")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError(f"{out_dir}: another training is writing to this folder") from None
        yield
    finally:
        fh.close()


def _normalise(images: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """uint8 (N, 3, h, w) -> float32 ToTensor + ImageNet Normalize, on the device."""
    x = images.to(device, non_blocking=True).float().div_(255)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    x = x.sub_(mean).div_(std)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


class Trainer:
    """Builds everything for a config and runs the epochs; see the module docstring."""

    def __init__(self, config: TrainConfig, data_root: str | Path, out_dir: str | Path, resume: bool = False,
                 init: str | None = None, on_step: Callable[[int, int, float], None] | None = None) -> None:
        self.config = config
        self.root = Path(data_root)
        self.out = Path(out_dir)
        self.resume = resume
        self.init = init if init is not None else config.train.init
        self.on_step = on_step

    # -- set-up ---------------------------------------------------------------------------------------
    def _prepare_out(self, d: Dist) -> None:
        existing = [n for n in (ckpt.STATE, ckpt.WEIGHTS_LAST) if (self.out / n).exists()]
        if self.resume:
            if not (self.out / ckpt.STATE).is_file():
                raise InputError(f"--resume: {self.out} holds no training state ({ckpt.STATE})")
        elif existing:
            raise OutputError(f"{self.out} already holds a training ({existing[0]}); use --resume or another folder")
        if d.main:
            try:
                self.out.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise OutputError(f"cannot create {self.out}: {e}") from None

    def run(self) -> TrainResult:
        from posetrack.devices import resolve_device

        cfg = self.config

        d = init_distributed(resolve_device(cfg.device).type)
        try:
            self._prepare_out(d)
            if d.active:
                dist.barrier()
            with _run_lock(self.out, d.main):
                return self._run(d)
        finally:
            if d.active and dist.is_initialized():
                dist.destroy_process_group()

    def _run(self, d: Dist) -> TrainResult:
        cfg, tc = self.config, self.config.train
        device = pick_device(cfg.device, d)
        torch.manual_seed(tc.seed)
        np.random.seed(tc.seed % 2**32)
        model, spec = build_network(cfg.model.name, cfg.model.num_joints)
        if cfg.model.input_size is not None:
            w, h = cfg.model.input_size
            if spec.kind == "bottomup" and w != h:
                raise ConfigError("model.input_size: bottom-up networks take a square input")
            spec = spec.with_input_size((w, h))
        if spec.kind != cfg.kind:
            raise ConfigError(f"model.name '{spec.name}' is a {spec.kind} network, not {cfg.kind}")
        num_joints = cfg.model.num_joints or spec.num_joints
        data = build_data(cfg, self.root, spec, num_joints)
        if not self.resume:
            load_init(model, self.init, spec.name)
        model.to(device)
        if tc.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if tc.sync_bn and d.active:
            if device.type != "cuda":
                raise ConfigError("train.sync_bn needs CUDA")
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        net = model
        if d.active:
            net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        from posetrack.train.losses import JointsMSELoss, JointsOHKMMSELoss, MultiResolutionLoss
        from posetrack.train.schedule import build_optimizer, build_scheduler, start_epoch

        lc = cfg.loss
        if cfg.kind == "topdown":
            criterion = (JointsOHKMMSELoss(cfg.target.use_target_weight, lc.ohkm_topk) if lc.topdown == "ohkm"
                         else JointsMSELoss(cfg.target.use_target_weight))
        else:
            if len(lc.with_ae) != len(spec.output_strides):
                raise ConfigError(f"loss.with_ae: {len(lc.with_ae)} entries for {len(spec.output_strides)} outputs")
            criterion = MultiResolutionLoss(num_joints, lc.with_heatmaps, lc.heatmaps_factor, lc.with_ae,
                                            lc.push_factor, lc.pull_factor, lc.ae_type)
        optimizer = build_optimizer(model, tc)
        scheduler = build_scheduler(optimizer, tc)
        use_amp = device.type == "cuda" and tc.precision != "fp32"
        amp_dtype = torch.float16 if tc.precision == "fp16" else torch.bfloat16
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp and tc.precision == "fp16")
        begin, best = 0, None
        result = TrainResult(self.out)
        saved_cfg = to_dict(cfg)
        if self.resume:
            state = ckpt.read_state(self.out / ckpt.STATE)
            diff = config_difference(json.loads(state["config"]), saved_cfg)
            if diff:
                raise ConfigError(f"--resume: the config differs from the one {self.out} was trained with ('{diff}')")
            try:
                model.load_state_dict(state["model"], strict=True)
            except RuntimeError:
                raise CheckpointError(f"{self.out / ckpt.STATE}: the model state does not fit {spec.name}") from None
            optimizer.load_state_dict(state["optimizer"])
            ckpt.load_scheduler_state(scheduler, state["scheduler"])
            scaler.load_state_dict(state["scaler"])
            ckpt.set_rng_state(state["rng"])
            begin, best = int(state["epoch"]), state.get("best")
            if d.main:
                self._truncate_log(begin)
        from torch.utils.data import DataLoader, DistributedSampler

        from posetrack.train.datasets.topdown import collate

        sampler = DistributedSampler(data.train, num_replicas=d.world, rank=d.rank, shuffle=True, seed=tc.seed,
                                     drop_last=False)
        loader = DataLoader(data.train, batch_size=tc.batch_size, sampler=sampler, num_workers=tc.workers,
                            pin_memory=tc.pin_memory and device.type == "cuda", collate_fn=collate,
                            drop_last=False, persistent_workers=False)
        warned: set[str] = set()
        for epoch in range(begin, tc.epochs):
            sampler.set_epoch(epoch)
            data.train.set_epoch(epoch)
            start_epoch(scheduler)
            net.train()
            if tc.freeze_bn:
                _set_bn_eval(net)
            lr = optimizer.param_groups[0]["lr"]
            t0 = time.perf_counter()
            sums = torch.zeros(8, dtype=torch.float64)  # loss*n, n, bad, parts...
            part_names: list[str] = []
            bar = self._progress(loader, epoch, d)
            for step, batch in enumerate(bar):
                for b in batch["bad"]:
                    if b not in warned and d.main:
                        log.warning("image cannot be decoded, replaced by the next one: %s", b)
                    warned.add(b)
                x = _normalise(batch["image"], device, tc.channels_last)
                with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                    outputs = net(x)
                if cfg.kind == "topdown":
                    out = outputs[-1] if isinstance(outputs, (list, tuple)) else outputs
                    loss = criterion(out.float(), batch["target"].to(device, non_blocking=True),
                                     batch["weight"].to(device, non_blocking=True))
                    parts = {}
                else:
                    hms = [h.to(device, non_blocking=True) for h in batch["heatmaps"]]
                    masks = [m.to(device, non_blocking=True) for m in batch["masks"]]
                    joints = [j.to(device, non_blocking=True) for j in batch["joints"]]
                    hl, pushl, pulll = criterion([o.float() for o in outputs], hms, masks, joints)
                    loss = criterion.total(hl, pushl, pulll)
                    parts = {}
                    for i, (h, p, q) in enumerate(zip(hl, pushl, pulll)):
                        for nm, v in (("heatmaps", h), ("push", p), ("pull", q)):
                            if v is not None:
                                parts[f"{nm}_{i}"] = float(v.detach().mean())
                if not torch.isfinite(loss):
                    raise UserError(f"the loss became {float(loss)} at epoch {epoch + 1} step {step + 1} "
                                    "(learning rate too high, or broken annotations?)")
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                n = x.shape[0]
                value = float(loss.detach())
                sums[0] += value * n
                sums[1] += n
                sums[2] += len(batch["bad"])
                if not part_names:
                    part_names = list(parts)[:5]
                for i, k in enumerate(part_names):
                    sums[3 + i] += parts.get(k, 0.0) * n
                if d.main and hasattr(bar, "set_postfix"):
                    el = time.perf_counter() - t0
                    bar.set_postfix(loss=f"{value:.3e}", lr=f"{lr:.1e}", sps=f"{sums[1].item() * d.world / el:.1f}")
                if self.on_step is not None:
                    self.on_step(epoch, step, value)
            if d.active:
                red = sums.to(device)
                dist.all_reduce(red)
                sums = red.cpu()
            seconds = time.perf_counter() - t0
            nseen = max(sums[1].item(), 1.0)
            total_bad = int(sums[2].item())
            if total_bad > self.config.data.max_bad_images * len(data.train):
                raise InputError(f"{total_bad} training images did not decode in epoch {epoch + 1} (more than "
                                 f"data.max_bad_images={self.config.data.max_bad_images:g}), e.g. {min(warned) if warned else 'see the warnings'}")
            res = EpochResult(epoch + 1, lr, sums[0].item() / nseen,
                              {k: sums[3 + i].item() / nseen for i, k in enumerate(part_names)},
                              int(sums[1].item()), seconds, total_bad)
            is_best = False
            last = epoch + 1 == tc.epochs
            if data.val is not None and ((epoch + 1) % tc.val_interval == 0 or last):
                if d.main:
                    from posetrack.train.validate import validate

                    res.val = validate(model, spec, data.layout, cfg.val, data.val, device)
                    score = res.val["score"]
                    is_best = best is None or score >= best
                    best = score if is_best else best
                    model.train()
                    if tc.freeze_bn:
                        _set_bn_eval(model)
                if d.active:
                    dist.barrier()
            elif data.val is None:
                is_best = True  # no validation: best is the latest
            res.best = best
            if d.main:
                weights = ckpt.plain_state_dict(model)
                if is_best:
                    ckpt.save_atomic(weights, self.out / ckpt.WEIGHTS_BEST)
                ckpt.save_atomic(weights, self.out / ckpt.WEIGHTS_LAST)
                ckpt.save_atomic({
                    "model": weights, "optimizer": optimizer.state_dict(),
                    "scheduler": ckpt.scheduler_state(scheduler), "scaler": scaler.state_dict(),
                    "epoch": epoch + 1, "best": best, "rng": ckpt.rng_state(),
                    "config": ckpt.config_json(saved_cfg), "model_name": spec.name,
                }, self.out / ckpt.STATE)
                self._append_log(res)
            result.epochs.append(res)
        result.best = best
        return result

    # -- helpers --------------------------------------------------------------------------------------
    def _progress(self, loader, epoch: int, d: Dist):
        if not (self.config.train.progress and d.main):
            return loader
        from tqdm import tqdm

        return tqdm(loader, desc=f"epoch {epoch + 1}/{self.config.train.epochs}", unit="batch", leave=False)

    def _append_log(self, res: EpochResult) -> None:
        path = self.out / ckpt.LOG
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(res.line(), allow_nan=False, default=_json_default) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as e:
            raise OutputError(f"cannot write {path}: {e}") from None

    def _truncate_log(self, epochs_done: int) -> None:
        """Drop log lines of epochs after the resumed state (an epoch logged but not saved)."""
        path = self.out / ckpt.LOG
        if not path.is_file():
            return
        keep = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("epoch", 0) <= epochs_done:
                    keep.append(line)
            except json.JSONDecodeError:
                continue
        f = ckpt.AtomicFile(path, "w")
        f.file.write("".join(k + "\n" for k in keep))
        f.commit()


def _finite(v):
    """Log-safe values: NaN / inf become null (JSON has neither)."""
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _json_default(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    raise TypeError(type(v).__name__)


def train(config: TrainConfig, data_root: str | Path, out_dir: str | Path, resume: bool = False,
          init: str | None = None, on_step: Callable[[int, int, float], None] | None = None) -> TrainResult:
    """Run a training (see :class:`Trainer`)."""
    return Trainer(config, data_root, out_dir, resume, init, on_step).run()
