"""``posetrack track``: assign track ids to poses another estimator produced (ids in the file are
ignored). With the video or image folder, flow propagation is used; without, pose-only similarity."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import click

from posetrack.cli.main import cli
from posetrack.errors import InputError, OutputError


def track_file(poses_path, output, video=None, config_name="default", overwrite=False):
    """The work of ``posetrack track``; returns the number of tracks written."""
    from posetrack.config import load_config
    from posetrack.flow import build_flow
    from posetrack.tracker import build_tracker
    from posetrack.outputs import PoseTrackJsonWriter
    from posetrack.tracker.posefile import read_poses_file
    from posetrack.types import FrameResult

    output = Path(output)
    if output.exists() and not overwrite:
        raise OutputError(f"{output}: already exists (use --overwrite to replace it)")
    if not output.parent.is_dir():
        raise OutputError(f"{output.parent}: output folder does not exist")
    config = load_config(config_name)
    frames, layout = read_poses_file(poses_path)
    tracker = build_tracker(config.tracker, layout)
    tracked = []
    if video is None:
        for f in frames:
            tracked.append(tracker.update(f.poses, None))
    else:
        from posetrack.video.reader import open_source

        flow_estimator = build_flow(config.flow, "cpu")
        wanted_names = {PurePosixPath(str(f.image.get("file_name", ""))).name: i for i, f in enumerate(frames)}
        wanted_index = {f.index: i for i, f in enumerate(frames)}
        results: dict[int, object] = {}
        previous = None
        with open_source(video, config.video) as source:
            for frame in source:
                i = wanted_names.get(Path(frame.name).name) if frame.name else None
                if i is None:
                    i = wanted_index.get(frame.index)
                if i is None or i in results:
                    continue
                if previous is not None and flow_estimator is not None:
                    field = flow_estimator(previous, frame.image)
                else:
                    field = None
                results[i] = tracker.update(frames[i].poses, field)
                previous = frame.image
        missing = [i for i in range(len(frames)) if i not in results]
        if missing:
            f = frames[missing[0]]
            raise InputError(
                f"{video}: has no frame for {f.image.get('file_name', '')!r} (frame {f.index}) of "
                f"{poses_path} ({len(missing)} frames missing)"
            )
        tracked = [results[i] for i in range(len(frames))]
    vid_id = next((f.image["vid_id"] for f in frames if "vid_id" in f.image), 0)
    writer = PoseTrackJsonWriter(output, Path(poses_path).stem, layout, vid_id=vid_id)
    for frame, poses in zip(frames, tracked):
        confirmed = poses.select(poses.track_ids >= 0)  # ids -1: tracks not yet confirmed (min_hits)
        result = FrameResult(frame.index, 0.0, 0, 0, confirmed)
        writer.add(result, image_id=frame.image["id"], file_name=frame.image.get("file_name"))
    writer.close()
    return len({int(t) for p in tracked for t in p.track_ids if t >= 0})


@cli.command("track")
@click.argument("poses", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--video", type=click.Path(path_type=Path), help="The video the poses come from (enables flow).")
@click.option("--images", type=click.Path(path_type=Path), help="Folder of the frames (enables flow).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="PoseTrack 2018 JSON to write.")
@click.option("--config", "config_name", default="default", show_default=True,
              help="Preset name or YAML file (its tracker, flow and video sections are used).")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
def track_command(poses, video, images, output, config_name, overwrite):
    """Assign track ids to per-frame POSES (PoseTrack 2018 JSON or COCO keypoint results)."""
    if video is not None and images is not None:
        raise click.UsageError("give --video or --images, not both")
    n = track_file(poses, output, video or images, config_name, overwrite)
    click.echo(f"{output}: {n} tracks")
