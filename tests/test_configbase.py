"""posetrack.configbase: non-finite numbers are rejected wherever a float is expected."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from posetrack.configbase import bounded, from_dict
from posetrack.errors import ConfigError


@dataclass
class _Cfg:
    x: float = bounded(0.5, 0.0, 1.0)
    unbounded: float = 1.0
    maybe: float | None = None
    many: list[float] = field(default_factory=list)


@pytest.mark.parametrize("data, key", [
    ({"x": float("nan")}, "x"),  # NaN passes every lo/hi comparison
    ({"unbounded": float("inf")}, "unbounded"),
    ({"unbounded": float("-inf")}, "unbounded"),
    ({"maybe": float("nan")}, "maybe"),
    ({"many": [1.0, float("nan")]}, "many[1]"),
])  # fmt: skip
def test_non_finite_numbers_are_rejected(data, key):
    with pytest.raises(ConfigError, match=re.escape(f"'{key}'") + ".*finite"):
        from_dict(_Cfg, data, "test.yaml")


def test_finite_numbers_pass():
    cfg = from_dict(_Cfg, {"x": 1, "unbounded": -1e300, "maybe": 0.0, "many": [2, 3.5]})
    assert cfg.x == 1.0 and isinstance(cfg.x, float) and cfg.many == [2.0, 3.5]
