"""``posetrack config``: list the presets and print a resolved config."""

from __future__ import annotations

import click

from posetrack.cli.main import _Group, cli
from posetrack.cli.options import parse_overrides


@cli.group(name="config", cls=_Group)
def config_group() -> None:
    """Inspect configuration presets."""


@config_group.command(name="list")
def list_presets() -> None:
    """Names of the presets in configs/."""
    from posetrack.config import preset_names

    for name in preset_names():
        click.echo(name)


@config_group.command(name="show")
@click.argument("name", default="default")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a value.")
def show(name: str, sets: tuple[str, ...]) -> None:
    """Print the resolved config NAME (a preset or a YAML file) with every default filled in."""
    from posetrack.config import dump_config, load_config

    click.echo(dump_config(load_config(name, parse_overrides(sets))), nl=False)
