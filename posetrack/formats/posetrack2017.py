"""PoseTrack 2017 ``annolist`` files: frames with ``annorect`` people, ``annopoints`` joints, ids 0..14.

Read into the evaluation layout (:mod:`posetrack.formats.sequences`) as poseval reads them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from posetrack.errors import FormatError
from posetrack.formats.sequences import (
    MIN_SCORE,
    NUM_JOINTS,
    FrameAnno,
    PersonBuilder,
    first,
    log,
    number,
    polygon,
    stack,
    track_id,
)


def is_annolist(data: Any) -> bool:
    return isinstance(data, dict) and "annolist" in data


def _rect_has_points(rect: dict) -> bool:
    ap = rect.get("annopoints")
    return (
        isinstance(ap, list) and len(ap) > 0 and isinstance(ap[0], dict) and len(ap[0]) > 0
        and "point" in ap[0]
    )  # fmt: skip


def read_frames(data: dict, path: str, is_gt: bool) -> list[FrameAnno]:
    """One 2017 ``annolist`` sequence file in the evaluation layout."""
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
                xs = [first(p.get("x"), f"{rw}.point.x") for p in pts]
                ys = [first(p.get("y"), f"{rw}.point.y") for p in pts]
                ignore.append(polygon(xs, ys, rw))
        persons: list[PersonBuilder] = []
        for ri, rect in enumerate(fr["annorect"]):
            rw = f"{where}.annorect[{ri}]"
            if not isinstance(rect, dict):
                raise FormatError(f"{rw}: expected an object")
            if not _rect_has_points(rect):
                continue  # poseval drops people without annopoints (the frame stays labeled)
            if "track_id" not in rect:
                raise FormatError(f"{rw}.track_id missing")
            tid = track_id(rect["track_id"], f"{rw}.track_id")
            head = (math.nan,) * 4
            if all(c in rect for c in ("x1", "y1", "x2", "y2")):
                head = tuple(number(first(rect[c], f"{rw}.{c}"), f"{rw}.{c}") for c in ("x1", "y1", "x2", "y2"))
            p = PersonBuilder(tid, head)
            points = rect["annopoints"][0]["point"]
            if not isinstance(points, list):
                raise FormatError(f"{rw}.annopoints[0].point: expected a list")
            for pi, pt in enumerate(points):
                pw = f"{rw}.annopoints[0].point[{pi}]"
                if not isinstance(pt, dict) or "x" not in pt or "y" not in pt:
                    raise FormatError(f"{pw}: x and y required")
                x = number(first(pt["x"], f"{pw}.x"), f"{pw}.x")
                y = number(first(pt["y"], f"{pw}.y"), f"{pw}.y")
                jid = pt.get("id")
                jid = None if jid is None else first(jid, f"{pw}.id")
                if isinstance(jid, (int, float)) and not isinstance(jid, bool) and float(jid).is_integer():
                    jid = int(jid)
                if isinstance(jid, int) and 0 <= jid < NUM_JOINTS and not p.present[jid]:
                    p.xy[jid] = (x, y)
                    p.present[jid] = True
                    if "score" in pt:
                        p.scores[jid] = number(first(pt["score"], f"{pw}.score"), f"{pw}.score")
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
        frames.append(FrameAnno(name, stack(persons), len(fr["annorect"]) > 0, ignore, has_ignore))
    return frames
