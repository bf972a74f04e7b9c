"""Imports every subcommand module so each registers its commands on the group."""

from posetrack.cli import config_cmd, run  # noqa: F401
from posetrack.cli import weights  # noqa: F401
from posetrack.cli import eval_coco  # noqa: F401
from posetrack.cli import track  # noqa: F401
from posetrack.cli import eval_posetrack  # noqa: F401
from posetrack.cli import benchmark  # noqa: F401
from posetrack.cli import report  # noqa: F401
