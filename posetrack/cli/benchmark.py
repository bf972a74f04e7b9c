"""``posetrack benchmark posetrack``: predict a PoseTrack-layout dataset, then evaluate it."""

from __future__ import annotations

from pathlib import Path

import click

from posetrack.atomic import refuse_existing
from posetrack.cli.cluster_options import cluster_options
from posetrack.cli.main import _Group, cli
from posetrack.cli.options import load_cli_config, setup_logging, shared_options, warn_if_random_weights
from posetrack.errors import ConfigError


@cli.group(name="benchmark", cls=_Group)
def benchmark_group() -> None:
    """Run a model over a dataset and score it."""


@benchmark_group.command("posetrack")
@click.option("--root", required=True, type=click.Path(path_type=Path),
              help="Dataset root holding images/<split>/<seq>/*.jpg and annotations/<split>/<seq>.json.")
@click.option("--split", default="val", show_default=True, help="Dataset split folder name.")
@shared_options("config", "weights")
@click.option("--gt-boxes", is_flag=True, help="Use the ground-truth person boxes instead of a detector.")
@click.option("--detections", "detections_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of public detection files, one <seq>.json per sequence, instead of a detector.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the prediction files (default: posetrack-<split>-<config>); reruns resume.")
@click.option("--kpt-threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Joints scoring below this are not written (default 0.4).")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Also write the metrics to this JSON file.")
@click.option("--report", "report_out", type=click.Path(path_type=Path), default=None,
              help="Also write an HTML page of the metrics (per joint, per sequence; PoseTrack 2017/2018).")
@shared_options("device", "set", "overwrite", "quiet", "verbose")
@cluster_options
def benchmark_posetrack(root, split, config_name, weights, gt_boxes, detections_dir, out_dir, kpt_threshold,
                        json_out, report_out, device, sets, overwrite, quiet, verbose, cluster) -> None:
    """Predict every sequence of a PoseTrack dataset split, then print mAP and MOTA.

    Device and weights come from the config as for `posetrack run` (zoo weights by default);
    --overwrite applies to the --json file (prediction files are resumed, never replaced)."""
    _benchmark("posetrack", root, split, config_name, weights, gt_boxes, detections_dir, out_dir, kpt_threshold,
               json_out, report_out, device, sets, overwrite, quiet, verbose, cluster)  # fmt: skip


@cluster_options  # the Command below reuses the params, so its callback must take them the same way
def benchmark_posetrack21(**options) -> None:
    _benchmark("posetrack21", **options)


# the same options; layout ROOT/images/<split>/<seq>/ and ROOT/posetrack_data/<split>/<seq>.json
benchmark_group.add_command(click.Command(
    "posetrack21", params=benchmark_posetrack.params, callback=benchmark_posetrack21,
    help="Predict every sequence of a PoseTrack21 dataset split (ROOT/images/<split>/<seq>/, "
         "ROOT/posetrack_data/<split>/<seq>.json), then print its keypoint HOTA and mAP tables.",
))  # fmt: skip


def _benchmark(dataset, root, split, config_name, weights, gt_boxes, detections_dir, out_dir, kpt_threshold,
               json_out, report_out, device, sets, overwrite, quiet, verbose, cluster) -> None:
    from posetrack.cli.eval_posetrack import print_tables, write_metrics, write_report
    from posetrack.evaluation.benchmark import DEFAULT_KPT_THRESHOLD, find_sequences, run_benchmark
    from posetrack.pipeline import Pipeline

    setup_logging(verbose, quiet)
    if cluster.enabled:
        from posetrack.distributed.cluster import require_ray

        require_ray()  # before anything else: one line saying what to install
    if gt_boxes and detections_dir is not None:
        raise ConfigError("--gt-boxes and --detections exclude each other")
    if report_out is not None and dataset != "posetrack":
        raise ConfigError("--report: the evaluation page shows PoseTrack 2017/2018 mAP and MOTA; "
                          "for PoseTrack21 use --json")
    for out in (json_out, report_out):
        if out is not None:
            refuse_existing(out, overwrite)
    find_sequences(root, split, dataset)  # fail on a bad dataset before loading any model
    config = load_cli_config(config_name, sets, device=device, weights=weights)
    warn_if_random_weights(config)
    if out_dir is None:
        out_dir = Path(f"{dataset}-{split}-{Path(config_name).stem}")
    boxes = "gt" if gt_boxes else "file" if detections_dir is not None else "model"

    def make_pipeline(detector):
        return Pipeline.from_config(config, detector=detector)

    summary = run_benchmark(
        root, split, make_pipeline, out_dir, boxes=boxes, detections_dir=detections_dir,
        kpt_threshold=DEFAULT_KPT_THRESHOLD if kpt_threshold is None else kpt_threshold,
        progress=not quiet, dataset=dataset, per_sequence=report_out is not None,
        distribute=_distributor(config, root, split, cluster, quiet) if cluster.enabled else None,
    )  # fmt: skip
    click.echo(f"predictions in {summary.out_dir} ({len(summary.predicted)} run, {len(summary.resumed)} resumed)",
               err=True)  # fmt: skip
    if dataset == "posetrack21":
        from posetrack.cli.eval_posetrack21 import print_pt21_tables

        print_pt21_tables(summary.result)
    else:
        print_tables(summary.result)
    if json_out is not None:
        write_metrics(summary.result, json_out, overwrite)
    if report_out is not None:
        write_report(summary.result, report_out, f"posetrack benchmark: {split} split, {Path(config_name).stem}")


def _distributor(config, root: Path, split: str, cluster, quiet: bool):
    """Predict the sequences on Ray workers; evaluation waits until every prediction exists."""

    def distribute(todo, settings) -> None:
        from posetrack.cli.cluster_options import report_distributed
        from posetrack.distributed import predict_sequences
        from posetrack.distributed.progress import ProgressBar

        bar = ProgressBar(unit="sequence", enabled=not quiet)
        try:
            report = predict_sequences(todo, config, root / "images" / split, settings, on_progress=bar,
                                       **cluster.kwargs())  # fmt: skip
        finally:
            bar.close()
        report_distributed(report, lambda line: click.echo(line, err=True))

    return distribute
