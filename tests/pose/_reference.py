"""The official state_dict layouts (compact copy of shared/reference/checkpoints, see data/)."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

from torch import nn

DATA = Path(__file__).parent / "data" / "official_layouts.json.gz"

# reference config -> (our model name, arch kwargs)
CONFIG_MODELS = {
    "hrnet_w32_256x192": "hrnet-w32-256x192",
    "hrnet_w32_384x288": "hrnet-w32-384x288",
    "hrnet_w48_256x192": "hrnet-w48-256x192",
    "hrnet_w48_384x288": "hrnet-w48-384x288",
    "higherhrnet_w32_512": "higherhrnet-w32-512",
    "higherhrnet_w32_640": "higherhrnet-w32-640",
    "higherhrnet_w48_640": "higherhrnet-w48-640",
}


@functools.cache
def reference() -> dict:
    with gzip.open(DATA, "rt") as fh:
        return json.load(fh)


@functools.cache
def meta_model(name: str) -> nn.Module:
    """A registered network on the meta device: full-size layouts without allocating weights (cached, read-only)."""
    from posetrack.pose import build_model

    return build_model(name, device="meta")
