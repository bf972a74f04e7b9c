"""Imports every subcommand module so each registers its commands on the group."""

from posetrack.cli import (  # noqa: F401  (imported for their registration side effect)
    benchmark,
    config_cmd,
    eval_coco,
    eval_posetrack,
    eval_posetrack21,
    report,
    run,
    track,
    train,
    weights,
)
