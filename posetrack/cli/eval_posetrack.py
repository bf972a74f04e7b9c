"""``posetrack eval posetrack``: PoseTrack mAP and MOTA of a folder of prediction files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from posetrack.cli.main import eval_group
from posetrack.cli.options import setup_logging, shared_options


def print_tables(result, echo=click.echo) -> None:
    """The official toolkit's two tables (AP, then MOT)."""
    from posetrack.evaluation.posetrack_eval import ap_table, mot_table

    echo("Average Precision (AP) metric:")
    echo(ap_table(result))
    echo("Multiple Object Tracking (MOT) metrics:")
    echo(mot_table(result))


def write_json_file(data, path: Path, overwrite: bool) -> None:
    """``data`` as JSON at ``path``, atomically; an existing file is replaced only with ``overwrite``."""
    from posetrack.atomic import AtomicFile, output_error
    from posetrack.errors import OutputError

    if path.exists() and not overwrite:
        raise OutputError(f"{path}: exists already (use --overwrite to replace it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        out = AtomicFile(path, overwrite=overwrite)
    except OSError as e:
        raise OutputError(f"{path}: cannot be written ({e.strerror or e})") from None
    try:
        json.dump(data, out.file, indent=1)
        out.commit()
    except OSError as e:
        out.abort()
        raise output_error(path, e) from None
    except BaseException:
        out.abort()
        raise


def write_json(result, path: Path, overwrite: bool = False) -> None:
    """The metrics of ``result`` (a PoseTrackResult) as JSON (see :func:`write_json_file`)."""
    write_json_file(result.to_dict(), path, overwrite)


@eval_group.command("posetrack")
@click.argument("gt_dir", type=click.Path(path_type=Path))
@click.argument("pred_dir", type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Also write all metrics (per joint, totals, MOT counts) to this JSON file.")
@click.option("--per-sequence", is_flag=True, help="Also evaluate and print each sequence on its own.")
@shared_options("overwrite", "verbose")
def eval_posetrack(gt_dir: Path, pred_dir: Path, json_out: Path | None, per_sequence: bool, overwrite: bool,
                   verbose: bool) -> None:
    """PoseTrack AP (PCKh@0.5) and MOTA of PRED_DIR against GT_DIR, as the official toolkit.

    Both folders hold one JSON file per sequence with the same names (PoseTrack 2018 or 2017
    'annolist' format).
    """
    from posetrack.evaluation.posetrack_eval import evaluate_dirs

    setup_logging(verbose)
    if json_out is not None and json_out.exists() and not overwrite:  # before the work, not after
        from posetrack.errors import OutputError

        raise OutputError(f"{json_out}: exists already (use --overwrite to replace it)")
    result = evaluate_dirs(str(gt_dir), str(pred_dir), per_sequence=per_sequence)
    if per_sequence:
        from posetrack.evaluation.posetrack_eval import group_parts

        click.echo("Per sequence: AP Total, MOTA Total")
        for name, r in sorted(result.sequences.items()):
            ap, mota = group_parts(r.ap)[-1], group_parts(r.mota)[-1]
            click.echo(f"{name}: AP {ap:.1f}  MOTA {mota:.1f}")
    print_tables(result)
    if json_out is not None:
        write_json(result, json_out, overwrite)
        click.echo(f"metrics written to {json_out}", err=True)
