"""Tiny COCO- and PoseTrack-format training datasets drawn with posetrack.synthetic's walkers.

People are textured stick figures whose COCO-17 joints are known exactly, on a textured
background; visibility 2 for a joint drawn on the person's own pixels, 0 (x = y = 0) for one
occluded or outside the image, as COCO writes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from posetrack.synthetic import SyntheticScene


def coco_images(n: int, seed: int, width: int = 160, height: int = 128, people: int = 2):
    """``n`` (image, keypoints (P, 17, 3), boxes (P, 4) xyxy) triples, one random scene frame each."""
    out = []
    for i in range(n):
        scene = SyntheticScene.random(seed * 1000 + i, num_people=people, num_frames=1, width=width,
                                      height=height, pan=(0.0, 0.0), speed=0.0)
        for p in scene.people:  # keep the walkers inside the picture, fairly large
            p.x = float(np.clip(p.x, 0.25 * width, 0.75 * width))
            p.height = 0.7 * height
            p.y = 0.5 * height
        scene.margin = 0.0
        f = scene.frames()[0]
        out.append((f.image, f.keypoints, f.boxes))
    return out


def write_coco(root: Path, split: str, n: int, seed: int = 0, *, layout: str = "images", crowd: bool = False,
               no_keypoint_person: bool = False, width: int = 160, height: int = 128, people: int = 2,
               num_joints: int = 17, prefix: str = "person_keypoints") -> Path:
    """Write ``root/annotations/<prefix>_<split>.json`` and the JPEGs (``images/<split>/`` or ``<split>/``)."""
    img_dir = root / ("images" if layout == "images" else "") / split
    img_dir.mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i, (image, kp, boxes) in enumerate(coco_images(n, seed, width, height, people)):
        img_id = seed * 10000 + i + 1
        name = f"{img_id:012d}.jpg"
        cv2.imwrite(str(img_dir / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        images.append({"id": img_id, "file_name": name, "width": width, "height": height})
        for k, b in zip(kp, boxes):
            k = k[:num_joints].copy()
            vis = k[:, 2] > 0
            flat = np.zeros((num_joints, 3))
            flat[vis, :2] = k[vis, :2]
            flat[vis, 2] = 2
            x1, y1, x2, y2 = (float(v) for v in b)
            anns.append({
                "id": len(anns) + 1, "image_id": img_id, "category_id": 1, "iscrowd": 0,
                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                "num_keypoints": int(vis.sum()), "keypoints": [float(v) for v in flat.reshape(-1)],
                "segmentation": [[x1, y1, x2, y1, x2, y2, x1, y2]],
            })
        if crowd:  # a 20x20 crowd region at the top left, as COCO stores them (uncompressed RLE)
            region = np.zeros((height, width), np.uint8)
            region[:20, :20] = 1
            anns.append({"id": len(anns) + 1, "image_id": img_id, "category_id": 1, "iscrowd": 1,
                         "bbox": [0, 0, 20, 20], "area": 400, "num_keypoints": 0,
                         "keypoints": [0.0] * (3 * num_joints),
                         "segmentation": {"counts": _rle_counts(region), "size": [height, width]}})
        if no_keypoint_person:
            anns.append({"id": len(anns) + 1, "image_id": img_id, "category_id": 1, "iscrowd": 0,
                         "bbox": [width - 30, height - 30, 20, 20], "area": 400, "num_keypoints": 0,
                         "keypoints": [0.0] * (3 * num_joints),
                         "segmentation": [[width - 30, height - 30, width - 10, height - 30, width - 10, height - 10,
                                           width - 30, height - 10]]})
    cats = [{"id": 1, "name": "person", "supercategory": "person"}]
    path = root / "annotations" / f"{prefix}_{split}.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path


def _rle_counts(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed RLE: run lengths in column-major order, starting with a run of zeros."""
    flat = mask.flatten(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], change, [len(flat)]])).tolist()
    return runs if flat[0] == 0 else [0] + runs


def write_posetrack(root: Path, split: str, n_sequences: int = 2, n_frames: int = 6, seed: int = 0) -> list[str]:
    """A PoseTrack 2018 layout (the evaluation's synthetic sequences: walkers, ignore regions)."""
    from posetrack.evaluation.synthetic_dataset import generate_sequences, write_dataset

    seqs = generate_sequences(n_sequences, n_frames, n_people=2, width=160, height=128, seed=seed, split=split)
    return write_dataset(str(root), seqs)
