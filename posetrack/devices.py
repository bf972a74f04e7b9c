"""Turning the config's device string into a torch.device, and the one mixed-precision policy."""

from __future__ import annotations

import contextlib

import torch

from posetrack.errors import ConfigError


def resolve_device(name: str | torch.device | None) -> torch.device:
    """``auto`` (or None) picks CUDA when available, else the CPU; ``cuda`` on a machine without
    CUDA is a user error, not a crash deep inside a model."""
    if isinstance(name, torch.device):
        return name
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"invalid device '{name}' (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device '{name}' was asked for, but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device '{name}' does not exist ({torch.cuda.device_count()} CUDA devices)")
    return device


_AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def autocast(device: torch.device | str, precision: str) -> contextlib.AbstractContextManager:
    """The context a stage runs its network in: ``fp16`` / ``bf16`` autocast on CUDA, else nothing.

    On the CPU the configs' precision is ignored (fp32), as the configs document: CPU autocast
    is slower than fp32 for these convolutional networks and changes results.
    """
    dtype = _AUTOCAST_DTYPES.get(precision)
    if dtype is None or torch.device(device).type != "cuda":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=dtype)
