"""Result files, streamed while the video runs and finalised atomically.

* PoseTrack 2018 JSON (``images``, ``annotations``, ``categories``), the layout the official
  PoseTrack evaluation toolkit reads;
* COCO keypoint results JSON (a list of detections);
* a flat table as CSV and as JSON Lines: one row per person per frame with frame index, timestamp,
  track id, box, person score and every keypoint's x, y, score.

Each writer appends to a temp file as frames arrive (nothing per person is held until the end) and
renames it onto the target in :meth:`close`; :meth:`abort` leaves nothing behind.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import IO, Iterable, Protocol

import numpy as np

from posetrack.atomic import AtomicFile
from posetrack.errors import OutputError
from posetrack.keypoints import KeypointLayout
from posetrack.types import FrameResult

FORMAT_SUFFIX = {
    "posetrack": ".posetrack.json",
    "coco": ".coco.json",
    "csv": ".csv",
    "jsonl": ".jsonl",
}


class ResultWriter(Protocol):
    path: Path

    def add(self, result: FrameResult) -> None: ...

    def close(self) -> Path: ...

    def abort(self) -> None: ...


def _round(values: np.ndarray, digits: int = 2) -> list[float]:
    return [round(float(v), digits) for v in np.asarray(values).reshape(-1)]


def _xywh(box: np.ndarray) -> list[float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return _round(np.array([x1, y1, x2 - x1, y2 - y1]))


def categories(layout: KeypointLayout) -> list[dict]:
    cat = {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(layout.joints),
        "skeleton": [[a + 1, b + 1] for a, b in layout.skeleton],  # 1-based, as in COCO/PoseTrack
    }
    if layout.estimated:
        cat["estimated_keypoints"] = list(layout.estimated)
    return [cat]


class PoseTrackJsonWriter:
    """One PoseTrack 2018 JSON file for one video/sequence.

    Image ids default to ``vid_id * 10000 + frame_index`` (PoseTrack's own ids embed the video id
    the same way); pass ``image_id``/``file_name`` to :meth:`add` to match a dataset's ids.
    """

    def __init__(self, path: str | Path, video_name: str, layout: KeypointLayout, vid_id: int = 1) -> None:
        self.path = Path(path)
        self.video_name = video_name
        self.layout = layout
        self.vid_id = vid_id
        self._annotations = AtomicFile(self.path, suffix=".annotations.part")
        self._images: list[tuple[int, int, str]] = []  # (image id, frame index, file name): tiny
        self._first = True
        self._next_ann_id = 0

    def add(self, result: FrameResult, image_id: int | None = None, file_name: str | None = None) -> None:
        if image_id is None:
            image_id = self.vid_id * 10000 + result.frame_index
        if file_name is None:
            file_name = f"images/{self.video_name}/{result.name or f'{result.frame_index:06d}.jpg'}"
        self._images.append((image_id, result.frame_index, file_name))
        poses = result.poses
        for i in range(len(poses)):
            kp = poses.keypoints[i]
            ann = {
                "id": self._next_ann_id,
                "image_id": image_id,
                "category_id": 1,
                "track_id": int(poses.track_ids[i]),
                "bbox": _xywh(poses.boxes[i]),
                "keypoints": _round(kp),
                "scores": _round(kp[:, 2], 4),
                "score": round(float(poses.scores[i]), 4),
            }
            self._next_ann_id += 1
            self._annotations.file.write(("" if self._first else ",\n") + json.dumps(ann))
            self._first = False

    def close(self) -> Path:
        nframes = len(self._images)
        images = [
            {"file_name": name, "id": img_id, "frame_id": img_id, "vid_id": self.vid_id,
             "frame_index": index, "nframes": nframes}
            for img_id, index, name in self._images
        ]  # fmt: skip
        out = AtomicFile(self.path)
        try:
            self._annotations.file.flush()
            out.file.write('{"images": ' + json.dumps(images) + ',\n"annotations": [\n')
            with open(self._annotations.tmp_path, encoding="utf-8") as ann:
                shutil.copyfileobj(ann, out.file)
            out.file.write('\n],\n"categories": ' + json.dumps(categories(self.layout)) + "}\n")
            path = out.commit()
        except BaseException:
            out.abort()
            raise
        finally:
            self._annotations.abort()
        return path

    def abort(self) -> None:
        self._annotations.abort()


class CocoJsonWriter:
    """COCO keypoint results: a JSON list of {image_id, category_id, keypoints, score, ...}."""

    def __init__(self, path: str | Path, image_id_offset: int = 0) -> None:
        self.path = Path(path)
        self.image_id_offset = image_id_offset
        self._file = AtomicFile(self.path)
        self._file.file.write("[")
        self._first = True

    def add(self, result: FrameResult, image_id: int | None = None) -> None:
        if image_id is None:
            image_id = self.image_id_offset + result.frame_index
        poses = result.poses
        for i in range(len(poses)):
            item = {
                "image_id": image_id,
                "category_id": 1,
                "keypoints": _round(poses.keypoints[i]),
                "score": round(float(poses.scores[i]), 4),
                "bbox": _xywh(poses.boxes[i]),
                "track_id": int(poses.track_ids[i]),
            }
            self._file.file.write(("" if self._first else ",\n") + json.dumps(item))
            self._first = False

    def close(self) -> Path:
        self._file.file.write("]\n")
        return self._file.commit()

    def abort(self) -> None:
        self._file.abort()


def table_columns(layout: KeypointLayout) -> list[str]:
    cols = ["frame", "timestamp", "track_id", "x1", "y1", "x2", "y2", "score"]
    for joint in layout.joints:
        cols += [f"{joint}_x", f"{joint}_y", f"{joint}_score"]
    return cols


def table_rows(result: FrameResult) -> Iterable[list]:
    """One flat row per person: the CSV and JSON Lines content."""
    poses = result.poses
    if not len(poses):
        return []
    boxes = np.round(poses.boxes.astype(np.float64), 2)
    kps = np.round(poses.keypoints.astype(np.float64), 3).reshape(len(poses), -1)
    scores = np.round(poses.scores.astype(np.float64), 4)
    ts = round(result.timestamp, 6)
    return [
        [result.frame_index, ts, int(tid), *box.tolist(), float(score), *kp.tolist()]
        for tid, box, score, kp in zip(poses.track_ids, boxes, scores, kps)
    ]


class CsvWriter:
    def __init__(self, path: str | Path, layout: KeypointLayout) -> None:
        self.path = Path(path)
        self._file = AtomicFile(self.path)
        self._csv = csv.writer(self._file.file)
        self._csv.writerow(table_columns(layout))

    def add(self, result: FrameResult) -> None:
        self._csv.writerows(table_rows(result))

    def close(self) -> Path:
        return self._file.commit()

    def abort(self) -> None:
        self._file.abort()


class JsonLinesWriter:
    def __init__(self, path: str | Path, layout: KeypointLayout) -> None:
        self.path = Path(path)
        self._columns = table_columns(layout)
        self._file = AtomicFile(self.path)

    def add(self, result: FrameResult) -> None:
        for row in table_rows(result):
            self._file.file.write(json.dumps(dict(zip(self._columns, row))) + "\n")
        self._file.file.flush()  # per frame, so a program following the file sees whole frames

    def close(self) -> Path:
        return self._file.commit()

    def abort(self) -> None:
        self._file.abort()


class JsonLinesStream:
    """The JSON Lines rows written to a stream (stdout for ``-o -``), flushed after every frame."""

    def __init__(self, stream: IO[str], layout: KeypointLayout, name: str = "<stdout>") -> None:
        self.path = Path(name)
        self._columns = table_columns(layout)
        self._stream = stream

    def add(self, result: FrameResult) -> None:
        rows = table_rows(result)
        if rows:
            try:
                self._stream.write("".join(json.dumps(dict(zip(self._columns, r))) + "\n" for r in rows))
                self._stream.flush()
            except BrokenPipeError:  # the reading program has quit (e.g. `| head`)
                self._detach()
                raise OutputError(f"{self.path}: closed by the program reading it") from None

    def _detach(self) -> None:
        """Point the stream's file descriptor at /dev/null so the interpreter's final flush is quiet."""
        import os

        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def close(self) -> Path:
        self._stream.flush()
        return self.path

    def abort(self) -> None:  # what was written has been read already; nothing to remove
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass


def output_paths(out_dir: Path, stem: str, formats: Iterable[str], render: bool,
                 report: bool = False) -> dict[str, Path]:
    paths = {fmt: out_dir / f"{stem}{FORMAT_SUFFIX[fmt]}" for fmt in formats}
    if render:
        paths["video"] = out_dir / f"{stem}.annotated.mp4"
    if report:
        paths["report"] = out_dir / f"{stem}.report.html"
    return paths


def open_writers(paths: dict[str, Path], video_name: str, layout: KeypointLayout) -> list[ResultWriter]:
    """The file writers for ``paths`` (as returned by :func:`output_paths`, minus the video)."""
    makers = {
        "posetrack": lambda p: PoseTrackJsonWriter(p, video_name, layout),
        "coco": lambda p: CocoJsonWriter(p),
        "csv": lambda p: CsvWriter(p, layout),
        "jsonl": lambda p: JsonLinesWriter(p, layout),
    }
    writers: list[ResultWriter] = []
    try:
        for fmt, path in paths.items():
            if fmt in makers:
                writers.append(makers[fmt](path))
    except BaseException:
        for w in writers:
            w.abort()
        raise
    return writers
