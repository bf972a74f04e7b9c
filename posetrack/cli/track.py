"""``posetrack track``: assign track ids to poses another estimator produced (ids in the file are
ignored). With the video or image folder, flow propagation is used; without, pose-only similarity.
The work is :func:`posetrack.runner.track_poses_file`."""

from __future__ import annotations

from pathlib import Path

import click

from posetrack.cli.main import cli
from posetrack.cli.options import load_cli_config, setup_logging, shared_options


@cli.command("track")
@click.argument("poses", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--video", type=click.Path(path_type=Path), help="The video the poses come from (enables flow).")
@click.option("--images", type=click.Path(path_type=Path), help="Folder of the frames (enables flow).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="PoseTrack 2018 JSON to write.")
@shared_options("config", "set", "device", "overwrite", "verbose")
def track_command(poses, video, images, output, config_name, sets, device, overwrite, verbose):
    """Assign track ids to per-frame POSES (PoseTrack 2018 JSON or COCO keypoint results).

    The config's tracker, flow and video sections are used."""
    from posetrack.runner import track_poses_file

    setup_logging(verbose)
    if video is not None and images is not None:
        raise click.UsageError("give --video or --images, not both")
    config = load_cli_config(config_name, sets, device=device)
    n = track_poses_file(poses, output, config, video or images, overwrite=overwrite)
    click.echo(f"{output}: {n} tracks")
