"""keep_freed_memory: large per-frame blocks are reused instead of faulting in fresh pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import resource, sys
import numpy as np
from posetrack.cpu_memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):  # warm up: the heap grows once
    np.ones(40 << 18, np.float32)
before = faults()
for _ in range(20):  # a 40 MiB block allocated, written and freed, as a frame's maps are
    np.ones(40 << 18, np.float32)
print(faults() - before)
"""


def _faults(mode: str, env: dict | None = None) -> int:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True, env=env)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")
def test_freed_blocks_are_reused_without_page_faults():
    default, kept = _faults("default"), _faults("keep")
    assert default >= 20  # glibc hands each block back and maps fresh pages (huge pages or not) the next time
    assert kept * 10 < default  # kept: the same pages serve every frame


def test_the_environment_switch_leaves_malloc_alone(monkeypatch):
    from posetrack import cpu_memory

    monkeypatch.setenv("POSETRACK_KEEP_FREED_MEMORY", "0")
    monkeypatch.setattr(cpu_memory, "_done", False)
    assert cpu_memory.keep_freed_memory() is False
