"""``posetrack config``: list the presets and print a resolved config."""

from __future__ import annotations

import click

from posetrack.cli.main import _Group, cli
from posetrack.cli.options import load_cli_config, shared_options


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
@click.argument("name", required=False)
@shared_options("config", "set", "device", "weights")
def show(name: str | None, config_name: str, sets: tuple[str, ...], device: str | None, weights: str | None) -> None:
    """Print the resolved config NAME (a preset or a YAML file; or -c NAME) with every default filled
    in and every value validated: what `posetrack run` with the same options would use."""
    from posetrack.config import dump_config

    config = load_cli_config(name or config_name, sets, device=device, weights=weights)
    click.echo(dump_config(config), nl=False)
