"""``posetrack eval coco``: COCO keypoint AP/AR of a top-down model, like the official test script."""

from __future__ import annotations

from pathlib import Path

import click

from posetrack.atomic import refuse_existing, write_json
from posetrack.cli.main import eval_group
from posetrack.cli.options import load_cli_config, setup_logging, shared_options, warn_if_random_weights
from posetrack.errors import ConfigError, InputError, OutputError


@eval_group.command("coco")
@click.option("--images", "images_dir", required=True, type=click.Path(path_type=Path),
              help="Folder holding the images named by the annotation file's file_name.")
@click.option("--annotations", required=True, type=click.Path(path_type=Path),
              help="COCO person_keypoints_*.json (ground truth).")
@click.option("--detections", type=click.Path(path_type=Path), default=None,
              help="COCO detection results JSON (image_id, bbox xywh, score, category_id).")
@click.option("--gt-boxes", is_flag=True, help="Use the ground-truth person boxes instead of detections.")
@shared_options("config", "weights", "device")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the keypoint results JSON here.")
@shared_options("set", "overwrite", "quiet", "verbose")
def eval_coco(images_dir, annotations, detections, gt_boxes, config_name, weights, device, out, sets,
              overwrite, quiet, verbose) -> None:
    """Top-down inference on COCO-format data with given person boxes; prints keypoint AP/AR.

    Device and weights come from the config as for `posetrack run` (zoo weights by default)."""
    from posetrack.devices import resolve_device
    from posetrack.evaluation.coco import (
        detection_boxes,
        evaluate_coco_keypoints,
        format_stats,
        ground_truth_boxes,
        load_coco,
        topdown_coco_results,
    )
    from posetrack.pose.models import model_spec

    setup_logging(verbose, quiet)
    if (detections is None) == (not gt_boxes):
        raise ConfigError("give exactly one of --detections FILE or --gt-boxes")
    if not images_dir.is_dir():
        raise InputError(f"image folder not found: {images_dir}")
    if out is not None and out.parent and not out.parent.is_dir():
        raise OutputError(f"cannot write {out}: folder {out.parent} does not exist")
    if out is not None:
        refuse_existing(out, overwrite)
    config = load_cli_config(config_name, sets, device=device, weights=weights)
    spec = model_spec(config.pose.model)
    if spec.kind != "topdown":
        raise ConfigError(f"pose.model '{config.pose.model}' is {spec.kind}; eval coco runs top-down models")
    if spec.layout != "coco17":
        raise ConfigError(f"pose.model '{config.pose.model}' predicts {spec.layout}, not COCO-17 keypoints")
    warn_if_random_weights(config)
    coco = load_coco(annotations)
    boxes = ground_truth_boxes(coco) if gt_boxes else detection_boxes(detections)

    from posetrack.pose.factory import build_pose_estimator

    estimator = build_pose_estimator(config.pose, resolve_device(config.device))
    progress = None
    if not quiet:
        from tqdm import tqdm

        progress = lambda ids: tqdm(ids, desc="images", unit="img")  # noqa: E731
    results = topdown_coco_results(estimator, coco, images_dir, boxes, progress)
    if out is not None:
        write_json(out, results, overwrite=overwrite, indent=None)
    stats = evaluate_coco_keypoints(coco, results)
    click.echo(format_stats(stats, config.pose.model))
