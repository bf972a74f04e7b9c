"""Result files, streamed while the video runs and finalised atomically.

* PoseTrack 2018 JSON (``images``, ``annotations``, ``categories``), the layout the official
  PoseTrack evaluation toolkit reads;
* COCO keypoint results JSON (a list of detections);
* a flat table as CSV and as JSON Lines: one row per person per frame with frame index, timestamp,
  track id, box, person score and every keypoint's x, y, score.

Each writer appends to a temp file as frames arrive (nothing per person is held until the end) and
renames it onto the target in :meth:`close`; :meth:`abort` leaves nothing behind. With
``overwrite=False`` that rename never replaces a file that appeared meanwhile (see posetrack.atomic).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Protocol

import numpy as np

from posetrack.atomic import AtomicFile
from posetrack.errors import ConfigError, OutputError
from posetrack.formats import coco, posetrack2018
from posetrack.formats.common import categories, frame_file_name
from posetrack.keypoints import KeypointLayout
from posetrack.types import FrameResult, Poses

FORMAT_SUFFIX = {
    "posetrack": ".posetrack.json",
    "posetrack21": ".posetrack21.json",
    "coco": ".coco.json",
    "csv": ".csv",
    "jsonl": ".jsonl",
}


class ResultWriter(Protocol):
    path: Path

    def add(self, result: FrameResult) -> None: ...

    def close(self) -> Path: ...

    def abort(self) -> None: ...


class PoseTrackJsonWriter:
    """One PoseTrack 2018 JSON file for one video/sequence.

    Image ids default to PoseTrack's ``1VVVVVVFFFF`` for video number ``vid_id``
    (:func:`posetrack.formats.common.posetrack_image_id`, which every reader here turns back into
    the frame index); pass ``image_id``/``file_name`` to :meth:`add` to match a dataset's ids.
    """

    def __init__(
        self, path: str | Path, video_name: str, layout: KeypointLayout, vid_id: int = 1, overwrite: bool = True
    ) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.video_name = video_name
        self.layout = layout
        self.vid_id = vid_id
        self._annotations = AtomicFile(self.path, suffix=".annotations.part")
        self._images: list[tuple[int, int, str]] = []  # (image id, frame index, file name): tiny
        self._first = True
        self._next_ann_id = 0

    def add(self, result: FrameResult, image_id: int | None = None, file_name: str | None = None) -> None:
        if image_id is None:
            image_id = posetrack2018.image_id(self.vid_id, result.frame_index)
        if file_name is None:
            file_name = frame_file_name(self.video_name, result.frame_index, result.name)
        self._images.append((image_id, result.frame_index, file_name))
        poses = result.poses
        for i in range(len(poses)):
            ann = posetrack2018.annotation(
                self._next_ann_id, image_id, poses.track_ids[i], poses.boxes[i], poses.keypoints[i], poses.scores[i]
            )
            self._next_ann_id += 1
            self._annotations.file.write(("" if self._first else ",\n") + json.dumps(ann))
            self._first = False

    def close(self) -> Path:
        images = posetrack2018.image_entries(self._images, self.vid_id)
        out = AtomicFile(self.path, overwrite=self.overwrite)
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


class PoseTrack21JsonWriter(PoseTrackJsonWriter):
    """A prediction file the official PoseTrack21 kit reads: the 17 PoseTrack-order keypoint slots
    (COCO-17 output converted, head joints estimated), 17 ``scores``, integer track ids >= 0.

    The kit reads every person of a frame and counts each joint with x > 0 and y > 0, so people
    without a track id (-1, untracked) are left out; joints to be left out must be written as
    (0, 0, 0) by the caller (the benchmark's keypoint threshold does that).
    """

    def __init__(
        self, path: str | Path, video_name: str, layout: KeypointLayout, vid_id: int = 1, overwrite: bool = True
    ) -> None:
        from posetrack.keypoints import COCO17, POSETRACK17_FROM_COCO

        self._from_coco = layout.name == COCO17.name
        if layout.num_joints != 17:  # e.g. a CrowdPose-14 network: checked before any file is opened
            raise ConfigError(f"the posetrack21 format needs 17 keypoints; the pose model predicts {layout.name} "
                              f"({layout.num_joints} joints): choose other --formats")
        super().__init__(path, video_name, POSETRACK17_FROM_COCO if self._from_coco else layout, vid_id, overwrite)

    def add(self, result: FrameResult, image_id: int | None = None, file_name: str | None = None) -> None:
        from dataclasses import replace

        from posetrack.keypoints import coco_to_posetrack

        poses = result.poses
        keep = poses.track_ids >= 0
        kp = coco_to_posetrack(poses.keypoints) if self._from_coco else poses.keypoints
        poses = Poses(kp[keep], poses.boxes[keep], poses.scores[keep], self.layout, poses.track_ids[keep])
        super().add(replace(result, poses=poses), image_id=image_id, file_name=file_name)


class CocoJsonWriter:
    """COCO keypoint results: a JSON list of {image_id, category_id, keypoints, score, ...}."""

    def __init__(self, path: str | Path, image_id_offset: int = 0, overwrite: bool = True) -> None:
        self.path = Path(path)
        self.image_id_offset = image_id_offset
        self._file = AtomicFile(self.path, overwrite=overwrite)
        self._file.file.write("[")
        self._first = True

    def add(self, result: FrameResult, image_id: int | None = None) -> None:
        if image_id is None:
            image_id = self.image_id_offset + result.frame_index
        poses = result.poses
        for i in range(len(poses)):
            item = coco.result_entry(
                image_id, poses.keypoints[i], poses.scores[i], poses.boxes[i], poses.track_ids[i]
            )
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
    def __init__(self, path: str | Path, layout: KeypointLayout, overwrite: bool = True) -> None:
        self.path = Path(path)
        self._file = AtomicFile(self.path, overwrite=overwrite)
        self._csv = csv.writer(self._file.file)
        self._csv.writerow(table_columns(layout))

    def add(self, result: FrameResult) -> None:
        self._csv.writerows(table_rows(result))

    def close(self) -> Path:
        return self._file.commit()

    def abort(self) -> None:
        self._file.abort()


class JsonLinesWriter:
    def __init__(self, path: str | Path, layout: KeypointLayout, overwrite: bool = True) -> None:
        self.path = Path(path)
        self._columns = table_columns(layout)
        self._file = AtomicFile(self.path, overwrite=overwrite)

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


def open_writers(
    paths: dict[str, Path], video_name: str, layout: KeypointLayout, overwrite: bool = True
) -> list[ResultWriter]:
    """The file writers for ``paths`` (as returned by :func:`output_paths`, minus the video)."""
    makers = {
        "posetrack": lambda p: PoseTrackJsonWriter(p, video_name, layout, overwrite=overwrite),
        "posetrack21": lambda p: PoseTrack21JsonWriter(p, video_name, layout, overwrite=overwrite),
        "coco": lambda p: CocoJsonWriter(p, overwrite=overwrite),
        "csv": lambda p: CsvWriter(p, layout, overwrite=overwrite),
        "jsonl": lambda p: JsonLinesWriter(p, layout, overwrite=overwrite),
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
