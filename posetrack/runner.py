"""One video in, result files out: the unit of work of ``posetrack run`` (and of a cluster job).

It checks the input and the outputs before any work starts, streams every frame's result to the
writers, and on any failure (including Ctrl-C) removes everything it had started to write, so a
run leaves either complete files or nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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
    dropped: int = 0  # frames a --realtime run left out to keep up with its source
    ended_by: str = ""  # "duration" or "interrupt" when a live run was stopped before its end
    report_seconds: float = 0.0  # rendering the HTML report, after the last frame

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        paths = ", ".join(str(p) for p in self.outputs.values()) or "stdout"
        dropped = f", {self.dropped} dropped" if self.dropped else ""
        ended = {"duration": " (stopped at --duration)", "interrupt": " (stopped by Ctrl-C)"}.get(self.ended_by, "")
        return (
            f"{self.video.name}: {self.frames} frames{dropped}, {self.people} people, {self.tracks} tracks, "
            f"{self.seconds:.1f} s, {self.fps:.1f} fps{ended} -> {paths}"
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
        if to_stdout(out_dir):
            continue
        paths = output_paths(out_dir, _stem(video), cfg.formats, cfg.render, cfg.report)
        check_overwrite(paths, overwrite)
    if to_stdout(out_dir):
        return
    existing = out_dir
    while not existing.exists():  # the folder is created later; its nearest ancestor must allow it
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{out_dir}: output folder cannot be written ({existing} is not a writable folder)")


def to_stdout(out_dir: str | Path) -> bool:
    """``-o -``: JSON Lines on stdout, no files."""
    return str(out_dir) == "-"


def _stem(video: str | Path) -> str:
    from posetrack.video.live import is_live, live_stem

    if is_live(video):
        return live_stem(str(video))
    video = Path(video)
    return video.stem if video.is_file() else video.name


def process_video(
    pipeline: Pipeline,
    video: str | Path,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: bool = True,
    realtime: bool = False,
    duration: float | None = None,
) -> RunSummary:
    """Run ``pipeline`` over ``video`` and write the configured outputs into ``out_dir``.

    ``video`` may also be a live source (stream URL, camera; see posetrack.video.live): it is read
    on its own thread, and Ctrl-C ends it cleanly with complete outputs. ``realtime`` drops frames
    the pipeline cannot keep up with; ``duration`` stops after that many seconds. ``out_dir`` "-"
    writes JSON Lines to stdout and nothing else.
    """
    from posetrack.video.live import LiveFeed, interrupt_stops

    stdout = to_stdout(out_dir)
    out_dir = Path(out_dir)
    cfg = pipeline.config.output
    source = pipeline.open(video if isinstance(video, Path) else str(video))  # bad input fails here
    feed = None
    if source.live or realtime or duration is not None:
        source = feed = LiveFeed(source, realtime=realtime, duration=duration)
    stem = _stem(video)
    video = Path(stem) if source.live else Path(video)
    paths = {} if stdout else output_paths(out_dir, stem, cfg.formats, cfg.render, cfg.report)
    created_dir = False
    writers: list = []
    renderer = None
    recorder = None
    committed: list[Path] = []  # outputs already renamed into place (removed again on failure)
    try:
        if stdout:
            from posetrack.outputs import JsonLinesStream

            writers = [JsonLinesStream(sys.stdout, pipeline.pose.layout)]
        else:
            created_dir = prepare_output_dir(out_dir)
            check_overwrite(paths, overwrite)
            writers = open_writers(paths, stem, pipeline.pose.layout)
        if "report" in paths:
            from posetrack.report.data import RunRecorder

            recorder = RunRecorder(pipeline.pose.layout, pipeline.times.seconds, cfg.render_threshold)
        if "video" in paths:
            from posetrack.video import AnnotatedVideoWriter

            renderer = AnnotatedVideoWriter(
                paths["video"], source, threshold=cfg.render_threshold, crf=cfg.crf, preset=cfg.preset
            )
        track_ids: set[int] = set()
        people = frames = 0
        start = time.perf_counter()
        bar = tqdm(total=source.num_frames, unit="frame", desc=stem, file=sys.stderr,
                   disable=not progress, dynamic_ncols=True)
        live_run = interrupt_stops(feed) if feed is not None and feed.live else contextlib.nullcontext()
        with bar, live_run:
            for result in pipeline.run(source, keep_images=renderer is not None or recorder is not None):
                for w in writers:
                    w.add(result)
                if renderer is not None:
                    renderer.submit(result.image, result.poses, result.timestamp)
                if recorder is not None:
                    recorder.add(result)
                frames += 1
                people += len(result.poses)
                track_ids.update(int(t) for t in result.poses.track_ids if t >= 0)
                bar.update(1)
                bar.set_postfix(people=f"{people / frames:.1f}/frame", refresh=False)
        if renderer is not None:
            renderer.close()
            committed.append(paths["video"])
        for w in writers:
            committed.append(w.close())
        seconds = time.perf_counter() - start
        summary = RunSummary(video, frames, people, len(track_ids), seconds, paths, dict(pipeline.times.seconds),
                             dropped=feed.dropped if feed is not None else 0,
                             ended_by=feed.ended_by if feed is not None else "")
        if recorder is not None:
            t_report = time.perf_counter()
            committed.append(_write_report(paths["report"], recorder, pipeline, summary))
            summary.report_seconds = time.perf_counter() - t_report
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
    return summary


def _write_report(path: Path, recorder, pipeline: Pipeline, summary: RunSummary) -> Path:
    """The run report, rendered after the last frame (plots cost nothing during the run)."""
    from posetrack.config import dump_config
    from posetrack.report.run_report import write_run_report

    out = write_run_report(
        path, recorder, title=f"posetrack run: {summary.video.name}", summary=summary.line(),
        config=dump_config(pipeline.config),
        extra={"dropped_frames": summary.dropped, "seconds": round(summary.seconds, 3),
               "ended_by": summary.ended_by},
    )  # fmt: skip
    return out
