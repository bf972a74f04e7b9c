"""``posetrack run``: tracked poses for one or more videos, as files and an annotated video."""

from __future__ import annotations

from pathlib import Path

import click

from posetrack.cli.cluster_options import cluster_options
from posetrack.cli.main import cli
from posetrack.cli.options import parse_overrides, setup_logging
from posetrack.errors import InputError


@cli.command()
@click.argument("videos", nargs=-1, type=click.Path(path_type=Path))
@click.option("--list", "list_spec", default=None, metavar="FILE|GLOB",
              help="More videos: a file of paths (one per line) or a glob pattern such as 'clips/*.mp4'.")
@click.option("-c", "--config", "config_name", default="default", show_default=True,
              help="Preset name (see `posetrack config list`) or a YAML file.")
@click.option("-o", "--out", "out_dir", default="outputs", show_default=True,
              type=click.Path(path_type=Path), help="Folder for the result files.")
@click.option("--device", default=None, help="auto, cpu, cuda or cuda:N (config: device).")
@click.option("--render/--no-render", default=None, help="Write the annotated video (config: output.render).")
@click.option("--formats", default=None, help="Comma list of posetrack,coco,csv,jsonl (config: output.formats).")
@click.option("--start", type=float, default=None, help="Start time in seconds (config: video.start).")
@click.option("--end", type=float, default=None, help="End time in seconds (config: video.end).")
@click.option("--stride", type=int, default=None, help="Keep every N-th frame (config: video.stride).")
@click.option("--weights", default=None, help="Pose weights: a file, a zoo name, or 'zoo' (config: pose.weights).")
@click.option("--detector-weights", default=None, help="Detector weights file (config: detector.weights).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override any config value, e.g. --set tracker.memory=3 (repeatable).")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@cluster_options
def run(videos, list_spec, config_name, out_dir, device, render, formats, start, end, stride, weights,
        detector_weights, sets, overwrite, quiet, verbose, cluster) -> None:
    """Detect, estimate and track poses in VIDEOS (files or folders of frames)."""
    from posetrack.config import load_config
    from posetrack.pipeline import Pipeline
    from posetrack.runner import preflight, process_video

    setup_logging(verbose)
    if cluster.enabled:
        from posetrack.distributed.cluster import require_ray

        require_ray()  # before anything else: one line saying what to install
    if list_spec is not None:
        from posetrack.cli.cluster_options import read_list

        videos = (*videos, *read_list(list_spec))
    if not videos:
        raise InputError("no videos: give one or more VIDEOS or --list FILE|GLOB")
    for video in videos:  # fail fast, before any model is loaded
        if not video.exists():
            raise InputError(f"{video}: no such file or folder")
    flags = {
        "device": device,
        "output.render": render,
        "output.formats": [f.strip() for f in formats.split(",") if f.strip()] if formats else None,
        "video.start": start,
        "video.end": end,
        "video.stride": stride,
        "pose.weights": weights,
        "detector.weights": detector_weights,
    }
    overrides = {k: v for k, v in flags.items() if v is not None}  # flags not given keep the config
    overrides.update(parse_overrides(sets))
    config = load_config(config_name, overrides)
    if cluster.enabled:  # every check per video happens on the workers: a bad video fails alone
        return _run_distributed(list(videos), config, out_dir, overwrite, quiet, cluster)
    preflight(config, list(videos), out_dir, overwrite)
    pipeline = Pipeline.from_config(config)
    for video in videos:
        summary = process_video(pipeline, video, out_dir, overwrite=overwrite, progress=not quiet)
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
