"""``posetrack eval posetrack``: PoseTrack mAP and MOTA of a folder of prediction files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from posetrack.cli.main import eval_group
from posetrack.cli.options import setup_logging


def print_tables(result, echo=click.echo) -> None:
    """The official toolkit's two tables (AP, then MOT)."""
    from posetrack.evaluation.posetrack_eval import ap_table, mot_table

    echo("Average Precision (AP) metric:")
    echo(ap_table(result))
    echo("Multiple Object Tracking (MOT) metrics:")
    echo(mot_table(result))


def write_json(result, path: Path) -> None:
    from posetrack.atomic import AtomicFile
    from posetrack.errors import OutputError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        out = AtomicFile(path)
    except OSError as e:
        raise OutputError(f"{path}: cannot be written ({e.strerror or e})") from None
    try:
        json.dump(result.to_dict(), out.file, indent=1)
        out.commit()
    except BaseException:
        out.abort()
        raise


@eval_group.command("posetrack")
@click.argument("gt_dir", type=click.Path(path_type=Path))
@click.argument("pred_dir", type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Also write all metrics (per joint, totals, MOT counts) to this JSON file.")
@click.option("--per-sequence", is_flag=True, help="Also evaluate and print each sequence on its own.")
@click.option("--report", "report_out", type=click.Path(path_type=Path), default=None,
              help="Also write an HTML page: AP and MOTA parts per joint, a sortable per-sequence table.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def eval_posetrack(gt_dir: Path, pred_dir: Path, json_out: Path | None, per_sequence: bool,
                   report_out: Path | None, verbose: bool) -> None:
    """PoseTrack AP (PCKh@0.5) and MOTA of PRED_DIR against GT_DIR, as the official toolkit.

    Both folders hold one JSON file per sequence with the same names (PoseTrack 2018 or 2017
    'annolist' format).
    """
    from posetrack.evaluation.posetrack_eval import evaluate_dirs

    setup_logging(verbose)
    result = evaluate_dirs(str(gt_dir), str(pred_dir), per_sequence=per_sequence or report_out is not None)
    if per_sequence:
        from posetrack.evaluation.posetrack_eval import group_parts

        click.echo("Per sequence: AP Total, MOTA Total")
        for name, r in sorted(result.sequences.items()):
            ap, mota = group_parts(r.ap)[-1], group_parts(r.mota)[-1]
            click.echo(f"{name}: AP {ap:.1f}  MOTA {mota:.1f}")
    print_tables(result)
    if json_out is not None:
        write_json(result, json_out)
        click.echo(f"metrics written to {json_out}", err=True)
    if report_out is not None:
        write_report(result, report_out, f"posetrack eval: {pred_dir.name} against {gt_dir.name}")


def write_report(result, path: Path, title: str) -> None:
    from posetrack.report.eval_report import write_eval_report

    path.parent.mkdir(parents=True, exist_ok=True)
    write_eval_report(path, result.to_dict(), title)
    click.echo(f"report written to {path}", err=True)
