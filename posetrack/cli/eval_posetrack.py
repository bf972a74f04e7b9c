"""``posetrack eval posetrack``: PoseTrack mAP and MOTA of a folder of prediction files."""

from __future__ import annotations

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


def write_metrics(result, path: Path, overwrite: bool = False) -> None:
    """The metrics of ``result`` (a PoseTrackResult) as a JSON file (never replaced unasked)."""
    from posetrack.atomic import write_json

    write_json(path, result.to_dict(), overwrite=overwrite)


@eval_group.command("posetrack")
@click.argument("gt_dir", type=click.Path(path_type=Path))
@click.argument("pred_dir", type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Also write all metrics (per joint, totals, MOT counts) to this JSON file.")
@click.option("--per-sequence", is_flag=True, help="Also evaluate and print each sequence on its own.")
@click.option("--hota", is_flag=True,
              help="Also the PoseTrack21 kit's keypoint HOTA (PoseTrack 2018 files: is_labeled, ignore regions).")
@click.option("--report", "report_out", type=click.Path(path_type=Path), default=None,
              help="Also write an HTML page: AP and MOTA parts per joint, a sortable per-sequence table.")
@shared_options("overwrite", "verbose")
def eval_posetrack(gt_dir: Path, pred_dir: Path, json_out: Path | None, per_sequence: bool, hota: bool,
                   report_out: Path | None, overwrite: bool, verbose: bool) -> None:
    """PoseTrack AP (PCKh@0.5) and MOTA of PRED_DIR against GT_DIR, as the official toolkit.

    Both folders hold one JSON file per sequence with the same names (PoseTrack 2018 or 2017
    'annolist' format).
    """
    from posetrack.evaluation.posetrack_eval import evaluate_dirs

    setup_logging(verbose)
    for out in (json_out, report_out):
        if out is not None:
            from posetrack.atomic import refuse_existing  # on use: the evaluation path stays light

            refuse_existing(out, overwrite)  # before the work, not after it
    result = evaluate_dirs(str(gt_dir), str(pred_dir), per_sequence=per_sequence or report_out is not None)
    if per_sequence:
        from posetrack.evaluation.posetrack_eval import group_parts

        click.echo("Per sequence: AP Total, MOTA Total")
        for name, r in sorted(result.sequences.items()):
            ap, mota = group_parts(r.ap)[-1], group_parts(r.mota)[-1]
            click.echo(f"{name}: AP {ap:.1f}  MOTA {mota:.1f}")
    print_tables(result)
    if hota:
        from posetrack.evaluation.posetrack21 import evaluate_dirs as evaluate_hota
        from posetrack.evaluation.posetrack21 import hota_table

        pt21 = evaluate_hota(str(gt_dir), str(pred_dir))
        click.echo("Pose tracking (HOTA for keypoints as the PoseTrack21 kit, %, mean over the alphas):")
        click.echo(hota_table(pt21.hota))
        result = _WithHota(result, pt21)
    if json_out is not None:
        write_metrics(result, json_out, overwrite)
        click.echo(f"metrics written to {json_out}", err=True)
    if report_out is not None:
        write_report(result, report_out, f"posetrack eval: {pred_dir.name} against {gt_dir.name}")


def write_report(result, path: Path, title: str) -> None:
    """The evaluation's HTML page (poseval's mAP/MOTA result)."""
    from posetrack.report.eval_report import write_eval_report

    path.parent.mkdir(parents=True, exist_ok=True)
    write_eval_report(path, result.to_dict(), title)
    click.echo(f"report written to {path}", err=True)


class _WithHota:
    """poseval's result plus the PoseTrack21 kit's HOTA, for ``--json``."""

    def __init__(self, result, pt21) -> None:
        self.result, self.pt21 = result, pt21

    def to_dict(self) -> dict:
        d = self.pt21.to_dict()
        return {**self.result.to_dict(), "hota": d["hota"], "hota_summary": {k: v for k, v in d["summary"].items()
                                                                              if k != "mAP"}}
