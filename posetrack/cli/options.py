"""Option parsing shared by commands: ``--set key=value`` overrides and logging set-up."""

from __future__ import annotations

import logging
import sys
from typing import Any, Iterable

from posetrack.errors import ConfigError


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``["pose.flip_test=false", "tracker.memory=3"]`` → dotted overrides with YAML-typed values."""
    import yaml  # only when there are overrides: keeps light commands fast to start

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


def setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("posetrack: %(levelname)s: %(message)s"))
    logger = logging.getLogger("posetrack")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
