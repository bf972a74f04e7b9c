"""A synthetic dataset in the PoseTrack 2018 layout, for tests and benchmarks of the evaluation.

``root/images/<split>/<seq>/000000.jpg ...`` and ``root/annotations/<split>/<seq>.json``, with
sequences named like PoseTrack's (``000001_mpii_test``) so the official toolkit's converter would
accept them too. People walk in their own lanes (so any sensible tracker keeps their ids), have
PoseTrack-17 keypoints (ears never annotated, a few joints randomly unannotated), head boxes and
track ids; an unannotated person stands inside an ignore region; optionally only every n-th frame
is labeled, as in PoseTrack val. :func:`make_predictions` turns ground truth into noisy predictions
(jitter, missed and false people, identity swaps) for realistic evaluation benchmarks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from posetrack.keypoints import POSETRACK17
from posetrack.synthetic import BODY, LIMBS, SWING

# PoseTrack-17 joint offsets from the mid-hip point in body heights (ears unused: never annotated).
# The walker of posetrack.synthetic in PoseTrack-17 joints: head_bottom and head_top replace the
# eyes; the ears exist in the layout but PoseTrack never annotates them.
_BODY = BODY.copy()
_BODY[1] = (0.00, -0.33)  # head_bottom
_BODY[2] = (0.00, -0.50)  # head_top
_BODY[3:5] = 0.0  # ears
_EARS = (3, 4)
_LIMBS = LIMBS + ((5, 11), (6, 12), (1, 2))


@dataclass
class SyntheticPerson:
    track_id: int
    keypoints: np.ndarray  # (17, 3) PoseTrack-17: x, y, visibility (0, 0, 0 = not annotated)
    box: np.ndarray  # (4,) x1, y1, x2, y2
    head: np.ndarray  # (4,) x1, y1, x2, y2


@dataclass
class SyntheticFrame:
    file_name: str  # relative to the dataset root, as PoseTrack writes it
    image_id: int
    labeled: bool
    people: list[SyntheticPerson] = field(default_factory=list)
    ignore_regions: list[np.ndarray] = field(default_factory=list)  # polygons (V, 2)
    distractors: list[np.ndarray] = field(default_factory=list)  # unannotated people's keypoints


@dataclass
class SyntheticSequence:
    name: str
    split: str
    width: int
    height: int
    frames: list[SyntheticFrame]


def _pose(cx: float, cy: float, height: float, phase: float) -> np.ndarray:
    xy = _BODY.copy()
    xy[:, 0] += SWING * np.sin(phase)
    return np.array([cx, cy]) + xy * height


def generate_sequences(
    n_sequences: int = 2,
    n_frames: int = 12,
    n_people: int = 3,
    width: int = 192,
    height: int = 144,
    *,
    seed: int = 0,
    split: str = "val",
    label_every: int = 1,
    p_unannotated_joint: float = 0.05,
    ignore_region: bool = True,
) -> list[SyntheticSequence]:
    """Ground truth for ``n_sequences`` sequences (nothing written yet)."""
    rng = np.random.default_rng(seed)
    seqs = []
    lanes_w = width * (0.8 if ignore_region else 1.0)
    for s in range(n_sequences):
        name = f"{s + 1:06d}_mpii_test"
        body_h = 0.6 * height
        people = []
        for k in range(n_people):
            people.append(
                dict(
                    tid=int(rng.integers(0, 100)) * 10 + k,  # arbitrary, distinct ids
                    x=(k + 0.5) * lanes_w / n_people,
                    y=height * 0.5 + rng.uniform(-0.05, 0.05) * height,
                    vx=rng.uniform(-0.3, 0.3),
                    vy=rng.uniform(-0.3, 0.3),
                    phase=rng.uniform(0, 2 * np.pi),
                )
            )
        region = None
        if ignore_region:
            x0 = lanes_w + 2
            region = np.array([[x0, 0.0], [width - 1.0, 0.0], [width - 1.0, height - 1.0], [x0, height - 1.0]])
        frames = []
        for f in range(n_frames):
            labeled = f % label_every == 0
            fr = SyntheticFrame(
                file_name=f"images/{split}/{name}/{f:06d}.jpg",
                image_id=10000000000 + (s + 1) * 10000 + f,
                labeled=labeled,
            )
            for p in people:
                xy = _pose(p["x"] + p["vx"] * f, p["y"] + p["vy"] * f, body_h, p["phase"] + 0.3 * f)
                kp = np.concatenate([xy, np.ones((17, 1))], axis=1)
                kp[list(_EARS)] = 0.0
                drop = rng.random(17) < p_unannotated_joint
                drop[[1, 2]] = False  # keep head joints: they define the head box
                kp[drop] = 0.0
                ann = kp[:, 2] > 0
                x1, y1 = kp[ann, :2].min(0)
                x2, y2 = kp[ann, :2].max(0)
                pad = 0.15 * max(x2 - x1, y2 - y1) / 2
                box = np.array([x1 - pad, y1 - pad, x2 + pad, y2 + pad])
                ht, hb = xy[2], xy[1]
                hs = np.linalg.norm(ht - hb)
                c = (ht + hb) / 2
                head = np.array([c[0] - 0.5 * hs, c[1] - 0.6 * hs, c[0] + 0.5 * hs, c[1] + 0.6 * hs])
                if labeled:
                    fr.people.append(SyntheticPerson(p["tid"], kp, box, head))
                else:
                    fr.distractors.append(xy)  # drawn but not annotated
            if region is not None:
                fr.ignore_regions.append(region)
                cx = (region[0, 0] + width) / 2
                fr.distractors.append(_pose(cx, height * 0.5, body_h * 0.8, 0.2 * f))
            frames.append(fr)
        seqs.append(SyntheticSequence(name, split, width, height, frames))
    return seqs


def _xywh(box: np.ndarray) -> list[float]:
    return [round(float(v), 3) for v in (box[0], box[1], box[2] - box[0], box[3] - box[1])]


def to_posetrack18(seq: SyntheticSequence) -> dict:
    """The PoseTrack 2018 annotation file content of one sequence."""
    images, anns = [], []
    for fr in seq.frames:
        img = {
            "file_name": fr.file_name,
            "id": fr.image_id,
            "frame_id": fr.image_id,
            "vid_id": seq.name.split("_")[0],
            "nframes": len(seq.frames),
            "is_labeled": fr.labeled,
            "has_no_densepose": True,
        }
        if fr.ignore_regions and fr.labeled:
            img["ignore_regions_x"] = [r[:, 0].tolist() for r in fr.ignore_regions]
            img["ignore_regions_y"] = [r[:, 1].tolist() for r in fr.ignore_regions]
        images.append(img)
        for p in fr.people:
            anns.append(
                {
                    "id": len(anns),
                    "image_id": fr.image_id,
                    "category_id": 1,
                    "track_id": p.track_id,
                    "keypoints": [round(float(v), 2) for v in p.keypoints.reshape(-1)],
                    "bbox": _xywh(p.box),
                    "bbox_head": _xywh(p.head),
                }
            )
    cat = {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(POSETRACK17.joints),
        "skeleton": [[a + 1, b + 1] for a, b in POSETRACK17.skeleton],
    }
    return {"images": images, "annotations": anns, "categories": [cat]}


def render(seq: SyntheticSequence, frame: SyntheticFrame) -> np.ndarray:
    """A small RGB picture of the frame: stick figures on a textured background."""
    h, w = seq.height, seq.width
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([90 + 30 * np.sin(xx / 9.0), 100 + 30 * np.cos(yy / 7.0), 110 + 0 * xx], -1).astype(np.uint8)
    img = np.ascontiguousarray(img)
    colours = [(230, 60, 60), (60, 200, 60), (60, 90, 230), (220, 200, 40), (200, 60, 200)]
    figures = [p.keypoints[:, :2] for p in frame.people] + list(frame.distractors)
    for k, xy in enumerate(figures):
        col = colours[k % len(colours)]
        for a, b in _LIMBS:
            pa, pb = xy[a], xy[b]
            cv2.line(img, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), col, 3, cv2.LINE_AA)
        c = xy[0]
        cv2.circle(img, (int(c[0]), int(c[1])), max(2, int(0.06 * seq.height)), col, -1, cv2.LINE_AA)
    return img


def write_dataset(root: str, sequences: list[SyntheticSequence], images: bool = True) -> list[str]:
    """Write annotation files (and JPEGs) under ``root``; returns the annotation file paths."""
    paths = []
    for seq in sequences:
        ann_dir = os.path.join(root, "annotations", seq.split)
        os.makedirs(ann_dir, exist_ok=True)
        path = os.path.join(ann_dir, seq.name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(to_posetrack18(seq), f)
        paths.append(path)
        if images:
            img_dir = os.path.join(root, "images", seq.split, seq.name)
            os.makedirs(img_dir, exist_ok=True)
            for fr in seq.frames:
                bgr = cv2.cvtColor(render(seq, fr), cv2.COLOR_RGB2BGR)
                cv2.imwrite(os.path.join(root, fr.file_name), bgr)
    return paths


def make_predictions(
    gt: dict,
    seed: int = 0,
    *,
    noise: float = 0.08,
    p_miss_person: float = 0.1,
    p_false_person: float = 0.1,
    p_swap: float = 0.02,
    p_drop_joint: float = 0.1,
) -> dict:
    """Noisy predictions from ground truth, as a tracker would write them.

    ``noise`` is the keypoint jitter in head sizes; people are missed, hallucinated (a shifted copy
    of someone) and have their track ids swapped (from that frame on) at the given rates; joint
    scores are random and lower for jittered-far joints, so AP is informative.
    """
    rng = np.random.default_rng(seed)
    pred = {k: v for k, v in gt.items() if k != "annotations"}
    anns_by_image: dict = {}
    for ann in gt["annotations"]:
        anns_by_image.setdefault(ann["image_id"], []).append(ann)
    out = []
    id_map: dict[int, int] = {}
    for img in gt["images"]:
        frame = anns_by_image.get(img["id"], [])
        if len(frame) >= 2 and rng.random() < p_swap:
            a, b = rng.choice(len(frame), 2, replace=False)
            ta, tb = frame[a]["track_id"], frame[b]["track_id"]
            id_map[ta], id_map[tb] = id_map.get(tb, tb), id_map.get(ta, ta)
        people = []
        for ann in frame:
            if rng.random() < p_miss_person:
                continue
            kp = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3).copy()
            hb = ann.get("bbox_head", [0, 0, 20, 20])
            hsize = 0.6 * np.hypot(hb[2], hb[3])
            jitter = rng.normal(0, noise * hsize, (len(kp), 2))
            ok = (kp != 0).any(1) & (rng.random(len(kp)) >= p_drop_joint)
            kp[:, :2] += jitter
            kp[~ok] = 0.0
            kp[ok, 2] = 1.0
            err = np.linalg.norm(jitter, axis=1) / max(hsize, 1e-6)
            scores = np.where(ok, np.clip(1.0 - err + rng.normal(0, 0.1, len(kp)), 0.01, 1.0), 0.0)
            people.append((id_map.get(ann["track_id"], ann["track_id"]), kp, scores))
        if frame and rng.random() < p_false_person:
            if people:
                _, kp, scores = people[0]
            else:
                kp, scores = np.asarray(frame[0]["keypoints"], float).reshape(-1, 3), np.full(17, 0.5)
            fake = kp.copy()
            fake[(fake != 0).any(1), :2] += rng.normal(0, 15, 2)
            people.append((9000 + len(out) % 900, fake, scores * 0.5))
        for tid, kp, scores in people:
            out.append(
                {
                    "id": len(out),
                    "image_id": img["id"],
                    "category_id": 1,
                    "track_id": int(tid),
                    "keypoints": [round(float(v), 2) for v in kp.reshape(-1)],
                    "scores": [round(float(v), 4) for v in scores],
                }
            )
    pred["annotations"] = out
    return pred
