"""Shared fixtures for the evaluation tests."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture
def caplog(caplog):
    """caplog that also sees the 'posetrack' logger when a CLI test has stopped its propagation."""
    logger = logging.getLogger("posetrack")
    logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
