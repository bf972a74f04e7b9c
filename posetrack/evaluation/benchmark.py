"""Run the pipeline over every sequence of a PoseTrack-layout dataset, then evaluate.

Layouts (user-supplied, as PoseTrack 2018 and PoseTrack21 ship them)::

    ROOT/images/<split>/<seq>/000000.jpg ...
    ROOT/annotations/<split>/<seq>.json        (PoseTrack 2018: mAP and MOTA, poseval)
    ROOT/posetrack_data/<split>/<seq>.json     (PoseTrack21: keypoint HOTA and mAP, its kit)

One prediction file per sequence is written to the output folder in the evaluation's format, with
exactly the ground truth's frames in the ground truth's order (the official toolkit matches frames
by position) and each image's id and file name copied from the ground truth. Joints scoring below
``kpt_threshold`` are written as ``(0, 0, 0)``, i.e. not predicted: the toolkit counts every written
joint, so without this every low-confidence guess is a MOT false positive. Files are written
atomically; a rerun skips sequences whose file is complete, so an interrupted benchmark resumes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from posetrack.atomic import remove_stale_parts, write_errors
from posetrack.errors import FormatError, InputError
from posetrack.formats import posetrack2018
from posetrack.formats.common import basename, is_person, score, xywh_to_xyxy
from posetrack.jsonio import read_json
from posetrack.keypoints import COCO17, coco_to_posetrack, get_layout
from posetrack.types import Detections, Frame, FrameResult, Poses

log = logging.getLogger("posetrack")

DEFAULT_KPT_THRESHOLD = 0.4
# dataset -> (annotation folder under ROOT, prediction file format)
DATASETS = {"posetrack": ("annotations", "posetrack"), "posetrack21": ("posetrack_data", "posetrack21")}
GT_BOX_EXTEND = 0.15  # keypoint boxes enlarged by 15% where an annotation has no bbox


@dataclass
class DatasetSequence:
    name: str
    annotation: Path
    image_dir: Path
    images: list[dict]  # the annotation file's images (id, file_name), in its order
    data: dict  # the parsed annotation file


def find_sequences(root: str | Path, split: str, dataset: str = "posetrack") -> list[DatasetSequence]:
    """Every sequence of ``split`` that has an annotation file, sorted by name."""
    root = Path(root)
    folder = DATASETS[dataset][0]
    ann_dir = root / folder / split
    if not ann_dir.is_dir():
        raise InputError(f"{ann_dir}: annotation folder not found (expected ROOT/{folder}/{split}/<seq>.json)")
    files = sorted(ann_dir.glob("*.json"))
    if not files:
        raise InputError(f"{ann_dir}: no .json annotation files")
    return [load_sequence(path, root / "images" / split) for path in files]


def load_sequence(annotation: Path, image_root: Path) -> DatasetSequence:
    """One sequence from its annotation file; its frames are in ``image_root/<name>/``."""
    data = read_json(annotation, "annotation file")
    if not posetrack2018.is_posetrack2018(data):
        raise FormatError(f"{annotation}: field 'images' missing (the benchmark needs PoseTrack 2018 annotations)")
    posetrack2018.index_images(data, str(annotation))  # the structure every reader checks
    return DatasetSequence(annotation.stem, annotation, Path(image_root) / annotation.stem, data["images"], data)


# ----------------------------------------------------------------------------------------------
# boxes from the annotations or from public detection files


def gt_boxes(seq: DatasetSequence) -> dict[str, Detections]:
    """Ground-truth person boxes per image file name: ``bbox`` where given, else the keypoints' box
    enlarged by 15% (the PoseTrack practice for boxes from keypoints)."""
    by_id = {img.get("id"): basename(img.get("file_name", "")) for img in seq.images}
    boxes: dict[str, list] = {}
    for ann in seq.data.get("annotations", []):
        name = by_id.get(ann.get("image_id"))
        if name is None:
            continue
        box = None
        bb = ann.get("bbox")
        if isinstance(bb, list) and len(bb) == 4 and bb[2] > 0 and bb[3] > 0:
            box = [bb[0], bb[1], bb[0] + bb[2], bb[1] + bb[3]]
        else:
            kp = np.asarray(ann.get("keypoints", []), np.float64).reshape(-1, 3)
            ok = (kp != 0).any(axis=1)
            if ok.sum() >= 2:
                (x1, y1), (x2, y2) = kp[ok, :2].min(0), kp[ok, :2].max(0)
                dx, dy = (x2 - x1) * GT_BOX_EXTEND / 2, (y2 - y1) * GT_BOX_EXTEND / 2
                box = [x1 - dx, y1 - dy, x2 + dx, y2 + dy]
        if box is not None:
            boxes.setdefault(name, []).append(box)
    return {k: Detections(np.array(v), np.ones(len(v))) for k, v in boxes.items()}


def file_boxes(seq: DatasetSequence, det_dir: Path, score_threshold: float = 0.0) -> dict[str, Detections]:
    """Public detections for one sequence: ``DIR/<seq>.json``, a list of COCO-style results
    ``{image_id | file_name, bbox: [x, y, w, h], score[, category_id]}`` (or ``{"annotations": [...]}``).
    Entries are matched to frames by image id, else by file name."""
    path = Path(det_dir) / f"{seq.name}.json"
    data = read_json(path, "detections file (one per sequence)")
    items = data.get("annotations") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise FormatError(f"{path}: expected a list of detections")
    by_id = {img.get("id"): basename(img.get("file_name", "")) for img in seq.images}
    boxes: dict[str, list] = {}
    for i, d in enumerate(items):
        where = f"{path}: [{i}]"
        if not isinstance(d, dict):
            raise FormatError(f"{where}: expected an object with 'bbox'")
        box = xywh_to_xyxy(d.get("bbox"), where)
        if not is_person(d):
            continue
        name = by_id.get(d.get("image_id"))
        if name is None:
            fn = d.get("file_name", d.get("image_name"))
            if fn is None:
                raise FormatError(f"{where}: neither a known image_id nor a file_name")
            name = basename(fn)
        conf = score(d, where)
        if conf < score_threshold:
            continue
        boxes.setdefault(name, []).append((*box, conf))
    return {k: Detections(np.array(v)[:, :4], np.array(v)[:, 4]) for k, v in boxes.items()}


class SequenceBoxes:
    """A Detector that returns given boxes (ground truth or a public detections file) per frame
    file name."""

    def __init__(self) -> None:
        self.boxes: dict[str, Detections] = {}

    def start(self, boxes: dict[str, Detections]) -> None:
        self.boxes = boxes

    def detect(self, frames: Sequence[Frame]) -> list[Detections]:
        return [self.boxes.get(frame.name, Detections.empty()) for frame in frames]


# ----------------------------------------------------------------------------------------------
# predictions


def threshold_poses(poses: Poses, threshold: float) -> Poses:
    """Joints below ``threshold`` become (0, 0, 0): absent for the evaluation. COCO-17 poses are
    first converted to PoseTrack-17 (head joints estimated), the layout the evaluation reads."""
    if poses.layout.name == COCO17.name:
        poses = Poses(coco_to_posetrack(poses.keypoints), poses.boxes, poses.scores,
                      get_layout("posetrack17-from-coco"), poses.track_ids)  # fmt: skip
    kp = poses.keypoints.copy()
    kp[kp[..., 2] < threshold] = 0.0
    return Poses(kp, poses.boxes, poses.scores, poses.layout, poses.track_ids)


def prediction_complete(path: Path, seq: DatasetSequence) -> bool:
    """A finished prediction file: valid JSON with the ground truth's frames."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return False
    images = data.get("images") if isinstance(data, dict) else None
    return (
        isinstance(images, list) and len(images) == len(seq.images)
        and [i.get("id") for i in images] == [i.get("id") for i in seq.images]
    )  # fmt: skip


def predict_sequence(pipeline, seq: DatasetSequence, out_path: Path, kpt_threshold: float,
                     fmt: str = "posetrack", on_frame: Callable[[], None] | None = None) -> int:
    """Run ``pipeline`` over the sequence's frames and write its prediction file; returns frames run."""
    from posetrack.outputs import PoseTrack21JsonWriter, PoseTrackJsonWriter

    if not seq.image_dir.is_dir():
        raise InputError(f"{seq.image_dir}: image folder of sequence {seq.name} not found")
    results: dict[str, FrameResult] = {}
    layout = None
    with pipeline.open(seq.image_dir) as source:
        for result in pipeline.run(source):
            result.poses = threshold_poses(result.poses, kpt_threshold)
            layout = result.poses.layout
            results[basename(result.name)] = result
            if on_frame is not None:
                on_frame()
    if layout is None:
        raise InputError(f"{seq.image_dir}: no frames could be read")
    missing = [img for img in seq.images if basename(img.get("file_name", "")) not in results]
    if missing:
        log.warning("%s: %d annotated frames have no image (first: %s); written without people",
                    seq.name, len(missing), missing[0].get("file_name"))  # fmt: skip
    with write_errors(out_path):
        writer = (PoseTrack21JsonWriter if fmt == "posetrack21" else PoseTrackJsonWriter)(out_path, seq.name, layout)
    try:
        with write_errors(out_path):
            for index, img in enumerate(seq.images):
                res = results.get(basename(img.get("file_name", "")))
                if res is None:
                    res = FrameResult(index, 0.0, 0, 0, Poses.empty(layout), basename(img.get("file_name", "")))
                writer.add(res, image_id=img.get("id"), file_name=img.get("file_name"))
            writer.close()
    except BaseException:
        writer.abort()
        raise
    return len(results)


@dataclass(frozen=True)
class PredictSettings:
    """How every sequence is predicted (picklable: it travels to cluster workers)."""

    out_dir: Path
    boxes: str = "model"  # model, gt or file
    detections_dir: Path | None = None
    kpt_threshold: float = DEFAULT_KPT_THRESHOLD
    fmt: str = "posetrack"  # prediction file format: posetrack or posetrack21


def predict_one(pipeline, box_source: SequenceBoxes | None, seq: DatasetSequence, settings: PredictSettings,
                on_frame: Callable[[], None] | None = None) -> int:
    """Load the sequence's boxes into ``box_source`` (gt/file modes), predict, write; frames run."""
    if box_source is not None:
        box_source.start(gt_boxes(seq) if settings.boxes == "gt" else file_boxes(seq, Path(settings.detections_dir)))
    return predict_sequence(pipeline, seq, Path(settings.out_dir) / f"{seq.name}.json", settings.kpt_threshold,
                            settings.fmt, on_frame)


@dataclass
class BenchmarkSummary:
    out_dir: Path
    predicted: list[str]  # sequences run now
    resumed: list[str]  # sequences whose complete prediction file was reused
    result: object  # PoseTrackResult (posetrack) or Pt21Result (posetrack21)


def run_benchmark(
    root: str | Path,
    split: str,
    make_pipeline: Callable[[object | None], object],
    out_dir: str | Path,
    *,
    boxes: str = "model",
    detections_dir: str | Path | None = None,
    kpt_threshold: float = DEFAULT_KPT_THRESHOLD,
    progress: bool = True,
    dataset: str = "posetrack",
    per_sequence: bool = False,
    distribute: Callable[[list[DatasetSequence], PredictSettings], None] | None = None,
) -> BenchmarkSummary:
    """Predict every sequence (resuming), then evaluate the folder against the annotations.

    ``make_pipeline(detector)`` builds the pipeline; ``detector`` is None (the config's own) or a
    :class:`SequenceBoxes` for ``boxes="gt"`` (ground-truth boxes) and ``boxes="file"`` (public
    detections from ``detections_dir``). ``dataset`` picks the layout and the evaluation
    (``posetrack``: poseval's mAP/MOTA; ``posetrack21``: the PoseTrack21 kit's HOTA and mAP).
    ``distribute(todo, settings)``, when given, predicts the sequences instead (on a cluster:
    :func:`posetrack.distributed.predict_sequences`); evaluation starts once it returns, i.e. once
    every prediction exists.
    """
    if dataset == "posetrack21":
        from posetrack.evaluation.posetrack21 import evaluate_dirs
    else:
        from posetrack.evaluation.posetrack_eval import evaluate_dirs

    if boxes not in ("model", "gt", "file"):
        raise ValueError(f"boxes must be model, gt or file, not {boxes!r}")
    if boxes == "file" and (detections_dir is None or not Path(detections_dir).is_dir()):
        raise InputError(f"{detections_dir}: detections folder not found")
    seqs = find_sequences(root, split, dataset)
    out_dir = Path(out_dir)
    with write_errors(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(out_dir)  # temps of a benchmark that was killed
    todo, resumed = [], []
    for seq in seqs:
        (resumed if prediction_complete(out_dir / f"{seq.name}.json", seq) else todo).append(seq)
    if resumed:
        log.info("resuming: %d of %d sequences already predicted in %s", len(resumed), len(seqs), out_dir)
    settings = PredictSettings(out_dir, boxes, Path(detections_dir) if detections_dir else None, kpt_threshold,
                               DATASETS[dataset][1])
    if todo and distribute is not None:
        distribute(todo, settings)
    elif todo:
        box_source = SequenceBoxes() if boxes != "model" else None
        pipeline = make_pipeline(box_source)
        if box_source is not None and not getattr(pipeline.pose, "needs_boxes", True):
            log.warning("the pose model is bottom-up: it does not use the %s boxes", boxes)
        bar = tqdm(todo, desc="sequences", unit="seq", disable=not progress)
        for seq in bar:
            bar.set_postfix_str(seq.name)
            predict_one(pipeline, box_source, seq, settings)
    result = evaluate_dirs(str(Path(root) / DATASETS[dataset][0] / split), str(out_dir), per_sequence=per_sequence)
    return BenchmarkSummary(out_dir, [s.name for s in todo], [s.name for s in resumed], result)
