"""``posetrack report``: rebuild a run's HTML report from its result file."""

from __future__ import annotations

from pathlib import Path

import click

from posetrack.cli.main import cli
from posetrack.cli.options import setup_logging


@cli.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--video", default=None, help="The run's input video (or folder, stream) for the key frames.")
@click.option("-o", "--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="The HTML file (default: RESULTS with .report.html for .posetrack.json).")
@click.option("--overwrite", is_flag=True, help="Replace an existing report.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def report(results: Path, video: str | None, out_path: Path | None, overwrite: bool, verbose: bool) -> None:
    """Write the run report of RESULTS (a posetrack run's <name>.posetrack.json).

    Without --video the page has no key frames; per-stage times are only known during a run.
    """
    from posetrack.errors import InputError, OutputError
    from posetrack.report.data import RunRecorder
    from posetrack.report.from_results import frame_results, read_results
    from posetrack.report.run_report import write_run_report

    setup_logging(verbose)
    if out_path is None:
        name = results.name.removesuffix(".json").removesuffix(".posetrack")
        out_path = results.with_name(f"{name}.report.html")
    if out_path.exists() and not overwrite:
        raise OutputError(f"{out_path}: output exists already (use --overwrite to replace it)")
    layout, frames = read_results(results)
    if video is not None and not Path(video).exists() and "://" not in video:
        raise InputError(f"{video}: no such file or folder")
    recorder = RunRecorder(layout)
    for result in frame_results(layout, frames, video):
        recorder.add(result)
    summary = (f"{results.name}: {len(frames)} frames, {sum(recorder.people)} people, "
               f"{len(recorder.tracks)} tracks (rebuilt from the results file)")
    write_run_report(out_path, recorder, title=f"posetrack report: {results.name}", summary=summary,
                     config="not recorded in the results file")
    click.echo(f"{summary} -> {out_path}", err=True)
