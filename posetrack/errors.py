"""Errors a user can cause.

Everything a user can get wrong (paths, formats, config values, checkpoints, downloads) raises a
:class:`UserError` subclass whose message names the offending thing. The CLI prints the message as
one line and exits with code 2; library users can catch :class:`UserError`.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user gave us, not a bug in posetrack."""

    exit_code = 2


class InputError(UserError):
    """A missing, unreadable, empty or undecodable input file or folder."""


class OutputError(UserError):
    """An output that cannot be written, or would overwrite an existing file."""


class ConfigError(UserError):
    """An unknown config key or an invalid config value."""


class CheckpointError(UserError):
    """A checkpoint that does not match the model (missing/unexpected keys, shape mismatch)."""


class DownloadError(UserError):
    """Weights that could not be downloaded or failed their checksum."""


class FormatError(UserError):
    """A data file (poses, annotations, detections) whose content is malformed."""
