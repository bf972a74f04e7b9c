"""Read PoseTrack ground truth and predictions into per-frame numpy arrays.

Two file formats are accepted, one file per sequence, as the official toolkit (poseval) reads them:

* PoseTrack 2018: ``images`` / ``annotations`` / ``categories`` (COCO-like). It is brought into the
  evaluation's 15-joint layout the way poseval's 2018-to-2017 conversion does it: frames in the order
  of ``images``, people in the order of ``annotations``, a joint absent only when it is exactly
  ``(0, 0, 0)``, the ears dropped, the head box ``bbox_head = [x, y, w, h]`` turned into corners.
* PoseTrack 2017 ``annolist``: frames with ``annorect`` people, ``annopoints`` joints and ids 0..14.

Everything poseval refuses is a :class:`~posetrack.errors.FormatError` naming file and field;
where poseval silently accepts something odd a warning goes to the ``posetrack`` logger.
See docs/evaluation.md.
"""

from __future__ import annotations

import glob
import logging
import math
import os
from dataclasses import dataclass, field

import numpy as np

from posetrack.errors import FormatError, InputError
from posetrack.jsonio import read_json

log = logging.getLogger("posetrack")

NUM_JOINTS = 15
# The joint order of poseval's evaluation (its "LSP" order); index 12 is PoseTrack's head_bottom,
# which poseval calls "neck".
EVAL_JOINTS: tuple[str, ...] = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    "head_bottom", "nose", "head_top",
)  # fmt: skip
# Names as poseval reports them (head_bottom is "neck" in its output files).
REPORT_NAMES: tuple[str, ...] = EVAL_JOINTS[:12] + ("neck", "nose", "head_top")
MAX_TRACK_ID = 10000  # poseval asserts track ids below this (it offsets ids per sequence)
MIN_SCORE = -9999.0  # poseval's score for a predicted joint without a score


@dataclass
class People:
    """The people of one frame in the evaluation layout (15 joints, poseval's order)."""

    xy: np.ndarray  # (P, 15, 2) float64
    present: np.ndarray  # (P, 15) bool: the joint exists (annotated / predicted)
    scores: np.ndarray  # (P, 15) float64 joint scores (MIN_SCORE where a prediction has none)
    track_ids: np.ndarray  # (P,) int64
    head: np.ndarray  # (P, 4) float64 head box x1, y1, x2, y2 (NaN where absent)
    # Points with ids outside 0..14 (or repeated ids), per person: they cannot be matched but they
    # keep a person alive when ignore regions remove its other points, as in poseval.
    extra: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.track_ids)

    @classmethod
    def empty(cls) -> People:
        return cls(
            np.zeros((0, NUM_JOINTS, 2)),
            np.zeros((0, NUM_JOINTS), bool),
            np.zeros((0, NUM_JOINTS)),
            np.zeros((0,), np.int64),
            np.zeros((0, 4)),
            [],
        )

    def select(self, keep: np.ndarray) -> People:
        keep = np.asarray(keep, bool)
        return People(
            self.xy[keep],
            self.present[keep],
            self.scores[keep],
            self.track_ids[keep],
            self.head[keep],
            [e for e, k in zip(self.extra, keep) if k],
        )


@dataclass
class FrameAnno:
    """One frame of a sequence file."""

    name: str  # image file name as written in the file
    people: People
    labeled: bool  # the file lists at least one person for this frame (poseval keeps only those)
    ignore: list[np.ndarray]  # ignore-region polygons, each (V, 2)
    has_ignore: bool  # the frame carries a non-empty ignore-region list


@dataclass
class SequenceAnno:
    name: str  # file stem
    path: str
    frames: list[FrameAnno]


# ----------------------------------------------------------------------------------------------
# helpers


def _first(value, where: str):
    """poseval stores most values as one-element lists; accept a bare value too."""
    if isinstance(value, list):
        if not value:
            raise FormatError(f"{where}: empty list")
        return value[0]
    return value


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormatError(f"{where}: expected a number, got {type(value).__name__}")
    return float(value)


def _track_id(value, where: str) -> int:
    v = _first(value, where)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer():
        raise FormatError(f"{where}: track id must be an integer, got {v!r}")
    v = int(v)
    if v >= MAX_TRACK_ID:
        raise FormatError(f"{where}: track id {v} >= {MAX_TRACK_ID} (the official toolkit rejects it)")
    return v


def _polygon(xs, ys, where: str) -> np.ndarray:
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
        raise FormatError(f"{where}: x and y lists of different length")
    try:
        arr = np.array([xs, ys])
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.ndim != 2 or arr.dtype.kind not in "iuf":
        for v in xs + ys:
            _number(v, where)
        raise FormatError(f"{where}: malformed polygon")  # pragma: no cover
    pts = arr.T.astype(np.float64)
    if 0 < len(pts) < 3:
        log.warning("%s: ignore region with %d points is not a polygon; it ignores nothing", where, len(pts))
    return pts


@dataclass
class _PersonBuilder:
    track_id: int
    head: tuple[float, float, float, float]
    xy: np.ndarray = field(default_factory=lambda: np.zeros((NUM_JOINTS, 2)))
    present: np.ndarray = field(default_factory=lambda: np.zeros(NUM_JOINTS, bool))
    scores: np.ndarray = field(default_factory=lambda: np.full(NUM_JOINTS, MIN_SCORE))
    extra: list = field(default_factory=list)


def _stack(persons: list[_PersonBuilder]) -> People:
    if not persons:
        return People.empty()
    return People(
        np.stack([p.xy for p in persons]),
        np.stack([p.present for p in persons]),
        np.stack([p.scores for p in persons]),
        np.array([p.track_id for p in persons], np.int64),
        np.array([p.head for p in persons], np.float64),
        [np.asarray(p.extra, np.float64).reshape(-1, 2) for p in persons],
    )


# ----------------------------------------------------------------------------------------------
# PoseTrack 2018


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
            _number(v, where)
    raise FormatError(f"{path}: annotations: malformed {field_name}")  # pragma: no cover


_NAN4 = [math.nan] * 4


def _read_2018(data: dict, path: str, is_gt: bool) -> list[FrameAnno]:
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
        tid_all = np.array([_track_id(t, f"{path}: annotations[{ai}].track_id") for ai, t in enumerate(tids)])
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
                _polygon(xs, ys, f"{where}.ignore_regions[{r}]") for r, (xs, ys) in enumerate(zip(rx, ry))
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


# ----------------------------------------------------------------------------------------------
# PoseTrack 2017 annolist


def _rect_has_points(rect: dict) -> bool:
    ap = rect.get("annopoints")
    return (
        isinstance(ap, list) and len(ap) > 0 and isinstance(ap[0], dict) and len(ap[0]) > 0
        and "point" in ap[0]
    )  # fmt: skip


def _read_annolist(data: dict, path: str, is_gt: bool) -> list[FrameAnno]:
    annolist = data["annolist"]
    if not isinstance(annolist, list):
        raise FormatError(f"{path}: field 'annolist' is not a list")
    frames: list[FrameAnno] = []
    score_warned = False
    for fi, fr in enumerate(annolist):
        where = f"{path}: annolist[{fi}]"
        if not isinstance(fr, dict) or not isinstance(fr.get("annorect"), list):
            raise FormatError(f"{where}.annorect missing or not a list")
        name = ""
        im = fr.get("image")
        if isinstance(im, list) and im and isinstance(im[0], dict):
            name = str(im[0].get("name", ""))
        ignore: list[np.ndarray] = []
        regions = fr.get("ignore_regions")
        has_ignore = isinstance(regions, list) and len(regions) > 0
        if has_ignore:
            for ri, reg in enumerate(regions):
                rw = f"{where}.ignore_regions[{ri}]"
                pts = reg.get("point", []) if isinstance(reg, dict) else None
                if not isinstance(pts, list):
                    raise FormatError(f"{rw}.point: expected a list")
                xs = [_first(p.get("x"), f"{rw}.point.x") for p in pts]
                ys = [_first(p.get("y"), f"{rw}.point.y") for p in pts]
                ignore.append(_polygon(xs, ys, rw))
        persons: list[_PersonBuilder] = []
        for ri, rect in enumerate(fr["annorect"]):
            rw = f"{where}.annorect[{ri}]"
            if not isinstance(rect, dict):
                raise FormatError(f"{rw}: expected an object")
            if not _rect_has_points(rect):
                continue  # poseval drops people without annopoints (the frame stays labeled)
            if "track_id" not in rect:
                raise FormatError(f"{rw}.track_id missing")
            tid = _track_id(rect["track_id"], f"{rw}.track_id")
            head = (math.nan,) * 4
            if all(c in rect for c in ("x1", "y1", "x2", "y2")):
                head = tuple(_number(_first(rect[c], f"{rw}.{c}"), f"{rw}.{c}") for c in ("x1", "y1", "x2", "y2"))
            p = _PersonBuilder(tid, head)
            points = rect["annopoints"][0]["point"]
            if not isinstance(points, list):
                raise FormatError(f"{rw}.annopoints[0].point: expected a list")
            for pi, pt in enumerate(points):
                pw = f"{rw}.annopoints[0].point[{pi}]"
                if not isinstance(pt, dict) or "x" not in pt or "y" not in pt:
                    raise FormatError(f"{pw}: x and y required")
                x = _number(_first(pt["x"], f"{pw}.x"), f"{pw}.x")
                y = _number(_first(pt["y"], f"{pw}.y"), f"{pw}.y")
                jid = pt.get("id")
                jid = None if jid is None else _first(jid, f"{pw}.id")
                if isinstance(jid, (int, float)) and not isinstance(jid, bool) and float(jid).is_integer():
                    jid = int(jid)
                if isinstance(jid, int) and 0 <= jid < NUM_JOINTS and not p.present[jid]:
                    p.xy[jid] = (x, y)
                    p.present[jid] = True
                    if "score" in pt:
                        p.scores[jid] = _number(_first(pt["score"], f"{pw}.score"), f"{pw}.score")
                    elif not is_gt and not score_warned:
                        log.warning("%s: score missing; using %g as poseval does", pw, MIN_SCORE)
                        score_warned = True
                else:
                    if isinstance(jid, int) and 0 <= jid < NUM_JOINTS:
                        log.warning("%s: joint id %d repeated; the first one is used", pw, jid)
                    p.extra.append((x, y))
            if is_gt and p.present.any() and math.isnan(head[0]):
                raise FormatError(f"{rw}.x1/y1/x2/y2 (head box) missing")
            persons.append(p)
        frames.append(FrameAnno(name, _stack(persons), len(fr["annorect"]) > 0, ignore, has_ignore))
    return frames


# ----------------------------------------------------------------------------------------------
# files and folders


def read_sequence(path: str, is_gt: bool) -> SequenceAnno:
    """Read one sequence file (2018 or annolist format) into per-frame arrays."""
    data = read_json(path, "sequence file")
    if not isinstance(data, dict):
        raise FormatError(f"{path}: expected a JSON object at the top level")
    if "annolist" in data:
        frames = _read_annolist(data, path, is_gt)
    elif "images" in data:
        frames = _read_2018(data, path, is_gt)
    else:
        raise FormatError(f"{path}: neither 'annolist' (PoseTrack 2017) nor 'images' (PoseTrack 2018) found")
    name = os.path.basename(path).split(".")[0]
    return SequenceAnno(name, path, frames)


def list_sequences(gt_dir: str) -> list[str]:
    """The ground-truth files, in the order the official toolkit visits them (``glob``).

    The order matters only for ties between prediction scores of different sequences (the AP
    ranking sorts one concatenated array); using poseval's order keeps even that identical.
    """
    if not os.path.isdir(gt_dir):
        raise InputError(f"{gt_dir}: ground-truth folder not found")
    files = glob.glob(os.path.join(gt_dir, "*.json"))
    if not files:
        raise InputError(f"{gt_dir}: no .json ground-truth files")
    return files


def check_pair(gt: SequenceAnno, pr: SequenceAnno) -> None:
    """The checks poseval makes between a GT file and its prediction file, plus warnings."""
    if len(gt.frames) != len(pr.frames):
        raise FormatError(
            f"{pr.path}: {len(pr.frames)} prediction frames but {len(gt.frames)} ground-truth frames "
            f"in {gt.path} (frames are matched by position)"
        )
    warned_gt = warned_names = False
    for fi, (g, p) in enumerate(zip(gt.frames, pr.frames)):
        ids = p.people.track_ids.tolist()
        if len(ids) != len(set(ids)):
            raise FormatError(f"{pr.path}: frame {fi} ({p.name or 'unnamed'}): duplicate track_id in one frame")
        gids = g.people.track_ids.tolist()
        if len(gids) != len(set(gids)) and not warned_gt:
            log.warning("%s: frame %d: duplicate track_id in the ground truth", gt.path, fi)
            warned_gt = True
        if not warned_names and g.name and p.name and os.path.basename(g.name) != os.path.basename(p.name):
            log.warning(
                "%s: frame %d is %r but the ground truth's frame %d is %r; frames are matched by "
                "position, as in the official toolkit", pr.path, fi, p.name, fi, g.name,
            )
            warned_names = True


def load_pairs(gt_dir: str, pred_dir: str) -> list[tuple[SequenceAnno, SequenceAnno]]:
    """Every GT sequence with its prediction file (same file name in ``pred_dir``)."""
    if not os.path.isdir(pred_dir):
        raise InputError(f"{pred_dir}: prediction folder not found")
    pairs = []
    for gpath in list_sequences(gt_dir):
        ppath = os.path.join(pred_dir, os.path.basename(gpath))
        if not os.path.isfile(ppath):
            raise InputError(f"{ppath}: prediction file missing (one per ground-truth file)")
        gt = read_sequence(gpath, is_gt=True)
        pr = read_sequence(ppath, is_gt=False)
        check_pair(gt, pr)
        pairs.append((gt, pr))
    names = {os.path.basename(gt.path) for gt, _ in pairs}
    extra = sorted(n for n in os.listdir(pred_dir) if n.endswith(".json") and n not in names)
    if extra:  # poseval ignores these silently; we say so
        log.warning("%s: %d prediction file(s) have no ground truth and are ignored: %s",
                    pred_dir, len(extra), ", ".join(extra[:10]) + (" ..." if len(extra) > 10 else ""))
    return pairs
