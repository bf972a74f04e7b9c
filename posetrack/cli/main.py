"""The ``posetrack`` command: a click group whose subcommands live in sibling modules."""

from __future__ import annotations

import sys

import click

from posetrack.errors import UserError


class _Group(click.Group):
    """Turns a UserError into one line on stderr and exit code 2 (no traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(f"posetrack: error: {e}", err=True)
            sys.exit(e.exit_code)


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        # looked up only for --version: importlib.metadata is slow to import
        from posetrack import __version__

        click.echo(f"posetrack, version {__version__}")
        ctx.exit()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and exit.")
def cli() -> None:
    """Multi-person pose tracking in video: detect, estimate poses, track, evaluate."""


@cli.group(name="eval", cls=_Group)
def eval_group() -> None:
    """Evaluate predictions: PoseTrack mAP/MOTA, PoseTrack21 HOTA/mAP, COCO keypoint AP."""


def main() -> None:
    # Subcommand modules register themselves on import.
    from posetrack.cli import commands  # noqa: F401

    cli(prog_name="posetrack")
