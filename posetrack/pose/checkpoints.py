"""Load checkpoints strictly, whatever layout they were saved in: the one reader for pose, detector
and RAFT weights.

Users bring the official releases (HRNet/deep-high-resolution-net.pytorch,
HRNet/HigherHRNet-Human-Pose-Estimation) and MMPose's model zoo. The same weights appear under
different key names, so the layout is detected from the keys and renamed to ours:

* ``official``: our names (the official repos);
* ``official-fp16``: every key prefixed ``1.`` by the official fp16 wrapper
  (``nn.Sequential(tofp16(), net, tofp32())``), conv weights in float16 (cast to the model's dtype);
* ``mmpose0-topdown``: ``backbone.*`` + ``keypoint_head.final_layer.*`` (MMPose 0.x top-down);
* ``mmpose0-bottomup``: ``backbone.*`` + ``keypoint_head.final_layers.*`` / ``keypoint_head.deconv_layers.*``
  (MMPose 0.x AEHigherResolutionHead);
* ``mmpose1``: ``backbone.*`` + ``head.final_layer.*`` (MMPose 1.x HeatmapHead).

Containers ``{"state_dict": ...}`` / ``{"model": ...}`` and a ``module.`` (DataParallel) prefix are
unwrapped first. Anything that does not then match the model key for key and shape for shape is a
:class:`~posetrack.errors.CheckpointError` naming the first offending keys and the file: never a
silent partial load. torchvision's detector and RAFT files are plain state_dicts in the model's own
names (layout ``official`` here, ``torchvision`` in the zoo).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from posetrack.errors import CheckpointError

_WRAPPER_KEYS = ("state_dict", "model")
_SHOW = 5  # offending keys named in a message


def _fmt(keys: Iterable[str]) -> str:
    keys = list(keys)
    more = f" (+{len(keys) - _SHOW} more)" if len(keys) > _SHOW else ""
    return ", ".join(keys[:_SHOW]) + more


def _is_state_dict(obj: object) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()
    )


def unwrap(obj: object) -> tuple[dict[str, Tensor], list[str]]:
    """The tensor dict inside a loaded checkpoint and the container keys passed on the way.

    Raises ValueError when there is none.
    """
    path: list[str] = []
    for _ in range(4):  # e.g. {"model": {"state_dict": {...}}}; bounded, no recursion surprises
        if _is_state_dict(obj):
            return dict(obj), path  # type: ignore[arg-type]
        if not isinstance(obj, Mapping):
            break
        inner = next((k for k in _WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        path.append(inner)
        obj = obj[inner]
    if isinstance(obj, Mapping):
        shown = _fmt(str(k) for k in obj.keys())
        raise ValueError(f"no state_dict of tensors found (top-level keys: {shown or 'none'})")
    raise ValueError(f"no state_dict found (the file holds a {type(obj).__name__})")


def _strip(sd: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {k[len(prefix):]: v for k, v in sd.items()}


def _all_start(keys: Iterable[str], prefix: str) -> bool:
    keys = list(keys)
    return bool(keys) and all(k.startswith(prefix) for k in keys)


def _rename_mmpose(sd: dict[str, Tensor]) -> tuple[dict[str, Tensor], str]:
    keys = list(sd)
    if any(k.startswith("head.") for k in keys):
        layout, head = "mmpose1", "head."
    elif any(k.startswith(("keypoint_head.final_layers.", "keypoint_head.deconv_layers.")) for k in keys):
        layout, head = "mmpose0-bottomup", "keypoint_head."
    else:
        layout, head = "mmpose0-topdown", "keypoint_head."
    out = {}
    for k, v in sd.items():
        if k.startswith("backbone."):
            k = k[len("backbone."):]
        elif k.startswith(head):
            k = k[len(head):]
        out[k] = v  # anything else stays as is and is reported as unexpected
    return out, layout


def convert_state_dict(state_dict: Mapping[str, Tensor], model_keys: Iterable[str]) -> tuple[dict[str, Tensor], str]:
    """Rename a checkpoint's tensors to our (official) key names; returns them and the layout name.

    Handles a ``module.`` prefix, the official fp16 wrapper's ``1.`` prefix and the MMPose 0.x / 1.x
    layouts. Does not check the result against the model: :func:`check_state_dict` does.
    """
    sd = dict(state_dict)
    model_keys = list(model_keys)
    while _all_start(sd, "module.") and not _all_start(model_keys, "module."):
        sd = _strip(sd, "module.")
    if _all_start(sd, "1.") and not _all_start(model_keys, "1."):
        sd, layout = _strip(sd, "1."), "official-fp16"
        while _all_start(sd, "module."):
            sd = _strip(sd, "module.")
    elif any(k.startswith("backbone.") for k in sd) and not any(k.startswith("backbone.") for k in model_keys):
        sd, layout = _rename_mmpose(sd)
    else:
        layout = "official"
    return sd, layout


def check_state_dict(sd: Mapping[str, Tensor], model: nn.Module, source: str, layout: str) -> None:
    """Raise CheckpointError unless ``sd`` has exactly the model's keys with the same shapes."""
    own = model.state_dict()
    # BatchNorm's step counter carries no weights; torchvision's files (saved from FrozenBatchNorm
    # models) have none, and PyTorch's own loader fills it in.
    missing = [k for k in own if k not in sd and not k.endswith(".num_batches_tracked")]
    unexpected = [k for k in sd if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys: {_fmt(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys: {_fmt(unexpected)}")
        raise CheckpointError(
            f"{source}: checkpoint (layout {layout}) does not fit {type(model).__name__}: " + "; ".join(parts)
        )
    wrong = [k for k, v in own.items() if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    if wrong:
        detail = ", ".join(f"{k} {list(sd[k].shape)} vs model {list(own[k].shape)}" for k in wrong[:_SHOW])
        more = f" (+{len(wrong) - _SHOW} more)" if len(wrong) > _SHOW else ""
        raise CheckpointError(
            f"{source}: checkpoint (layout {layout}) has {len(wrong)} tensors of the wrong shape for "
            f"{type(model).__name__} (another width or joint count?): {detail}{more}"
        )


def read_checkpoint(path: str | Path, allow_pickle: bool = False) -> object:
    """``torch.load`` on the CPU with ``weights_only=True`` unless ``allow_pickle`` (trusted files only)."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        return torch.load(p, map_location="cpu", weights_only=not allow_pickle)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError... for non-checkpoints
        msg = str(exc)
        if "Unsupported global" in msg:  # a real pickle, with objects weights_only refuses to build
            name = msg.split("Unsupported global:", 1)[1].split(" was not", 1)[0].strip()
            raise CheckpointError(
                f"{p}: the checkpoint holds Python objects besides tensors ({name}); it was not unpickled "
                "(load it with allow_pickle=True only if you trust the file)"
            ) from None
        reason = msg.split("WeightsUnpickler error:", 1)[-1].strip().splitlines()
        text = reason[0] if reason else "empty or truncated file"
        raise CheckpointError(f"{p}: not a PyTorch checkpoint ({type(exc).__name__}: {text[:160]})") from None


def _layout_agrees(found: str, expected: str) -> bool:
    """Does the layout found in a file match the one a zoo entry declares?"""
    if expected == "torchvision":
        return found == "official"
    return found == expected or found.startswith(expected + "-")


def load_checkpoint(
    model: nn.Module, path: str | Path, allow_pickle: bool = False, expected_layout: str | None = None
) -> str:
    """Load ``path`` into ``model`` strictly, detecting the layout; returns the layout name.

    Floating tensors are cast to the dtype of the model's tensor they replace (the official fp16
    files store float16 conv weights next to float32 BN statistics). ``expected_layout`` (a zoo
    entry's ``checkpoint_layout``) must agree with the layout found: a cached file that is not the
    entry's is reported rather than loaded.
    """
    obj = read_checkpoint(path, allow_pickle)
    try:
        raw, containers = unwrap(obj)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    sd, layout = convert_state_dict(raw, model.state_dict().keys())
    if expected_layout is not None and not _layout_agrees(layout, expected_layout):
        raise CheckpointError(
            f"{path}: the keys are in the {layout} layout, but this zoo entry's file is {expected_layout}"
        )
    if containers:
        layout = f"{layout} (in {'/'.join(repr(c) for c in containers)})"
    check_state_dict(sd, model, str(path), layout)
    own = model.state_dict()
    sd = {k: v for k, v in own.items() if k.endswith(".num_batches_tracked")} | sd
    sd = {k: v.to(own[k].dtype) if v.is_floating_point() and v.dtype != own[k].dtype else v for k, v in sd.items()}
    model.load_state_dict(sd, strict=True)
    return layout


__all__ = ["load_checkpoint", "convert_state_dict", "check_state_dict", "read_checkpoint", "unwrap"]
