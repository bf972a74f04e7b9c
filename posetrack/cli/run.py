"""``posetrack run``: tracked poses for one or more videos, as files and an annotated video."""

from __future__ import annotations

from pathlib import Path

import click

from posetrack.cli.cluster_options import cluster_options
from posetrack.cli.main import cli
from posetrack.cli.options import load_cli_config, setup_logging, shared_options
from posetrack.errors import InputError


@cli.command()
@click.argument("videos", nargs=-1)
@click.option("--list", "list_spec", default=None, metavar="FILE|GLOB",
              help="More videos: a file of paths (one per line) or a glob pattern such as 'clips/*.mp4'.")
@shared_options("config")
@click.option("-o", "--out", "out_dir", default="outputs", show_default=True,
              help="Folder for the result files; '-' writes JSON Lines to stdout and nothing else.")
@shared_options("device")
@click.option("--render/--no-render", default=None, help="Write the annotated video (config: output.render).")
@click.option("--formats", default=None, help="Comma list of posetrack,posetrack21,coco,csv,jsonl (config: output.formats).")
@click.option("--start", type=float, default=None, help="Start time in seconds (config: video.start).")
@click.option("--end", type=float, default=None, help="End time in seconds (config: video.end).")
@click.option("--stride", type=int, default=None, help="Keep every N-th frame (config: video.stride).")
@shared_options("weights")
@click.option("--detector-weights", default=None, help="Detector weights file (config: detector.weights).")
@shared_options("set")
@click.option("--report/--no-report", default=None,
              help="Write <name>.report.html: tracks, timing, key frames (config: output.report).")
@click.option("--realtime", is_flag=True,
              help="Keep up with a live source by dropping the frames that cannot be processed in time.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after this many seconds (wall time for a live source, video time for a file).")
@shared_options("overwrite", "quiet", "verbose")
@cluster_options
def run(videos, list_spec, config_name, out_dir, device, render, formats, start, end, stride, weights,
        detector_weights, sets, report, realtime, duration, overwrite, quiet, verbose, cluster) -> None:
    """Detect, estimate and track poses in VIDEOS: files, folders of frames, stream URLs
    (rtsp://, rtmp://, http(s)://...) or cameras (webcam:0, /dev/video0).

    Ctrl-C during a live source ends it and finishes every output with the frames so far.
    """
    from posetrack.pipeline import Pipeline
    from posetrack.runner import preflight, process_video, to_stdout
    from posetrack.video.live import is_live

    setup_logging(verbose, quiet)
    if cluster.enabled:
        from posetrack.distributed.cluster import require_ray

        require_ray()  # before anything else: one line saying what to install
    if list_spec is not None:
        from posetrack.cli.cluster_options import read_list

        videos = (*videos, *read_list(list_spec))
    if not videos:
        raise InputError("no videos: give one or more VIDEOS or --list FILE|GLOB")
    for video in videos:  # fail fast, before any model is loaded
        if not is_live(video) and not Path(video).exists():
            raise InputError(f"{video}: no such file or folder")
    stdout = to_stdout(out_dir)
    if stdout:
        if formats and [f.strip() for f in formats.split(",") if f.strip()] != ["jsonl"]:
            raise InputError(f"-o -: only JSON Lines go to stdout (--formats jsonl), not '{formats}'")
        if render or report:
            raise InputError("-o -: writes JSON Lines to stdout only; --render/--report need an output folder")
        formats, render, report = "jsonl", False, False
    else:
        out_dir = Path(out_dir)
    config = load_cli_config(
        config_name, sets, device=device, weights=weights,
        **{
            "output.render": render,
            "output.report": report,
            "output.formats": [f.strip() for f in formats.split(",") if f.strip()] if formats else None,
            "video.start": start,
            "video.end": end,
            "video.stride": stride,
            "detector.weights": detector_weights,
        },
    )  # fmt: skip
    videos = [v if is_live(v) else Path(v) for v in videos]
    if cluster.enabled:  # every check per video happens on the workers: a bad video fails alone
        if stdout or realtime or duration is not None or any(isinstance(v, str) for v in videos):
            raise InputError("--workers/--ray run files and folders; a live source, --realtime, --duration "
                             "or -o - run in this process")
        return _run_distributed(videos, config, out_dir, overwrite, quiet, cluster)
    preflight(config, videos, out_dir, overwrite)  # fail fast, before any model is loaded
    pipeline = Pipeline.from_config(config)
    for video in videos:
        summary = process_video(pipeline, video, out_dir, overwrite=overwrite, progress=not quiet,
                                realtime=realtime, duration=duration)
        click.echo(summary.line(), err=True)


def _run_distributed(videos, config, out_dir, overwrite, quiet, cluster) -> None:
    from posetrack.cli.cluster_options import report_distributed
    from posetrack.distributed import run_many
    from posetrack.distributed.progress import ProgressBar

    bar = ProgressBar(enabled=not quiet)
    try:
        report = run_many(videos, config, out_dir, overwrite=overwrite, on_progress=bar, **cluster.kwargs())
    finally:
        bar.close()
    report_distributed(report, lambda line: click.echo(line, err=True))
