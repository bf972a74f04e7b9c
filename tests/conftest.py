"""Test-wide settings: one torch thread per xdist worker so workers do not fight over cores."""

from __future__ import annotations

import os

import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
