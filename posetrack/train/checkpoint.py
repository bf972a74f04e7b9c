"""Training checkpoints: plain weight files and the resumable state, written atomically.

``last.pth`` / ``best.pth`` hold the bare ``state_dict`` (tensors only, official key names): what
``posetrack run --weights`` and ``posetrack eval`` load strictly with ``weights_only=True``.
``train_state.pth`` beside them holds everything ``--resume`` needs (model, optimizer, scheduler,
grad scaler, completed epochs, best metric, RNG states, the config as JSON) and is also loadable
with ``weights_only=True`` (no pickled objects). Each file is written under a temporary name and
renamed, so an interrupted run leaves the previous complete file, never half of a new one.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from posetrack.atomic import AtomicFile
from posetrack.errors import CheckpointError, OutputError

WEIGHTS_LAST = "last.pth"
WEIGHTS_BEST = "best.pth"
STATE = "train_state.pth"
LOG = "log.jsonl"


def save_atomic(obj: object, path: Path) -> None:
    try:
        f = AtomicFile(path, "wb")
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e}") from None
    try:
        torch.save(obj, f.file)
        f.commit()
    except OSError as e:
        f.abort()
        raise OutputError(f"cannot write {path}: {e}") from None
    except BaseException:
        f.abort()
        raise


def plain_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's tensors on the CPU, contiguous (channels_last undone), float32 as trained."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}


def rng_state() -> dict:
    np_state = np.random.get_state()
    py = random.getstate()
    out = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]), int(np_state[3]),
                  float(np_state[4])],
        "python": [py[0], list(py[1]), py[2]],
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    p = state["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def scheduler_state(scheduler) -> dict:
    sd = dict(scheduler.state_dict())
    if isinstance(sd.get("milestones"), Counter):
        sd["milestones"] = dict(sd["milestones"])  # Counter is not a weights_only type
    return sd


def load_scheduler_state(scheduler, sd: dict) -> None:
    sd = dict(sd)
    if "milestones" in sd:
        sd["milestones"] = Counter(sd["milestones"])
    scheduler.load_state_dict(sd)


def read_state(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated or foreign file
        raise CheckpointError(f"{path}: not a posetrack training state ({type(e).__name__})") from None


def config_json(config: dict) -> str:
    return json.dumps(config, sort_keys=True)
