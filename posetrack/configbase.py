"""Typed config dataclasses built from plain dicts (YAML), with errors that name key and file.

Stage configs are ordinary dataclasses. Field types are checked (``int``, ``float``, ``bool``,
``str``, ``Literal[...]``, ``X | None``, ``list[X]``, nested dataclasses) and numeric bounds can be
attached with :func:`bounded`. Numbers must be finite: YAML's ``.nan`` and ``.inf`` are rejected
everywhere (NaN passes every ``<``/``>`` bound check, so without this it would slip through). A
dataclass may also define ``check()`` for rules that involve
several fields; it raises ``ValueError("field: message")``.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from posetrack.errors import ConfigError


def bounded(default: Any, lo: float | None = None, hi: float | None = None, **kw: Any) -> Any:
    """A dataclass field whose numeric value must lie in [lo, hi]."""
    return dataclasses.field(default=default, metadata={"lo": lo, "hi": hi}, **kw)


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    return getattr(tp, "__name__", str(tp)).replace("typing.", "")


def _convert(value: Any, tp: Any, where: str, source: str) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(value, option, where, source)
            except ConfigError as e:
                errors.append(e)
        raise errors[0]
    if origin is Literal:
        if value not in get_args(tp):
            raise ConfigError(f"{source}: invalid value {value!r} for '{where}': expected {_type_name(tp)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: invalid value {value!r} for '{where}': expected a list")
        (item_tp, *_) = get_args(tp) or (Any,)
        items = [_convert(v, item_tp, f"{where}[{i}]", source) for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, source, where)
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: invalid value {value!r} for '{where}': expected true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: invalid value {value!r} for '{where}': expected an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: invalid value {value!r} for '{where}': expected a number")
        if not math.isfinite(value):
            raise ConfigError(f"{source}: invalid value {value!r} for '{where}': must be a finite number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: invalid value {value!r} for '{where}': expected a string")
        return value
    raise TypeError(f"unsupported config type {tp!r} at {where}")


def from_dict(cls: type, data: Any, source: str = "<config>", prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping; unknown keys and bad values raise ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: '{prefix or 'config'}' must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        raise ConfigError(f"{source}: unknown config key '{key}'")
    kwargs = {}
    for name, value in data.items():
        where = f"{prefix}.{name}" if prefix else name
        converted = _convert(value, hints[name], where, source)
        lo, hi = fields[name].metadata.get("lo"), fields[name].metadata.get("hi")
        if isinstance(converted, (int, float)) and not isinstance(converted, bool):
            if (lo is not None and converted < lo) or (hi is not None and converted > hi):
                rng = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
                raise ConfigError(f"{source}: invalid value {value!r} for '{where}': must be in {rng}")
        kwargs[name] = converted
    obj = cls(**kwargs)
    check = getattr(obj, "check", None)
    if check is not None:
        try:
            check()
        except ValueError as e:
            field, _, msg = str(e).partition(": ")
            where = f"{prefix}.{field}" if prefix else field
            raise ConfigError(f"{source}: invalid value for '{where}': {msg}") from None
    return obj


def to_dict(obj: Any) -> Any:
    """A dataclass as plain data (for printing, YAML and JSON)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


def merge(base: dict, update: dict) -> dict:
    """Deep-merge ``update`` into a copy of ``base`` (mappings merge, everything else replaces)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
