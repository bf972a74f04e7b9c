"""The ``posetrack`` command: a click group whose subcommands live in sibling modules."""

from __future__ import annotations

import sys

import click

from posetrack import __version__
from posetrack.errors import UserError


class _Group(click.Group):
    """Turns a UserError into one line on stderr and exit code 2 (no traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(f"posetrack: error: {e}", err=True)
            sys.exit(e.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="posetrack")
def cli() -> None:
    """Multi-person pose tracking in video: detect, estimate poses, track, evaluate."""


@cli.group(name="eval", cls=_Group)
def eval_group() -> None:
    """Evaluate predictions: PoseTrack mAP/MOTA, PoseTrack21 HOTA/mAP, COCO keypoint AP."""


def main() -> None:
    # Subcommand modules register themselves on import.
    from posetrack.cli import commands  # noqa: F401

    cli(prog_name="posetrack")
