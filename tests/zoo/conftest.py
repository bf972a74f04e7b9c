"""Fixtures: the local HTTP server and caches redirected into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from .httpserver import FileServer


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    srv = FileServer()
    yield srv
    srv.close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """POSETRACK_HOME and TORCH_HOME inside tmp_path, so nothing touches the real caches."""
    home = tmp_path / "posetrack-home"
    monkeypatch.setenv("POSETRACK_HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return home
