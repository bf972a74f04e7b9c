"""Small builders for hand-made PoseTrack 2018 files in tests."""

from __future__ import annotations

import json
import os

import numpy as np

from posetrack.keypoints import POSETRACK17

JOINTS17 = POSETRACK17.joints
# A standing person's joints (PoseTrack-17 names), in pixels; far apart from each other so a
# 15-pixel shift never lands on another joint's match radius.
BASE = {
    "nose": (100, 40), "head_bottom": (100, 60), "head_top": (100, 10),
    "left_shoulder": (130, 80), "right_shoulder": (70, 80), "left_elbow": (150, 130),
    "right_elbow": (50, 130), "left_wrist": (160, 180), "right_wrist": (40, 180),
    "left_hip": (120, 200), "right_hip": (80, 200), "left_knee": (125, 270),
    "right_knee": (75, 270), "left_ankle": (130, 340), "right_ankle": (70, 340),
}  # fmt: skip
HEAD = [85.0, 5.0, 30.0, 40.0]  # x, y, w, h: diagonal 50 -> head size 30 px


def person(tid, shift=(0.0, 0.0), joints=None, head=HEAD, score=0.9, scores=None, drop=(), raw=None):
    """One 2018 annotation: BASE moved by ``shift`` (per-joint overrides in ``joints``)."""
    pts = dict(BASE)
    if joints:
        pts.update(joints)
    kps = []
    for name in JOINTS17:
        if raw and name in raw:
            kps += list(raw[name])
        elif name in pts and name not in drop:
            x, y = pts[name]
            kps += [x + shift[0], y + shift[1], 1]
        else:
            kps += [0, 0, 0]
    ann = {"track_id": tid, "keypoints": kps, "category_id": 1}
    if head is not None:
        ann["bbox_head"] = list(head)
    if scores is not None:
        ann["scores"] = list(scores)
    elif score is not None:
        ann["scores"] = [score] * len(JOINTS17)
    return ann


def sequence(frames, name="000001_mpii_test", ignore=None) -> dict:
    """frames: list of lists of annotations (None = frame not labeled, no people)."""
    images, anns = [], []
    for f, people in enumerate(frames):
        img_id = 10000010000 + f
        img = {"file_name": f"images/val/{name}/{f:06d}.jpg", "id": img_id, "is_labeled": bool(people)}
        if ignore and f in ignore:
            img["ignore_regions_x"] = [[p[0] for p in poly] for poly in ignore[f]]
            img["ignore_regions_y"] = [[p[1] for p in poly] for poly in ignore[f]]
        images.append(img)
        for ann in people or []:
            a = dict(ann)
            a["image_id"] = img_id
            a["id"] = len(anns)
            anns.append(a)
    cat = {"id": 1, "name": "person", "keypoints": list(JOINTS17)}
    return {"images": images, "annotations": anns, "categories": [cat]}


def write(folder, name, data) -> str:
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name + ".json")
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def write_pair(tmp_path, gt_frames, pr_frames, name="000001_mpii_test", ignore=None):
    gt_dir, pr_dir = str(tmp_path / "gt"), str(tmp_path / "pr")
    write(gt_dir, name, sequence(gt_frames, name, ignore))
    write(pr_dir, name, sequence(pr_frames, name))
    return gt_dir, pr_dir


def joint_index(name: str) -> int:
    from posetrack.evaluation.posetrack_io import EVAL_JOINTS

    return EVAL_JOINTS.index(name)


def all_close(a, b) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return bool(np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) < 1e-9)))
