"""What every command shares: the common click options, and one way to turn them into a config.

A command picks the options it needs with :func:`shared_options` (``-c/--config``, ``--set``,
``--device``, ``--weights``, ``-q``, ``-v``, ``--overwrite``) and builds its config with
:func:`load_cli_config`. A flag that was not given never overrides the config (its absent value
``None`` is dropped), and ``--set`` is applied last, so ``--set pose.weights=null`` is the one way to
ask for random weights.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

import click

from posetrack.errors import ConfigError

_OPTIONS: dict[str, Callable] = {
    "config": click.option(
        "-c", "--config", "config_name", default="default", show_default=True,
        help="Preset name (see `posetrack config list`) or a YAML file.",
    ),
    "set": click.option(
        "--set", "sets", multiple=True, metavar="KEY=VALUE",
        help="Override any config value, e.g. --set tracker.memory=3 (repeatable).",
    ),
    "device": click.option("--device", default=None, help="auto, cpu, cuda or cuda:N (config: device)."),
    "weights": click.option(
        "--weights", default=None, help="Pose weights: a file, a zoo name, or 'zoo' (config: pose.weights)."
    ),
    "overwrite": click.option("--overwrite", is_flag=True, help="Replace existing output files."),
    "quiet": click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
    "verbose": click.option("-v", "--verbose", is_flag=True, help="Debug logging."),
}  # fmt: skip


def shared_options(*names: str) -> Callable:
    """Decorator adding the named shared options (keys of ``_OPTIONS``), in that order in --help."""
    unknown = [n for n in names if n not in _OPTIONS]
    if unknown:
        raise ValueError(f"unknown shared option(s): {', '.join(unknown)}")

    def decorate(f: Callable) -> Callable:
        for name in reversed(names):
            f = _OPTIONS[name](f)
        return f

    return decorate


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``["pose.flip_test=false", "tracker.memory=3"]`` → dotted overrides with YAML-typed values."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set '{item}': expected KEY=VALUE, e.g. pose.flip_test=false")
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


def config_overrides(
    sets: Iterable[str] = (), *, device: str | None = None, weights: str | None = None, **flags: Any
) -> dict[str, Any]:
    """Dotted config overrides from a command's options: ``device`` → ``device``, ``weights`` →
    ``pose.weights``, other ``flags`` given by their dotted key (``**{"video.start": 1.0}``).
    Flags left at None (not given) are dropped; ``--set`` items come last and win."""
    given = {"device": device, "pose.weights": weights, **flags}
    overrides = {k: v for k, v in given.items() if v is not None}
    overrides.update(parse_overrides(sets))
    return overrides


def load_cli_config(config_name: str, sets: Iterable[str] = (), **flags: Any):
    """The validated PipelineConfig for a command: the preset or file, then :func:`config_overrides`."""
    from posetrack.config import load_config

    return load_config(config_name, config_overrides(sets, **flags))


def warn_if_random_weights(config, what: str = "evaluating") -> None:
    """One warning when the pose weights are null: the user asked for random weights explicitly."""
    if config.pose.weights is None:
        logging.getLogger("posetrack").warning(
            "pose.weights is null: %s a randomly initialised %s; the scores mean nothing",
            what, config.pose.model,
        )


def setup_logging(verbose: bool, quiet: bool = False) -> None:
    """Messages as ``posetrack: LEVEL: ...`` on stderr; ``-q`` keeps warnings only (and with the
    logger above INFO, download progress bars are off too), ``-v`` adds debug messages."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("posetrack: %(levelname)s: %(message)s"))
    logger = logging.getLogger("posetrack")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
