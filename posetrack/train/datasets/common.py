"""What every training dataset shares: dataset roots, image decoding with a failure budget, layouts."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from torch.utils.data import Dataset

from posetrack.errors import InputError
from posetrack.keypoints import COCO17, CROWDPOSE14, POSETRACK17

log = logging.getLogger("posetrack")

# Joints the half-body augmentation counts as upper body (official COCO upper_body_ids 0..10).
UPPER_BODY = {
    "coco17": tuple(range(11)),
    "posetrack17": tuple(range(11)),
    "crowdpose14": (0, 1, 2, 3, 4, 5, 12, 13),
}
# Official COCO USE_DIFFERENT_JOINTS_WEIGHT table (elbows/knees 1.2, wrists/ankles 1.5).
COCO_JOINTS_WEIGHT = np.array([1, 1, 1, 1, 1, 1, 1, 1.2, 1.2, 1.5, 1.5, 1, 1, 1.2, 1.2, 1.5, 1.5], np.float32)

# data.format -> the layout its annotations are in (posetrack.keypoints holds them all)
LAYOUTS = {"coco": COCO17, "posetrack": POSETRACK17, "crowdpose": CROWDPOSE14}


def read_rgb(path: str | Path) -> np.ndarray | None:
    """RGB uint8 as the official loaders read it (IMREAD_COLOR | IGNORE_ORIENTATION, BGR->RGB);
    None when the file is missing or does not decode."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def first_decodable(records, index: int):
    """``records[index]`` and its RGB image, or, when that image does not decode, the next record's
    that does (wrapping around); also the paths that did not decode, for the engine to report."""
    bad: list[str] = []
    for step in range(len(records)):
        rec = records[(index + step) % len(records)]
        image = read_rgb(rec.image)
        if image is not None:
            return rec, image, bad
        bad.append(str(rec.image))
    raise RuntimeError("no training image decodes")


@dataclass(frozen=True)
class CocoPaths:
    annotations: Path
    images: Path


def coco_paths(root: str | Path, split: str, prefix: str = "person_keypoints") -> CocoPaths:
    """``ROOT/annotations/<prefix>_<split>.json`` and the images in ``ROOT/<split>/`` or
    ``ROOT/images/<split>/`` (the official layout); InputError naming what is missing."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"dataset root not found: {root}")
    ann = root / "annotations" / f"{prefix}_{split}.json"
    if not ann.is_file():
        raise InputError(f"{root}: no annotation file annotations/{ann.name} for split '{split}'")
    for images in (root / split, root / "images" / split, root / "images"):
        if images.is_dir():
            return CocoPaths(ann, images)
    raise InputError(f"{root}: no image folder for split '{split}' ({split}/ or images/{split}/)")


def check_files(paths: list[Path], max_bad: float, what: str) -> np.ndarray:
    """Boolean mask of the files that exist; warns about each missing one (named), stops with
    InputError when more than ``max_bad`` of them are missing."""
    ok = np.array([os.path.isfile(p) for p in paths], dtype=bool)
    missing = [p for p, k in zip(paths, ok) if not k]
    if paths and len(missing) > max_bad * len(paths):
        raise InputError(
            f"{len(missing)} of {len(paths)} {what} images are missing (more than data.max_bad_images="
            f"{max_bad:g}), e.g. {missing[0]}"
        )
    for p in missing[:20]:
        log.warning("image missing, skipped: %s", p)
    if len(missing) > 20:
        log.warning("... and %d more missing images", len(missing) - 20)
    return ok


class RecordDataset(Dataset):
    """What both training datasets share: their records, and the (seed, epoch) every sample's
    random numbers are drawn from (``set_epoch`` each epoch), which makes resume and DDP exact."""

    def __init__(self, records: list, seed: int = 0) -> None:
        self.records = records
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)
