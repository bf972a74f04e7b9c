"""Read PoseTrack21 (and PoseTrack 2018) sequence files the way the official PoseTrack21 kit does.

One JSON file per sequence with ``images`` and ``annotations``. What the kit reads, and so what is
read here (rules in docs/evaluation.md, "PoseTrack21"):

* frames are the ``images`` entries in list order; an annotation belongs to the image with its
  ``image_id``; people keep the order of ``annotations``;
* ``keypoints`` are 17 x (x, y, v) in PoseTrack order; the ears (slots 3 and 4) are dropped, which
  leaves the 15 evaluated joints; the categories' keypoint names are not read;
* ground truth: ``is_labeled``, ``ignore_regions_x/y`` per image, ``bbox_head = [x, y, w, h]`` per
  person (head size ``0.6 * |(x + w, y + h) - (x, y)|``);
* predictions: ``scores`` (17 per person, -9999 each when absent) replace the third keypoint
  column. In a frame whose keypoints are all JSON integers the kit's keypoint array is an integer
  array, so the scores are truncated to integers there; that is reproduced.

Everything the kit would trip over (KeyError, IndexError, a bare assertion) is a
:class:`~posetrack.errors.FormatError` naming the file and the entry.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from posetrack.errors import FormatError, InputError
from posetrack.jsonio import read_json

log = logging.getLogger("posetrack")

NUM_RAW = 17  # keypoints per person in the file
NUM_JOINTS = 15  # evaluated: the file's 17 without the ears
EAR_SLOTS = (3, 4)
KEEP = np.array([i for i in range(NUM_RAW) if i not in EAR_SLOTS])
# The kit's joint order and its names for them (its output tables).
JOINT_NAMES: tuple[str, ...] = (
    "Nose", "Neck", "Head", "LS", "RS", "LE", "RE", "LW", "RW", "LH", "RH", "LK", "RK", "LA", "RA",
)  # fmt: skip
MISSING_SCORE = -9999.0  # the kit's score for a person without ``scores``


@dataclass
class Pt21Sequence:
    """One file, all annotations in flat arrays ordered by frame (then file order)."""

    name: str  # file name (the kit's sequence key)
    path: str
    image_ids: list  # per image, file order
    file_names: list[str]
    labeled: np.ndarray  # (T,) bool (ground truth only; all False for predictions)
    ring_xy: np.ndarray  # (V, 2) ignore-region polygon vertices of all images, ring after ring (GT only)
    ring_start: np.ndarray  # (R + 1,) offsets of each ring in ring_xy
    ring_image: np.ndarray  # (R,) image index of each ring
    has_ignore: np.ndarray  # (T,) bool: a non-empty ignore-region list (the kit's test)
    starts: np.ndarray  # (T + 1,) offsets of each image's people in the arrays below
    kp: np.ndarray  # (N, 15, 3) float64; predictions: third column = score as the kit sees it
    track_ids: np.ndarray  # (N,) int64
    ann_index: np.ndarray  # (N,) position in the file's ``annotations`` (for messages)
    head_size: np.ndarray  # (N,) float64 (ground truth only; NaN for predictions)

    def frame_where(self, t: int) -> str:
        name = self.file_names[t] if t < len(self.file_names) else ""
        return f"{self.path}: images[{t}] (id {self.image_ids[t]!r}{', ' + name if name else ''})"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _rows(values: list, path: str, field: str, ann_idx: list[int], width: int) -> np.ndarray:
    """Lists of numbers -> float64 (n, width); the first bad entry is named."""
    arr = None
    try:
        arr = np.array(values)
    except (ValueError, TypeError):
        pass
    if arr is not None and arr.ndim == 2 and arr.shape[1] == width and arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    for ai, row in zip(ann_idx, values):
        where = f"{path}: annotations[{ai}].{field}"
        if not isinstance(row, list):
            raise FormatError(f"{where}: expected a list of {width} numbers")
        if len(row) != width:
            raise FormatError(f"{where}: {len(row)} values, expected {width}")
        for v in row:
            if not _is_number(v):
                raise FormatError(f"{where}: expected numbers, got {v!r}")
    raise FormatError(f"{path}: annotations: malformed {field}")  # pragma: no cover


def _check_regions(img: dict, where: str) -> None:
    """Name the first malformed ignore region of an image (called once a problem is known)."""
    rx, ry = img.get("ignore_regions_x", []), img.get("ignore_regions_y", [])
    if not isinstance(rx, list) or not isinstance(ry, list) or len(rx) != len(ry):
        raise FormatError(f"{where}.ignore_regions_x/y: expected two lists of the same length")
    for r, (xs, ys) in enumerate(zip(rx, ry)):
        if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
            raise FormatError(f"{where}.ignore_regions_x/y[{r}]: x and y lists of different length")
        if not all(_is_number(v) for v in xs + ys):
            raise FormatError(f"{where}.ignore_regions_x/y[{r}]: expected numbers")


def _rings(images: list, path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All ignore-region polygons of a file as flat arrays (vertices, ring offsets, ring image) and
    which images have a non-empty region list."""
    xs_all: list = []
    ys_all: list = []
    lens: list[int] = []
    ring_image: list[int] = []
    has = np.zeros(len(images), bool)
    for t, img in enumerate(images):
        rx, ry = img.get("ignore_regions_x", []), img.get("ignore_regions_y", [])
        if not rx and not ry:
            continue
        if not isinstance(rx, list) or not isinstance(ry, list) or len(rx) != len(ry):
            _check_regions(img, f"{path}: images[{t}]")
        has[t] = len(rx) > 0
        for xs, ys in zip(rx, ry):
            if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
                _check_regions(img, f"{path}: images[{t}]")
            xs_all += xs
            ys_all += ys
            lens.append(len(xs))
            ring_image.append(t)
    xy = np.array([xs_all, ys_all]) if xs_all else np.zeros((2, 0))
    if xy.dtype.kind not in "iuf" or xy.ndim != 2:
        for t, img in enumerate(images):
            _check_regions(img, f"{path}: images[{t}]")
    lens_arr = np.asarray(lens, np.int64)
    bad = np.nonzero((lens_arr > 0) & (lens_arr < 3))[0]
    if len(bad):
        log.warning("%s: images[%d]: an ignore region with %d points is not a polygon; it ignores nothing "
                    "(the official kit fails on it)", path, ring_image[bad[0]], lens_arr[bad[0]])  # fmt: skip
    start = np.concatenate([[0], np.cumsum(lens_arr)]).astype(np.int64)
    return xy.T.astype(np.float64).reshape(-1, 2), start, np.asarray(ring_image, np.int64), has


def read_sequence(path: str, is_gt: bool) -> Pt21Sequence:
    """Read one PoseTrack21 / PoseTrack 2018 sequence file into flat per-annotation arrays."""
    data = read_json(path, "ground-truth file" if is_gt else "prediction file")
    if not isinstance(data, dict):
        raise FormatError(f"{path}: expected a JSON object with 'images' and 'annotations'")
    images, anns = data.get("images"), data.get("annotations")
    if not isinstance(images, list):
        raise FormatError(f"{path}: field 'images' missing or not a list (PoseTrack21 / 2018 format needed)")
    if not isinstance(anns, list):
        raise FormatError(f"{path}: field 'annotations' missing or not a list")
    t_of_id: dict = {}
    image_ids, file_names = [], []
    labeled = np.zeros(len(images), bool)
    missing_regions = None
    for t, img in enumerate(images):
        where = f"{path}: images[{t}]"
        if not isinstance(img, dict) or "id" not in img:
            raise FormatError(f"{where}.id missing")
        iid = img["id"]
        if not isinstance(iid, (int, str)) or isinstance(iid, bool):
            raise FormatError(f"{where}.id: expected an integer or a string, got {iid!r}")
        if iid in t_of_id:
            raise FormatError(f"{where}.id {iid!r} repeats images[{t_of_id[iid]}] (the official kit fails on it)")
        t_of_id[iid] = t
        image_ids.append(iid)
        name = img.get("file_name", "")
        file_names.append(name if isinstance(name, str) else "")
        if is_gt:
            if "is_labeled" not in img:
                raise FormatError(f"{where}.is_labeled missing (needed to choose the evaluated frames)")
            labeled[t] = bool(img["is_labeled"])
            if "ignore_regions_x" not in img and missing_regions is None:
                missing_regions = where
    ring_xy, ring_start, ring_image, has_ignore = _rings(images, path) if is_gt else (
        np.zeros((0, 2)), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(len(images), bool))
    if missing_regions is not None:
        log.warning("%s: ignore_regions_x/y missing (and maybe later images too): read as none "
                    "(the official kit fails on it)", missing_regions)  # fmt: skip

    n = len(anns)
    fast = _fast_fields(anns, t_of_id, is_gt)
    if fast is None:  # something is off: the checking loop names the first bad entry
        fast = _checked_fields(anns, t_of_id, is_gt, path)
    frame_of, tids, kps, heads, scores, has_scores, int_ann = fast
    idx = list(range(n))
    kp_all = _rows(kps, path, "keypoints", idx, 3 * NUM_RAW).reshape(n, NUM_RAW, 3) if n else np.zeros((0, NUM_RAW, 3))
    kp15 = np.ascontiguousarray(kp_all[:, KEEP])
    head_size = np.full(n, np.nan)
    if is_gt and n:
        hb = _rows(heads, path, "bbox_head", idx, 4)
        x1, y1 = hb[:, 0], hb[:, 1]
        dx, dy = (x1 + hb[:, 2]) - x1, (y1 + hb[:, 3]) - y1  # as the kit: corners, then difference
        head_size = 0.6 * np.sqrt(dx * dx + dy * dy)
    if not is_gt and n:
        sc = np.full((n, NUM_RAW), MISSING_SCORE)
        if has_scores.any():
            sel = np.nonzero(has_scores)[0]
            sc[sel] = _rows(scores, path, "scores", sel.tolist(), NUM_RAW)
        if not has_scores.all():
            log.warning("%s: annotations[%d].scores missing; -9999 is used, as the official kit does",
                        path, int(np.argmin(has_scores)))  # fmt: skip
        kp15[:, :, 2] = sc[:, KEEP]
        if int_ann.any():
            # the kit's per-frame keypoint array is integer-typed when every value is an integer
            float_frames = np.zeros(len(images), bool)
            float_frames[frame_of[~int_ann]] = True
            trunc = ~float_frames[frame_of]
            if trunc.any():
                kp15[trunc, :, 2] = np.trunc(kp15[trunc, :, 2])
    order = np.argsort(frame_of, kind="stable")
    if n and (np.diff(frame_of) < 0).any():
        frame_of, kp15, head_size = frame_of[order], kp15[order], head_size[order]
        tids_arr = tids[order]
    else:
        order = np.arange(n)
        tids_arr = tids
    starts = np.searchsorted(frame_of, np.arange(len(images) + 1)).astype(np.int64)
    return Pt21Sequence(
        name=os.path.basename(path), path=path, image_ids=image_ids, file_names=file_names,
        labeled=labeled, ring_xy=ring_xy, ring_start=ring_start, ring_image=ring_image, has_ignore=has_ignore, starts=starts, kp=kp15,
        track_ids=tids_arr, ann_index=order, head_size=head_size,
    )  # fmt: skip


def _fast_fields(anns: list, t_of_id: dict, is_gt: bool):
    """The per-annotation fields by comprehension, or None when anything needs a closer look."""
    try:
        frame_of = np.array([t_of_id[a["image_id"]] for a in anns], np.int64)
        tids = np.array([a["track_id"] for a in anns])
        kps = [a["keypoints"] for a in anns]
        heads = [a["bbox_head"] for a in anns] if is_gt else []
    except (KeyError, TypeError):
        return None
    if len(anns) and (tids.dtype.kind not in "iu" or tids.ndim != 1 or tids.min() < 0):
        return None
    tids = tids.astype(np.int64)
    has_scores = np.zeros(len(anns), bool)
    int_ann = np.zeros(len(anns), bool)
    scores: list = []
    if not is_gt:
        sc = [a.get("scores") for a in anns]
        has_scores = np.array([v is not None for v in sc], bool).reshape(-1)
        scores = [v for v in sc if v is not None]
        if not all(isinstance(kp, list) for kp in kps):
            return None
        int_ann = np.array([not any(type(v) is float for v in kp) for kp in kps], bool).reshape(-1)
    return frame_of, tids, kps, heads, scores, has_scores, int_ann


def _checked_fields(anns: list, t_of_id: dict, is_gt: bool, path: str):
    """As :func:`_fast_fields`, entry by entry, raising a FormatError that names the first bad one."""
    n = len(anns)
    frame_of = np.empty(n, np.int64)
    tids, kps, scores, heads = [], [], [], []
    int_ann = np.zeros(n, bool)  # every keypoint value a JSON integer
    has_scores = np.zeros(n, bool)
    for ai, ann in enumerate(anns):
        where = f"{path}: annotations[{ai}]"
        if not isinstance(ann, dict):
            raise FormatError(f"{where}: expected an object")
        for key in ("image_id", "track_id", "keypoints"):
            if key not in ann:
                raise FormatError(f"{where}.{key} missing")
        t = t_of_id.get(ann["image_id"]) if isinstance(ann["image_id"], (int, str)) else None
        if t is None:
            raise FormatError(f"{where}.image_id {ann['image_id']!r} is not among the file's images")
        frame_of[ai] = t
        tid = ann["track_id"]
        if not _is_int(tid):
            raise FormatError(f"{where}.track_id: must be an integer, got {tid!r}")
        if tid < 0:
            raise FormatError(f"{where}.track_id: must not be negative, got {tid}")
        tids.append(tid)
        kp = ann["keypoints"]
        kps.append(kp)
        if is_gt:
            if "bbox_head" not in ann:
                raise FormatError(f"{where}.bbox_head missing (needed for the head-size normalisation)")
            heads.append(ann["bbox_head"])
        else:
            if isinstance(kp, list) and not any(type(v) is float for v in kp):
                int_ann[ai] = True
            if "scores" in ann:
                scores.append(ann["scores"])
                has_scores[ai] = True
    return frame_of, np.asarray(tids, np.int64), kps, heads, scores, has_scores, int_ann


def list_sequences(gt_dir: str) -> list[str]:
    """The ground-truth files, sorted by name (the order the kit combines sequences in)."""
    if not os.path.isdir(gt_dir):
        raise InputError(f"{gt_dir}: ground-truth folder not found")
    names = sorted(f for f in os.listdir(gt_dir) if f.endswith(".json"))
    if not names:
        raise InputError(f"{gt_dir}: no .json ground-truth files")
    return [os.path.join(gt_dir, f) for f in names]


def prediction_path(gt_path: str, pred_dir: str) -> str:
    path = os.path.join(pred_dir, os.path.basename(gt_path))
    if not os.path.isfile(path):
        raise InputError(f"{path}: prediction file missing (one per ground-truth file, same name)")
    return path


def check_images(gt: Pt21Sequence, pr: Pt21Sequence) -> None:
    """The kit's frame checks: as many images as the ground truth, same ids at labeled frames."""
    if len(pr.image_ids) < len(gt.image_ids):
        raise FormatError(
            f"{pr.path}: {len(pr.image_ids)} images but the ground truth {gt.path} has {len(gt.image_ids)} "
            "(frames are matched by position)"
        )
    if len(pr.image_ids) > len(gt.image_ids):
        log.warning("%s: %d images more than the ground truth; they are not evaluated (as in the official kit)",
                    pr.path, len(pr.image_ids) - len(gt.image_ids))  # fmt: skip
    for t in np.nonzero(gt.labeled)[0].tolist():
        if pr.image_ids[t] != gt.image_ids[t]:
            raise FormatError(
                f"{pr.path}: images[{t}].id is {pr.image_ids[t]!r} but the ground truth's labeled frame {t} "
                f"has id {gt.image_ids[t]!r} (write the ground truth's image list)"
            )
