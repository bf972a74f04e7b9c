"""One video in, result files out: the unit of work of ``posetrack run`` (and of a cluster job).

It checks the input and the outputs before any work starts, streams every frame's result to the
writers, and on any failure (including Ctrl-C, SIGTERM, a full disk) removes everything it had
started to write, so a run leaves either complete files or nothing. Temp files a killed run left
in the output folder are removed at the next run into it (posetrack.atomic.remove_stale_parts).

Concurrent runs into one folder: the outputs are moved into place without replacing anything
(unless ``overwrite``), so when two runs write the same names the first to finish keeps its files
and the other fails with one line, removing its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from posetrack.atomic import remove_stale_parts, write_errors
from posetrack.errors import InputError, OutputError
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
    for path in remove_stale_parts(out_dir):
        log.info("removed %s, left by a posetrack run that was killed", path)
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
    writer_of: dict[Path, Path] = {}  # output path -> the video that writes it
    for video in videos:
        with open_source(video, pipeline_config.video) as source:
            check_has_frames(source, video)
        if to_stdout(out_dir):
            continue
        paths = output_paths(out_dir, output_stem(video), cfg.formats, cfg.render, cfg.report)
        for path in paths.values():
            if path in writer_of:
                raise OutputError(
                    f"{writer_of[path]} and {video} would both write {path}: "
                    "run them into different folders (-o)"
                )
        writer_of.update(dict.fromkeys(paths.values(), video))
        check_overwrite(paths, overwrite)
    check_model_files(pipeline_config)
    if to_stdout(out_dir):
        return
    if cfg.render:
        check_encoder(cfg.encoder)
    existing = out_dir
    while not existing.exists():  # the folder is created later; its nearest ancestor must allow it
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{out_dir}: output folder cannot be written ({existing} is not a writable folder)")


def check_encoder(encoder: str) -> None:
    """An encoder named in ``output.encoder`` opens here (a probe on a tiny frame), else one line
    naming it before any model is loaded or frame decoded; ``auto`` always passes (libx264 fallback)."""
    from posetrack.video.writer import h264_encoder

    h264_encoder(encoder)


def check_model_files(config) -> None:
    """Files the config names (a detections file, weights given as paths) exist: checked before
    the first model is built or downloaded, so a typo in the last one does not cost the others."""
    from posetrack import zoo

    if config.detector.name == "file" and not Path(config.detector.file).is_file():
        raise InputError(f"{config.detector.file}: detections file not found (detector.file)")
    names = {e.name for e in zoo.entries()}
    specs = {"pose.weights": config.pose.weights}
    if config.detector.name not in ("hog", "file", "none"):
        specs["detector.weights"] = config.detector.weights
    if config.flow.name.startswith("raft"):
        specs["flow.weights"] = config.flow.weights
    for key, spec in specs.items():
        if spec is not None and spec != "zoo" and spec not in names and not Path(spec).expanduser().is_file():
            raise InputError(f"weights file not found: {spec} ({key})")


def to_stdout(out_dir: str | Path) -> bool:
    """``-o -``: JSON Lines on stdout, no files."""
    return str(out_dir) == "-"


def output_stem(video: str | Path) -> str:
    from posetrack.video.live import is_live, live_stem

    if is_live(video):
        return live_stem(str(video))
    video = Path(video)
    return video.stem if video.is_file() else video.name


def _span(source) -> str:
    cfg = source.config
    end = "the end" if cfg.end is None else f"{cfg.end:g} s"
    length = ""
    if source.total_frames and source.fps:
        length = f" (it lasts {source.total_frames / source.fps:.2f} s)"
    return f"between {cfg.start:g} s and {end}{length}"


def check_has_frames(source, video: Path) -> None:
    """InputError when start/end/stride select no frame of ``source`` (known from its frame count)."""
    if source.num_frames == 0:
        raise InputError(f"no frames in {video} {_span(source)}")


def process_video(
    pipeline: Pipeline,
    video: str | Path,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: bool = True,
    realtime: bool = False,
    duration: float | None = None,
    on_frame: Callable[[], None] | None = None,
) -> RunSummary:
    """Run ``pipeline`` over ``video`` and write the configured outputs into ``out_dir``.

    ``video`` may also be a live source (stream URL, camera; see posetrack.video.live): it is read
    on its own thread, and Ctrl-C ends it cleanly with complete outputs. ``realtime`` drops frames
    the pipeline cannot keep up with; ``duration`` stops after that many seconds. ``out_dir`` "-"
    writes JSON Lines to stdout and nothing else. ``on_frame`` is called after each frame (a
    cluster worker's progress count).
    """
    from posetrack.video.live import LiveFeed, interrupt_stops

    stdout = to_stdout(out_dir)
    out_dir = Path(out_dir)
    cfg = pipeline.config.output
    source = pipeline.open(video if isinstance(video, Path) else str(video))  # bad input fails here
    try:
        check_has_frames(source, video)
    except BaseException:
        source.close()
        raise
    feed = None
    if source.live or realtime or duration is not None:
        source = feed = LiveFeed(source, realtime=realtime, duration=duration)
    stem = output_stem(video)
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
            with write_errors(out_dir):
                writers = open_writers(paths, stem, pipeline.pose.layout, overwrite=overwrite)
        if "report" in paths:
            from posetrack.report.data import RunRecorder

            recorder = RunRecorder(pipeline.pose.layout, pipeline.times.seconds, cfg.render_threshold)
        if "video" in paths:
            from posetrack.video import AnnotatedVideoWriter

            renderer = AnnotatedVideoWriter(
                paths["video"], source, threshold=cfg.render_threshold, crf=cfg.crf, preset=cfg.preset,
                overwrite=overwrite, encoder=cfg.encoder,
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
                    with write_errors(w.path):
                        w.add(result)
                if renderer is not None:
                    with write_errors(paths["video"]):
                        renderer.submit(result.image, result.poses, result.timestamp)
                if recorder is not None:
                    recorder.add(result)
                frames += 1
                people += len(result.poses)
                track_ids.update(int(t) for t in result.poses.track_ids if t >= 0)
                bar.update(1)
                if on_frame is not None:
                    on_frame()
                bar.set_postfix(people=f"{people / frames:.1f}/frame", refresh=False)
        if frames == 0:  # a frame count the container did not give, or frames that did not decode
            raise InputError(f"no frames received from {video}" if source.live else f"no frames in {video} {_span(source)}")
        if renderer is not None:
            with write_errors(paths["video"]):
                renderer.close()
            committed.append(paths["video"])
        for w in writers:
            with write_errors(w.path):
                committed.append(w.close())
        seconds = time.perf_counter() - start
        summary = RunSummary(video, frames, people, len(track_ids), seconds, paths, dict(pipeline.times.seconds),
                             dropped=feed.dropped if feed is not None else 0,
                             ended_by=feed.ended_by if feed is not None else "")
        if recorder is not None:
            t_report = time.perf_counter()
            committed.append(_write_report(paths["report"], recorder, pipeline, summary, overwrite))
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


def _write_report(path: Path, recorder, pipeline: Pipeline, summary: RunSummary, overwrite: bool) -> Path:
    """The run report, rendered after the last frame (plots cost nothing during the run)."""
    from posetrack.config import dump_config
    from posetrack.report.run_report import write_run_report

    out = write_run_report(
        path, recorder, title=f"posetrack run: {summary.video.name}", summary=summary.line(),
        config=dump_config(pipeline.config),
        extra={"dropped_frames": summary.dropped, "seconds": round(summary.seconds, 3),
               "ended_by": summary.ended_by},
        overwrite=overwrite,
    )  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# ``posetrack track``: track ids for poses another estimator produced


def _frames_in_video_order(frames: list, source, poses_path) -> Iterator[tuple[int, object]]:
    """(pose frame number, RGB image) for the pose frames found in ``source``, in video order,
    streamed (one image in memory). Frames are matched by file name (image folders), else by frame
    index; when the source ends without every pose frame, an InputError (before any output)."""
    by_name = {Path(str(f.image.get("file_name", ""))).name: i for i, f in enumerate(frames)}
    by_index = {f.index: i for i, f in enumerate(frames)}
    seen: set[int] = set()
    for frame in source:
        i = by_name.get(Path(frame.name).name) if frame.name else None
        if i is None:
            i = by_index.get(frame.index)
        if i is not None and i not in seen:
            seen.add(i)
            yield i, frame.image
    if len(seen) < len(frames):
        missing = [i for i in range(len(frames)) if i not in seen]
        f = frames[missing[0]]
        raise InputError(
            f"{source.path}: has no frame for {f.image.get('file_name', '')!r} (frame {f.index}) of "
            f"{poses_path} ({len(missing)} frames missing)"
        )


def track_poses(frames: list, tracker, steps: Iterable[tuple[int, object]], flow=None) -> list:
    """Tracked Poses for each of ``frames`` (PoseFrame), updating ``tracker`` in the order of
    ``steps``: (frame number, RGB image or None). With ``flow`` and images, the flow between
    consecutive images propagates the tracks."""
    tracked: list = [None] * len(frames)
    previous = None
    for i, image in steps:
        field = None
        if flow is not None and previous is not None and image is not None:
            field = flow(previous, image)
        tracked[i] = tracker.update(frames[i].poses, field)
        previous = image
    return tracked


def track_poses_file(
    poses_path: str | Path, output: str | Path, config, video: str | Path | None = None,
    *, overwrite: bool = False, device: str | None = None,
) -> int:
    """The work of ``posetrack track``: read per-frame poses, assign track ids (with flow between
    the frames of ``video`` when given), write PoseTrack 2018 JSON; returns the number of tracks."""
    from posetrack.flow import build_flow
    from posetrack.outputs import PoseTrackJsonWriter
    from posetrack.tracker import build_tracker
    from posetrack.tracker.posefile import read_poses_file
    from posetrack.types import FrameResult

    output = Path(output)
    if output.exists() and not overwrite:
        raise OutputError(f"{output}: already exists (use --overwrite to replace it)")
    folder = output.parent
    if not folder.is_dir():
        raise OutputError(f"{folder}: output folder does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: output folder cannot be written (permission denied)")
    frames, layout = read_poses_file(poses_path)
    tracker = build_tracker(config.tracker, layout)
    if video is None:
        tracked = track_poses(frames, tracker, ((i, None) for i in range(len(frames))))
    else:
        from posetrack.devices import resolve_device
        from posetrack.video import open_source

        with open_source(video, config.video) as source:
            flow = build_flow(config.flow, resolve_device(device or config.device))
            tracked = track_poses(frames, tracker, _frames_in_video_order(frames, source, poses_path), flow)
    vid_id = next((f.image["vid_id"] for f in frames if "vid_id" in f.image), 0)
    remove_stale_parts(folder)
    with write_errors(output):
        writer = PoseTrackJsonWriter(output, Path(poses_path).stem, layout, vid_id=vid_id, overwrite=overwrite)
    try:
        with write_errors(output):
            for frame, poses in zip(frames, tracked):
                confirmed = poses.select(poses.track_ids >= 0)  # ids -1: tracks not yet confirmed (min_hits)
                writer.add(FrameResult(frame.index, 0.0, 0, 0, confirmed),
                           image_id=frame.image["id"], file_name=frame.image.get("file_name"))
            writer.close()
    except BaseException:
        writer.abort()
        raise
    return len({int(t) for p in tracked for t in p.track_ids if t >= 0})
