"""PoseTrack 2018 files: ``images`` / ``annotations`` / ``categories`` (COCO-like), one file per video.

* writing: :func:`annotation` and :func:`image_entries` (the result writer streams them);
* the structure every reader of such files checks the same way: :func:`index_images` and
  :func:`annotations_by_image` (the pose-file and detection-file readers, the benchmark);
* :func:`read_frames`: a sequence in the evaluation layout, brought to 15 joints the way poseval's
  2018-to-2017 conversion does it: frames in the order of ``images``, people in the order of
  ``annotations``, a joint absent only when it is exactly ``(0, 0, 0)``, the ears dropped, the head
  box ``bbox_head = [x, y, w, h]`` turned into corners.

Frames are the ``images`` in file order: an image's position is its frame index.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from posetrack.errors import FormatError
from posetrack.formats.common import (
    FRAMES_PER_VIDEO,
    PERSON,
    is_person,
    posetrack_image_id,
    video_number,
    xyxy_to_xywh,
)
from posetrack.formats.sequences import (
    EVAL_JOINTS,
    MAX_TRACK_ID,
    MIN_SCORE,
    NUM_JOINTS,
    FrameAnno,
    People,
    log,
    number,
    polygon,
    track_id,
)

# ----------------------------------------------------------------------------------------------
# writing


def image_id(video: Any, frame_index: int) -> int:
    """The id of a frame's image: PoseTrack's ``1VVVVVVFFFF`` (``video`` as files carry vid_id).

    A frame past the four frame digits (10000 frames, 6.7 minutes at 25 fps) gets its plain index,
    which the frame-index rule reads back as well and which cannot collide with a 1VVVVVVFFFF id.
    """
    if frame_index >= FRAMES_PER_VIDEO:
        return int(frame_index)
    return posetrack_image_id(video_number(video), frame_index)


def annotation(ann_id: int, image: int, track: int, box: np.ndarray, keypoints: np.ndarray, score: float) -> dict:
    """One person: box x1, y1, x2, y2 -> ``bbox`` [x, y, w, h]; keypoints (K, 3) flat, their
    scores again in ``scores`` (the evaluation reads those)."""
    kp = np.asarray(keypoints)
    return {
        "id": int(ann_id),
        "image_id": int(image),
        "category_id": PERSON,
        "track_id": int(track),
        "bbox": xyxy_to_xywh(box),
        "keypoints": [round(float(v), 2) for v in kp.reshape(-1)],
        "scores": [round(float(v), 4) for v in kp[:, 2]],
        "score": round(float(score), 4),
    }


def image_entries(images: list[tuple[int, int, str]], video: Any) -> list[dict]:
    """The ``images`` list from (image id, frame index, file name) per frame, in frame order."""
    n = len(images)
    return [
        {"file_name": name, "id": img_id, "frame_id": img_id, "vid_id": video, "frame_index": index,
         "nframes": n}
        for img_id, index, name in images
    ]  # fmt: skip


# ----------------------------------------------------------------------------------------------
# the structure, checked once for every reader


def is_posetrack2018(data: Any) -> bool:
    return isinstance(data, dict) and "images" in data


def index_images(data: Any, path: str) -> dict[Any, int]:
    """{image id: position in ``images``} (the position is the frame index), checking the file has
    ``images`` and ``annotations`` lists and every image an id."""
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not isinstance(
        data.get("annotations"), list
    ):
        raise FormatError(f"{path}: 'images' and 'annotations' must be lists")
    position: dict[Any, int] = {}
    for i, img in enumerate(data["images"]):
        if not isinstance(img, dict) or "id" not in img:
            raise FormatError(f"{path}: images[{i}] has no 'id'")
        position[img["id"]] = i
    return position


def annotations_by_image(data: dict, path: str, position: dict[Any, int]) -> Iterator[tuple[int, dict, str]]:
    """(image position, annotation, where) for every person annotation; an annotation whose
    ``image_id`` names no image is a FormatError."""
    for i, ann in enumerate(data["annotations"]):
        where = f"{path}: annotations[{i}]"
        if not isinstance(ann, dict) or ann.get("image_id") not in position:
            raise FormatError(f"{where}: 'image_id' does not name an entry of 'images'")
        if is_person(ann):
            yield position[ann["image_id"]], ann, where


# ----------------------------------------------------------------------------------------------
# the evaluation layout


def _keypoint_table(data: dict, path: str) -> list[int | None]:
    cats = data.get("categories")
    where = f"{path}: categories"
    if not isinstance(cats, list) or len(cats) != 1 or not isinstance(cats[0], dict):
        raise FormatError(f"{where}: expected exactly one category (person)")
    if cats[0].get("name") != "person":
        raise FormatError(f"{where}[0].name: expected 'person', got {cats[0].get('name')!r}")
    names = cats[0].get("keypoints")
    if not isinstance(names, list) or len(names) not in (15, 17):
        raise FormatError(f"{where}[0].keypoints: expected 15 or 17 keypoint names")
    table: list[int | None] = []
    for name in names:
        if name in EVAL_JOINTS:
            table.append(EVAL_JOINTS.index(name))
        else:
            table.append(None)
            if name not in ("left_ear", "right_ear"):
                log.warning("%s[0].keypoints: unknown keypoint name %r is ignored", where, name)
    missing = [n for i, n in enumerate(EVAL_JOINTS) if i not in table]
    if missing:
        raise FormatError(f"{where}[0].keypoints: keypoint {missing[0]!r} not found")
    return table


def _video_id(file_name: str) -> str:
    """poseval's video of an image: the first part of its folder name."""
    return os.path.basename(os.path.dirname(file_name)).split("_")[0]


def _numeric_rows(rows: list, path: str, field_name: str, indices: list[int], width: int, exact: bool) -> np.ndarray:
    """Stack lists of numbers into a float64 (rows, width) array; name the first bad one.

    ``exact``: every row has exactly ``width`` values, else at least ``width`` (extra ignored).
    """
    arr = None
    try:
        arr = np.array(rows)
    except (ValueError, TypeError):
        pass
    if (
        arr is not None and arr.ndim == 2 and arr.dtype.kind in "iuf"
        and (arr.shape[1] == width or (not exact and arr.shape[1] > width))
    ):  # fmt: skip
        return arr[:, :width].astype(np.float64)
    for ai, row in zip(indices, rows):
        where = f"{path}: annotations[{ai}].{field_name}"
        if not isinstance(row, list):
            raise FormatError(f"{where}: expected a list")
        if len(row) != width and (exact or len(row) < width):
            raise FormatError(f"{where}: {len(row)} values, expected {width}")
        for v in row:
            number(v, where)
    raise FormatError(f"{path}: annotations: malformed {field_name}")  # pragma: no cover


def read_frames(data: dict, path: str, is_gt: bool) -> list[FrameAnno]:
    """One 2018 sequence file in the evaluation layout, as poseval's 2018-to-2017 conversion reads it."""
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise FormatError(f"{path}: field '{key}' missing or not a list")
    table = _keypoint_table(data, path)
    k = len(table)
    src = np.array([j for j, idx in enumerate(table) if idx is not None])
    dst = np.array([idx for idx in table if idx is not None])
    images = data["images"]

    # every annotation at once: track ids, keypoints, scores, head boxes (checked as arrays)
    anns = data["annotations"]
    n = len(anns)
    image_of, tids, kps, scores, heads = [], [], [], [], []
    has_scores = np.zeros(n, bool)
    has_head = np.zeros(n, bool)
    for ai, ann in enumerate(anns):
        if not isinstance(ann, dict):
            raise FormatError(f"{path}: annotations[{ai}]: expected an object")
        for key in ("image_id", "track_id", "keypoints"):
            if key not in ann:
                raise FormatError(f"{path}: annotations[{ai}].{key} missing")
        image_of.append(ann["image_id"])
        tids.append(ann["track_id"])
        kps.append(ann["keypoints"])
        sc = ann.get("scores")
        if sc:  # poseval uses scores only when the list is non-empty
            scores.append(sc)
            has_scores[ai] = True
        hb = ann.get("bbox_head")
        if hb is not None:
            heads.append(hb)
            has_head[ai] = True
    tid_all = np.array(tids) if n else np.zeros(0, np.int64)
    if n and (tid_all.dtype.kind not in "iu" or tid_all.ndim != 1 or tid_all.max() >= MAX_TRACK_ID):
        tid_all = np.array([track_id(t, f"{path}: annotations[{ai}].track_id") for ai, t in enumerate(tids)])
    tid_all = tid_all.astype(np.int64)
    kp_all = (
        _numeric_rows(kps, path, "keypoints", list(range(n)), 3 * k, True).reshape(n, k, 3)
        if n else np.zeros((0, k, 3))
    )  # fmt: skip
    sc_all = np.full((n, k), MIN_SCORE)
    if has_scores.any():
        sc_all[has_scores] = _numeric_rows(scores, path, "scores", np.nonzero(has_scores)[0].tolist(), k, False)
    if not is_gt and n and not has_scores.all():
        log.warning("%s: annotations[%d]: keypoint scores missing; using %g as poseval does",
                    path, int(np.argmin(has_scores)), MIN_SCORE)  # fmt: skip
    head_all = np.full((n, 4), np.nan)
    if has_head.any():
        hb = _numeric_rows(heads, path, "bbox_head", np.nonzero(has_head)[0].tolist(), 4, True)
        head_all[has_head] = np.stack([hb[:, 0], hb[:, 1], hb[:, 0] + hb[:, 2], hb[:, 1] + hb[:, 3]], axis=1)
    absent = (kp_all == 0).all(axis=2)  # the 2018 format's "not annotated" is exactly (0, 0, 0)
    xy_all = np.zeros((n, NUM_JOINTS, 2))
    present_all = np.zeros((n, NUM_JOINTS), bool)
    scores_eval = np.full((n, NUM_JOINTS), MIN_SCORE)
    xy_all[:, dst] = kp_all[:, src, :2]
    present_all[:, dst] = ~absent[:, src]
    scores_eval[:, dst] = sc_all[:, src]
    if is_gt and n:
        bad = present_all.any(axis=1) & np.isnan(head_all[:, 0])
        if bad.any():
            raise FormatError(f"{path}: annotations[{int(np.argmax(bad))}].bbox_head missing "
                              "(needed for the PCKh head size)")  # fmt: skip
    by_image: dict = {}
    for ai, img_id in enumerate(image_of):
        by_image.setdefault(img_id, []).append(ai)
    image_ids = {img.get("id") for img in images if isinstance(img, dict)}
    orphans = [img_id for img_id in by_image if img_id not in image_ids]
    if orphans:  # poseval drops these silently; we say so
        count = sum(len(by_image[i]) for i in orphans)
        log.warning("%s: %d annotation(s) name no image (image_id %s) and are ignored",
                    path, count, ", ".join(str(i) for i in orphans[:5]) + (" ..." if len(orphans) > 5 else ""))

    frames: list[FrameAnno] = []
    first_video = None
    other_videos = set()
    for ii, img in enumerate(images):
        where = f"{path}: images[{ii}]"
        if not isinstance(img, dict) or "id" not in img:
            raise FormatError(f"{where}.id missing")
        name = img.get("file_name", "")
        if not isinstance(name, str):
            raise FormatError(f"{where}.file_name: expected a string")
        vid = _video_id(name)
        if first_video is None:
            first_video = vid
        elif vid != first_video:
            # poseval splits a file into videos by folder name and evaluates only the first one.
            other_videos.add(vid)
            continue
        ignore: list[np.ndarray] = []
        has_ignore = False
        if "ignore_regions_x" in img and "ignore_regions_y" in img:
            rx, ry = img["ignore_regions_x"], img["ignore_regions_y"]
            if not isinstance(rx, list) or not isinstance(ry, list):
                raise FormatError(f"{where}.ignore_regions_x/y: expected lists of lists")
            ignore = [
                polygon(xs, ys, f"{where}.ignore_regions[{r}]") for r, (xs, ys) in enumerate(zip(rx, ry))
            ]
            has_ignore = len(ignore) > 0
        sel = by_image.get(img["id"], [])
        if sel and sel[-1] - sel[0] == len(sel) - 1:
            sel = slice(sel[0], sel[-1] + 1)  # the usual case: an image's annotations are adjacent
        people = People(
            xy_all[sel], present_all[sel], scores_eval[sel], tid_all[sel], head_all[sel],
            [_NO_EXTRA] * len(tid_all[sel]),
        )  # fmt: skip
        frames.append(FrameAnno(name, people, len(people) > 0, ignore, has_ignore))
    if other_videos:
        log.warning(
            "%s: images of %d more video(s) (%s) are ignored: the official toolkit evaluates only "
            "the first video of a file", path, len(other_videos), ", ".join(sorted(other_videos))
        )
    return frames


_NO_EXTRA = np.zeros((0, 2))
