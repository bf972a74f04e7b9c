"""``posetrack benchmark posetrack``: predict a PoseTrack-layout dataset, then evaluate it."""

from __future__ import annotations

from pathlib import Path

import click

from posetrack.cli.cluster_options import cluster_options
from posetrack.cli.main import _Group, cli
from posetrack.cli.options import parse_overrides, setup_logging
from posetrack.errors import ConfigError


@cli.group(name="benchmark", cls=_Group)
def benchmark_group() -> None:
    """Run a model over a dataset and score it."""


@benchmark_group.command("posetrack")
@click.option("--root", required=True, type=click.Path(path_type=Path),
              help="Dataset root holding images/<split>/<seq>/*.jpg and annotations/<split>/<seq>.json.")
@click.option("--split", default="val", show_default=True, help="Dataset split folder name.")
@click.option("-c", "--config", "config_name", default="default", show_default=True,
              help="Preset name (see `posetrack config list`) or a YAML file.")
@click.option("--weights", default=None, help="Pose weights: a file, a zoo name, or 'zoo' (config: pose.weights).")
@click.option("--gt-boxes", is_flag=True, help="Use the ground-truth person boxes instead of a detector.")
@click.option("--detections", "detections_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of public detection files, one <seq>.json per sequence, instead of a detector.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the prediction files (default: posetrack-<split>-<config>); reruns resume.")
@click.option("--kpt-threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Joints scoring below this are not written (default 0.4).")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Also write the metrics to this JSON file.")
@click.option("--device", default=None, help="auto, cpu, cuda or cuda:N (config: device).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config value (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@cluster_options
def benchmark_posetrack(root, split, config_name, weights, gt_boxes, detections_dir, out_dir, kpt_threshold,
                        json_out, device, sets, quiet, verbose, cluster) -> None:
    """Predict every sequence of a PoseTrack dataset split, then print mAP and MOTA."""
    from posetrack.cli.eval_posetrack import print_tables, write_json
    from posetrack.config import load_config
    from posetrack.evaluation.benchmark import DEFAULT_KPT_THRESHOLD, find_sequences, run_benchmark
    from posetrack.pipeline import Pipeline

    setup_logging(verbose)
    if cluster.enabled:
        from posetrack.distributed.cluster import require_ray

        require_ray()
    if gt_boxes and detections_dir is not None:
        raise ConfigError("--gt-boxes and --detections exclude each other")
    find_sequences(root, split)  # fail on a bad dataset before loading any model
    flags = {"device": device, "pose.weights": weights}
    overrides = {**{k: v for k, v in flags.items() if v is not None}, **parse_overrides(sets)}  # unset flags keep the config
    config = load_config(config_name, overrides)
    if out_dir is None:
        out_dir = Path(f"posetrack-{split}-{Path(config_name).stem}")
    boxes = "gt" if gt_boxes else "file" if detections_dir is not None else "model"

    def make_pipeline(detector):
        return Pipeline.from_config(config, detector=detector)

    summary = run_benchmark(
        root, split, make_pipeline, out_dir, boxes=boxes, detections_dir=detections_dir,
        kpt_threshold=DEFAULT_KPT_THRESHOLD if kpt_threshold is None else kpt_threshold,
        progress=not quiet, distribute=_distributor(config, root, split, cluster, quiet) if cluster.enabled else None,
    )  # fmt: skip
    click.echo(f"predictions in {summary.out_dir} ({len(summary.predicted)} run, {len(summary.resumed)} resumed)",
               err=True)  # fmt: skip
    print_tables(summary.result)
    if json_out is not None:
        write_json(summary.result, json_out)


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
