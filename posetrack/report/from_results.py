"""A run report rebuilt from a PoseTrack results file (and, for key frames, the video it came from)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from posetrack.errors import FormatError
from posetrack.jsonio import read_json
from posetrack.keypoints import LAYOUTS, KeypointLayout
from posetrack.types import FrameResult, Poses


def _not_ours(path: Path, why: str) -> FormatError:
    return FormatError(f"{path}: not a posetrack results file ({why})")


def _layout(path: Path, data: dict) -> KeypointLayout:
    cats = data.get("categories")
    if not isinstance(cats, list) or not cats or not isinstance(cats[0], dict):
        raise _not_ours(path, "no 'categories' with the keypoint names")
    joints = cats[0].get("keypoints")
    if not isinstance(joints, list) or not joints or not all(isinstance(j, str) for j in joints):
        raise _not_ours(path, "its category has no keypoint names")
    estimated = tuple(cats[0].get("estimated_keypoints") or ())
    for layout in LAYOUTS.values():
        if layout.joints == tuple(joints) and layout.estimated == estimated:
            return layout
    skeleton = tuple((a - 1, b - 1) for a, b in cats[0].get("skeleton") or [] if 0 < a <= len(joints) and 0 < b <= len(joints))
    return KeypointLayout("from-file", tuple(joints), (), skeleton, (0.05,) * len(joints), estimated)


def read_results(path: str | Path) -> tuple[KeypointLayout, list[tuple[int, str, list[dict]]]]:
    """(layout, [(frame index, file name, annotations)] in frame order) of a PoseTrack results file.

    FormatError (one line) for anything that is not such a file."""
    path = Path(path)
    data = read_json(path, "results file")
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise _not_ours(path, "expected an object with 'images' and 'annotations' lists")
    layout = _layout(path, data)
    frames: dict[int, tuple[int, str, list[dict]]] = {}
    for pos, image in enumerate(data["images"]):
        if not isinstance(image, dict) or not isinstance(image.get("id"), int):
            raise _not_ours(path, f"image {pos} has no integer 'id'")
        index = image.get("frame_index", pos)
        if not isinstance(index, int):
            raise _not_ours(path, f"image {pos}: 'frame_index' is not an integer")
        frames[image["id"]] = (index, str(image.get("file_name", "")), [])
    k = layout.num_joints
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or ann.get("image_id") not in frames:
            raise _not_ours(path, f"annotation {i} refers to no listed image")
        kps = ann.get("keypoints")
        if not isinstance(kps, list) or len(kps) != 3 * k:
            raise _not_ours(path, f"annotation {i}: expected {3 * k} keypoint values")
        frames[ann["image_id"]][2].append(ann)
    return layout, sorted(frames.values(), key=lambda f: f[0])


def frame_results(layout: KeypointLayout, frames, video: str | Path | None = None) -> Iterator[FrameResult]:
    """The file's frames as FrameResults; with ``video``, each with its decoded image and timestamp."""
    images = _video_frames(video, {f[0] for f in frames}) if video is not None else None
    k = layout.num_joints
    for index, name, anns in frames:
        if anns:
            kp = np.asarray([a["keypoints"] for a in anns], np.float32).reshape(-1, k, 3)
            scores = [a.get("scores") for a in anns]
            for n, s in enumerate(scores):  # per-joint scores, when written, are the confidences
                if isinstance(s, list) and len(s) == k:
                    kp[n, :, 2] = s
            xywh = np.asarray([a.get("bbox", [0, 0, 0, 0]) for a in anns], np.float32).reshape(-1, 4)
            boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
            poses = Poses(kp, boxes, [float(a.get("score", 1.0)) for a in anns], layout,
                          [int(a.get("track_id", -1)) for a in anns])
        else:
            poses = Poses.empty(layout)
        frame = images.get(index) if images is not None else None
        if frame is None:
            yield FrameResult(index, math.nan, 0, 0, poses, name=Path(name).name)
        else:
            yield FrameResult(index, frame.timestamp, frame.width, frame.height, poses, image=frame.image)


def _video_frames(video: str | Path, wanted: set[int]):
    """Lazily decoded frames of ``video`` by index; a frame is kept only until it is asked for."""
    from posetrack.video import open_source

    class Lookup:
        def __init__(self) -> None:
            self.source = open_source(video if isinstance(video, Path) else str(video))
            self.frames = iter(self.source)
            self.done = False

        def get(self, index: int):
            if self.done:
                return None
            for frame in self.frames:
                if frame.index == index:
                    return frame
                if frame.index > index:
                    return None  # not in the video: the file and the video disagree
            self.done = True
            self.source.close()
            return None

    return Lookup()
