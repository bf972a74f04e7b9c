"""``posetrack eval posetrack21``: PoseTrack21 keypoint HOTA and mAP of a folder of prediction files."""

from __future__ import annotations

from pathlib import Path

import click

from posetrack.cli.eval_posetrack import write_metrics
from posetrack.cli.main import eval_group
from posetrack.cli.options import setup_logging, shared_options


def print_pt21_tables(result, echo=click.echo) -> None:
    """The HOTA table (metrics x joints, averaged over alphas) and the mAP table."""
    from posetrack.evaluation.posetrack21 import hota_table, map_table

    echo("Pose tracking (HOTA for keypoints, %, mean over the 19 alpha thresholds):")
    echo(hota_table(result.hota))
    echo("Pose estimation (mAP, %):")
    echo(map_table(result.map))


@eval_group.command("posetrack21")
@click.argument("gt_dir", type=click.Path(path_type=Path))
@click.argument("pred_dir", type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Also write every metric (per joint, per alpha, per sequence) to this JSON file.")
@click.option("--per-sequence", is_flag=True, help="Also print each sequence's HOTA and mAP totals.")
@click.option("--workers", type=click.IntRange(0, 256), default=0, show_default=True,
              help="Processes evaluating sequences in parallel; 0 = automatic (one process for few sequences).")
@shared_options("overwrite", "verbose")
def eval_posetrack21(gt_dir: Path, pred_dir: Path, json_out: Path | None, per_sequence: bool, workers: int,
                     overwrite: bool, verbose: bool) -> None:
    """PoseTrack21 pose-tracking HOTA and pose-estimation mAP of PRED_DIR against GT_DIR, with the
    official kit's numbers.

    Both folders hold one JSON file per sequence with the same names (PoseTrack21 / PoseTrack 2018
    'images' + 'annotations' format); frames are matched by position.
    """
    from posetrack.evaluation.posetrack21 import evaluate_dirs

    setup_logging(verbose)
    result = evaluate_dirs(str(gt_dir), str(pred_dir), per_sequence=per_sequence, workers=workers or None)
    if per_sequence:
        import numpy as np

        click.echo("Per sequence: HOTA, DetA, AssA, mAP (Total, %)")
        for name, (h, m) in sorted(result.sequences.items()):
            vals = [100 * float(np.mean(h[f][:, -1])) for f in ("HOTA", "DetA", "AssA")]
            click.echo(f"{name}: HOTA {vals[0]:.2f}  DetA {vals[1]:.2f}  AssA {vals[2]:.2f}  mAP {m['ap'][-1]:.1f}")
    print_pt21_tables(result)
    if json_out is not None:
        write_metrics(result, json_out, overwrite)
        click.echo(f"metrics written to {json_out}", err=True)
