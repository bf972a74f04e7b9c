"""Read PoseTrack ground truth and predictions into per-frame numpy arrays, pair them per sequence.

The file formats (PoseTrack 2018 ``images``/``annotations``, PoseTrack 2017 ``annolist``) are read by
:mod:`posetrack.formats`, one file per sequence as the official toolkit (poseval) reads them; this
module finds the files of a ground-truth folder and its prediction folder and checks each pair as
poseval does. The names the evaluation has always imported from here are re-exported.
See docs/evaluation.md.
"""

from __future__ import annotations

import glob
import os

from posetrack.errors import FormatError, InputError
from posetrack.formats import posetrack2017, posetrack2018, read_sequence
from posetrack.formats.sequences import (
    EVAL_JOINTS,
    MAX_TRACK_ID,
    MIN_SCORE,
    NUM_JOINTS,
    REPORT_NAMES,
    FrameAnno,
    People,
    PersonBuilder,
    SequenceAnno,
    first,
    log,
    number,
    polygon,
    stack,
    track_id,
)

# The readers' helpers under the names they had here before they moved to posetrack.formats, for
# code written against that layout (new code imports them from posetrack.formats).
_first, _number, _track_id, _polygon, _stack, _PersonBuilder = first, number, track_id, polygon, stack, PersonBuilder
_read_2018, _read_annolist = posetrack2018.read_frames, posetrack2017.read_frames
_keypoint_table, _video_id = posetrack2018._keypoint_table, posetrack2018._video_id


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


__all__ = [
    "EVAL_JOINTS", "MAX_TRACK_ID", "MIN_SCORE", "NUM_JOINTS", "REPORT_NAMES", "FrameAnno", "People",
    "SequenceAnno", "check_pair", "list_sequences", "load_pairs", "read_sequence",
]  # fmt: skip
