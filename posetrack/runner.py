"""One video in, result files out: the unit of work of ``posetrack run`` (and of a cluster job).

It checks the input and the outputs before any work starts, streams every frame's result to the
writers, and on any failure (including Ctrl-C) removes everything it had started to write, so a
run leaves either complete files or nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from posetrack.errors import OutputError
from posetrack.outputs import open_writers, output_paths
from posetrack.pipeline import Pipeline

log = logging.getLogger("posetrack")


@dataclass
class RunSummary:
    video: Path
    frames: int
    people: int
    tracks: int
    seconds: float
    outputs: dict[str, Path]
    stage_seconds: dict[str, float]

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        paths = ", ".join(str(p) for p in self.outputs.values())
        return (
            f"{self.video.name}: {self.frames} frames, {self.people} people, {self.tracks} tracks, "
            f"{self.seconds:.1f} s, {self.fps:.1f} fps -> {paths}"
        )


def prepare_output_dir(out_dir: Path) -> bool:
    """Create ``out_dir`` if needed and check it is writable; True when it was created here."""
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as e:
        raise OutputError(f"{out_dir}: output folder cannot be written ({e.strerror or e})") from None
    return created


def check_overwrite(paths: dict[str, Path], overwrite: bool) -> None:
    if overwrite:
        return
    for path in paths.values():
        if path.exists():
            raise OutputError(f"{path}: output exists already (use --overwrite to replace it)")


def preflight(pipeline_config, videos: list[Path], out_dir: Path, overwrite: bool) -> None:
    """Every check that needs no model: inputs open, outputs writable and not in the way.

    Run before models are loaded so a typo costs a second, not a model load.
    """
    from posetrack.video import open_source

    cfg = pipeline_config.output
    for video in videos:
        with open_source(video, pipeline_config.video):
            pass
        paths = output_paths(out_dir, _stem(video), cfg.formats, cfg.render)
        check_overwrite(paths, overwrite)
    existing = out_dir
    while not existing.exists():  # the folder is created later; its nearest ancestor must allow it
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{out_dir}: output folder cannot be written ({existing} is not a writable folder)")


def _stem(video: Path) -> str:
    return video.stem if video.is_file() else video.name


def process_video(
    pipeline: Pipeline,
    video: str | Path,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: bool = True,
    on_frame: Callable[[], None] | None = None,
) -> RunSummary:
    """Run ``pipeline`` over ``video`` and write the configured outputs into ``out_dir``.

    ``on_frame`` is called after each frame (a cluster worker's progress count).
    """
    video, out_dir = Path(video), Path(out_dir)
    cfg = pipeline.config.output
    source = pipeline.open(video)  # bad input fails here, before any output exists
    stem = _stem(video)
    paths = output_paths(out_dir, stem, cfg.formats, cfg.render)
    created_dir = False
    writers: list = []
    renderer = None
    committed: list[Path] = []  # outputs already renamed into place (removed again on failure)
    try:
        created_dir = prepare_output_dir(out_dir)
        check_overwrite(paths, overwrite)
        writers = open_writers(paths, stem, pipeline.pose.layout)
        if cfg.render:
            from posetrack.video import AnnotatedVideoWriter

            renderer = AnnotatedVideoWriter(
                paths["video"], source, threshold=cfg.render_threshold, crf=cfg.crf, preset=cfg.preset
            )
        track_ids: set[int] = set()
        people = frames = 0
        start = time.perf_counter()
        bar = tqdm(total=source.num_frames, unit="frame", desc=stem, file=sys.stderr,
                   disable=not progress, dynamic_ncols=True)
        with bar:
            for result in pipeline.run(source, keep_images=renderer is not None):
                for w in writers:
                    w.add(result)
                if renderer is not None:
                    renderer.submit(result.image, result.poses, result.timestamp)
                frames += 1
                people += len(result.poses)
                track_ids.update(int(t) for t in result.poses.track_ids if t >= 0)
                bar.update(1)
                if on_frame is not None:
                    on_frame()
                bar.set_postfix(people=f"{people / frames:.1f}/frame", refresh=False)
        if renderer is not None:
            renderer.close()
            committed.append(paths["video"])
        for w in writers:
            committed.append(w.close())
        seconds = time.perf_counter() - start
    except BaseException:
        for w in writers:
            w.abort()
        if renderer is not None:
            renderer.abort()
        for path in committed:
            path.unlink(missing_ok=True)
        if created_dir:
            try:
                os.rmdir(out_dir)
            except OSError:
                pass
        raise
    finally:
        source.close()
    return RunSummary(video, frames, people, len(track_ids), seconds, paths, dict(pipeline.times.seconds))
