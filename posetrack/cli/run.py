"""``posetrack run``: tracked poses for one or more videos, as files and an annotated video."""

from __future__ import annotations

from pathlib import Path

import click

from posetrack.cli.main import cli
from posetrack.cli.options import load_cli_config, setup_logging, shared_options


@cli.command()
@click.argument("videos", nargs=-1, required=True, type=click.Path(path_type=Path))
@shared_options("config")
@click.option("-o", "--out", "out_dir", default="outputs", show_default=True,
              type=click.Path(path_type=Path), help="Folder for the result files.")
@shared_options("device")
@click.option("--render/--no-render", default=None, help="Write the annotated video (config: output.render).")
@click.option("--formats", default=None, help="Comma list of posetrack,posetrack21,coco,csv,jsonl (config: output.formats).")
@click.option("--start", type=float, default=None, help="Start time in seconds (config: video.start).")
@click.option("--end", type=float, default=None, help="End time in seconds (config: video.end).")
@click.option("--stride", type=int, default=None, help="Keep every N-th frame (config: video.stride).")
@shared_options("weights")
@click.option("--detector-weights", default=None, help="Detector weights file (config: detector.weights).")
@shared_options("set", "overwrite", "quiet", "verbose")
def run(videos, config_name, out_dir, device, render, formats, start, end, stride, weights,
        detector_weights, sets, overwrite, quiet, verbose) -> None:
    """Detect, estimate and track poses in VIDEOS (files or folders of frames)."""
    from posetrack.pipeline import Pipeline
    from posetrack.runner import preflight, process_video

    setup_logging(verbose, quiet)
    config = load_cli_config(
        config_name, sets, device=device, weights=weights,
        **{
            "output.render": render,
            "output.formats": [f.strip() for f in formats.split(",") if f.strip()] if formats else None,
            "video.start": start,
            "video.end": end,
            "video.stride": stride,
            "detector.weights": detector_weights,
        },
    )  # fmt: skip
    preflight(config, list(videos), out_dir, overwrite)  # fail fast, before any model is loaded
    pipeline = Pipeline.from_config(config)
    for video in videos:
        summary = process_video(pipeline, video, out_dir, overwrite=overwrite, progress=not quiet)
        click.echo(summary.line(), err=True)
