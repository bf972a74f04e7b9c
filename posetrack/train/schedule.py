"""Optimizer and learning-rate schedule, as the official ``get_optimizer`` and ``MultiStepLR`` use.

Official quirk kept: the scheduler is stepped at the *start* of every epoch (``lr_scheduler.step()``
before ``train``), so with ``LR_STEP: [170, 200]`` epochs 1..169 (1-based, as the log counts them)
run at the base rate, epoch 170 is the first at x0.1 and epoch 200 the first at x0.01.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from posetrack.train.config import TrainSection


def build_optimizer(model: nn.Module, cfg: TrainSection) -> torch.optim.Optimizer:
    """Adam(lr) as the official (no weight decay unless asked), AdamW, or SGD(momentum, wd, nesterov)."""
    params = model.parameters()
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                           nesterov=cfg.nesterov)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainSection) -> torch.optim.lr_scheduler.MultiStepLR:
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, list(cfg.lr_steps), cfg.lr_factor)


def start_epoch(scheduler: torch.optim.lr_scheduler.LRScheduler) -> None:
    """The official per-epoch step, before the epoch's first optimizer step (warning silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scheduler.step()


def lr_at(epoch: int, cfg: TrainSection) -> float:
    """The rate epoch ``epoch`` (0-based) trains with under the official stepping."""
    drops = sum(1 for s in cfg.lr_steps if s <= epoch + 1)
    return cfg.lr * cfg.lr_factor**drops
