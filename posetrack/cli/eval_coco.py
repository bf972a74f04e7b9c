"""``posetrack eval coco``: COCO keypoint AP/AR of a top-down model, like the official test script."""

from __future__ import annotations

import json
from pathlib import Path

import click

from posetrack.cli.main import eval_group
from posetrack.cli.options import parse_overrides, setup_logging
from posetrack.errors import ConfigError, InputError, OutputError


@eval_group.command("coco")
@click.option("--images", "images_dir", required=True, type=click.Path(path_type=Path),
              help="Folder holding the images named by the annotation file's file_name.")
@click.option("--annotations", required=True, type=click.Path(path_type=Path),
              help="COCO person_keypoints_*.json (ground truth).")
@click.option("--detections", type=click.Path(path_type=Path), default=None,
              help="COCO detection results JSON (image_id, bbox xywh, score, category_id).")
@click.option("--gt-boxes", is_flag=True, help="Use the ground-truth person boxes instead of detections.")
@click.option("-c", "--config", "config_name", default="default", show_default=True,
              help="Preset name or YAML file; its pose section picks the model and settings.")
@click.option("--weights", default=None, help="Pose weights: a file, a zoo name, or 'zoo' (config: pose.weights).")
@click.option("--device", default=None, help="auto, cpu, cuda or cuda:N (config: device).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the keypoint results JSON here.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config value (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def eval_coco(images_dir, annotations, detections, gt_boxes, config_name, weights, device, out, sets,
              quiet, verbose) -> None:
    """Top-down inference on COCO-format data with given person boxes; prints keypoint AP/AR."""
    from posetrack.config import load_config
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

    setup_logging(verbose)
    if (detections is None) == (not gt_boxes):
        raise ConfigError("give exactly one of --detections FILE or --gt-boxes")
    if not images_dir.is_dir():
        raise InputError(f"image folder not found: {images_dir}")
    if out is not None and out.parent and not out.parent.is_dir():
        raise OutputError(f"cannot write {out}: folder {out.parent} does not exist")
    config = load_config(config_name, {"device": device, "pose.weights": weights, **parse_overrides(sets)})
    spec = model_spec(config.pose.model)
    if spec.kind != "topdown":
        raise ConfigError(f"pose.model '{config.pose.model}' is {spec.kind}; eval coco runs top-down models")
    if spec.layout != "coco17":
        raise ConfigError(f"pose.model '{config.pose.model}' predicts {spec.layout}, not COCO-17 keypoints")
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
        try:
            out.write_text(json.dumps(results))
        except OSError as e:
            raise OutputError(f"cannot write {out}: {e}") from None
    stats = evaluate_coco_keypoints(coco, results)
    click.echo(format_stats(stats, config.pose.model))
