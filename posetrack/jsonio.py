"""Reading a user's JSON file with errors that name it (annotations, detections, poses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from posetrack.errors import FormatError, InputError


def read_json(path: str | Path, what: str = "file") -> Any:
    """The parsed content of ``path``; InputError when it is missing or unreadable, FormatError
    when it is not JSON. ``what`` names the file's role in the message ("detections file").

    orjson parses (about 3x faster than the standard library, the same values); what it refuses
    (NaN, integers past 64 bits, a file it cannot read) goes through the standard reader, which
    accepts those and words every error."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: {what} not found")
    try:
        import orjson

        with open(p, "rb") as fh:
            return orjson.loads(fh.read())
    except (ImportError, OSError, ValueError):  # orjson.JSONDecodeError is a ValueError
        pass
    try:
        with open(p, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as e:
        raise FormatError(f"{p}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: {what} cannot be read ({e})") from None
