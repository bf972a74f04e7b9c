"""Imports every subcommand module so each registers its commands on the group."""

from posetrack.cli import config_cmd, run  # noqa: F401
