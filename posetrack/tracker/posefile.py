"""Per-frame poses from a results file, and tracked poses written as PoseTrack 2018 JSON.

Used by ``posetrack track`` (tracking poses that some other estimator produced). Inputs:

* PoseTrack 2018 JSON (``images`` / ``annotations`` / ``categories``): frames in the order of
  ``images``; the layout is COCO-17 or PoseTrack-17 according to the category's keypoint names
  (PoseTrack-17 when there are none). Per-joint scores come from ``scores`` when present, else from
  the third keypoint value.
* COCO keypoint results (a list of ``{"image_id", "keypoints", "score"}``): COCO-17; frames are the
  distinct ``image_id`` values in increasing order, and the frame index is the id itself (or its
  last four digits for PoseTrack 2018 ids ``1VVVVVVFFFF``), used to find the frame in a video.

The structure of both is checked by :mod:`posetrack.formats` (the same one-line errors as every
other reader of these files).

Track ids in the input are ignored. A missing ``bbox`` is made from the joints with a positive
score, enlarged by 15 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posetrack.errors import FormatError
from posetrack.formats import coco, posetrack2018
from posetrack.formats.common import frame_index_from_image_id, layout_from_categories
from posetrack.jsonio import read_json
from posetrack.keypoints import COCO17, KeypointLayout
from posetrack.tracker.boxes import keypoint_boxes
from posetrack.types import Poses


@dataclass
class PoseFrame:
    """One frame of a poses file."""

    image: dict  # the PoseTrack ``images`` entry (file_name, id, frame_id, ...)
    index: int  # frame index in the video (position for PoseTrack files)
    poses: Poses
    extra: list[dict]  # per pose: input fields carried to the output (score, ...)


def _pose_arrays(anns: list[dict], layout: KeypointLayout, where: str) -> tuple[Poses, list[dict]]:
    k = layout.num_joints
    kps = np.zeros((len(anns), k, 3), np.float32)
    boxes = np.zeros((len(anns), 4), np.float32)
    has_box = np.zeros(len(anns), bool)
    scores = np.zeros(len(anns), np.float32)
    extra = []
    for i, ann in enumerate(anns):
        flat = ann.get("keypoints")
        if not isinstance(flat, list) or len(flat) != 3 * k:
            raise FormatError(f"{where}: 'keypoints' must be a flat list of {3 * k} numbers (x, y, score) per person")
        try:
            kps[i] = np.asarray(flat, dtype=np.float32).reshape(k, 3)
            if isinstance(ann.get("scores"), list) and len(ann["scores"]) == k:
                kps[i, :, 2] = np.asarray(ann["scores"], dtype=np.float32)
            bbox = ann.get("bbox")
            if isinstance(bbox, list) and len(bbox) == 4:
                x, y, w, h = (float(v) for v in bbox)
                boxes[i], has_box[i] = (x, y, x + w, y + h), True
        except (TypeError, ValueError):
            raise FormatError(f"{where}: non-numeric keypoints, scores or bbox") from None
        score = ann.get("score")
        scores[i] = float(score) if isinstance(score, (int, float)) else float(kps[i, :, 2].mean())
        extra.append({"score": float(scores[i])})
    if len(anns) and not has_box.all():
        kb, _ = keypoint_boxes(kps, 0.0, 0.15)
        boxes[~has_box] = kb[~has_box]
    return Poses(kps, boxes, scores, layout), extra


def read_poses_file(path: str | Path) -> tuple[list[PoseFrame], KeypointLayout]:
    path = Path(path)
    data = read_json(path, "poses file")
    frames: list[PoseFrame] = []
    if posetrack2018.is_posetrack2018(data):
        layout = layout_from_categories(data.get("categories"))
        position = posetrack2018.index_images(data, str(path))
        by_image: list[list[dict]] = [[] for _ in data["images"]]
        for index, ann, _ in posetrack2018.annotations_by_image(data, str(path), position):
            if "keypoints" in ann:
                by_image[index].append(ann)
        for i, img in enumerate(data["images"]):
            poses, extra = _pose_arrays(by_image[i], layout, f"{path}: image {img['id']}")
            frames.append(PoseFrame(dict(img), i, poses, extra))
        return frames, layout
    if coco.is_results_list(data):
        layout = COCO17
        groups = coco.people_by_image(data, str(path), "'keypoints'")
        for image_id in sorted(groups):
            index = frame_index_from_image_id(image_id)
            poses, extra = _pose_arrays([a for _, a in groups[image_id]], layout, f"{path}: image_id {image_id}")
            image = {"id": image_id, "file_name": f"{index:06d}.jpg", "frame_id": image_id}
            frames.append(PoseFrame(image, index, poses, extra))
        return frames, layout
    raise FormatError(f"{path}: expected PoseTrack 2018 JSON (images/annotations) or a COCO keypoint results list")
