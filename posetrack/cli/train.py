"""``posetrack train topdown|bottomup``: train or fine-tune a pose network (official recipes)."""

from __future__ import annotations

from pathlib import Path

import click

from posetrack.cli.main import Interrupted, cli
from posetrack.cli.options import parse_overrides, setup_logging, shared_options
from posetrack.errors import UserError


@cli.command("train")
@click.argument("kind", type=click.Choice(["topdown", "bottomup"]))
@click.option("-c", "--config", "config_name", required=True,
              help="Training preset in configs/train/ (e.g. hrnet-w32-coco) or a YAML file.")
@click.option("--data", "data_root", required=True, type=click.Path(path_type=Path),
              help="Dataset root (COCO: annotations/ + <split>/ or images/<split>/; PoseTrack: annotations/<split>/).")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Output folder: last.pth, best.pth, train_state.pth, log.jsonl.")
@click.option("--resume", is_flag=True, help="Continue the training in OUT exactly where it stopped.")
@click.option("--from", "init", default=None, metavar="WEIGHTS|none",
              help="Starting weights (file, 'zoo' or a zoo name; strict); 'none' trains from scratch.")
@shared_options("device", "set", "quiet", "verbose")
def train_cmd(kind, config_name, data_root, out_dir, resume, init, device, sets, quiet, verbose) -> None:
    """Train a KIND (topdown or bottomup) network; run under torchrun for several GPUs."""
    from posetrack.train.config import load_train_config
    from posetrack.train.engine import train

    setup_logging(verbose, quiet)
    overrides = parse_overrides(sets)
    if device is not None:
        overrides["device"] = device
    if quiet:
        overrides["train.progress"] = False
    config = load_train_config(config_name, overrides)
    if config.kind != kind:
        from posetrack.errors import ConfigError

        raise ConfigError(f"{config_name} is a {config.kind} config, not {kind}")
    try:  # SIGINT, SIGTERM, SIGHUP (a killed job, torchrun stopping) end the same way
        result = train(config, data_root, out_dir, resume=resume, init=init)
    except (KeyboardInterrupt, Interrupted):
        raise UserError(f"training interrupted; the last finished epoch is saved in {out_dir}, "
                        "continue with --resume") from None
    last = result.epochs[-1] if result.epochs else None
    if last is not None:
        best = f", best {result.best:.4f}" if result.best is not None else ""
        click.echo(f"trained to epoch {last.epoch}: loss {last.loss:.4e}{best}; weights in {out_dir}", err=True)
