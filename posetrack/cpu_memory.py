"""Keeping freed memory in the process, so that per-frame tensors do not fault in fresh pages.

glibc's malloc serves large blocks (above a threshold that adapts up to 32 MiB) with mmap and
hands them back on free, and trims the heap's free top back to the system. A frame's maps and
buffers are many such blocks, allocated and freed every frame: each time the kernel maps and
zeroes fresh pages (for a 512x512 bottom-up frame ~8,000 page faults, 10-15% of CPU
post-processing). PyTorch's CPU performance guide suggests another allocator (jemalloc,
tcmalloc) through LD_PRELOAD for the same reason; raising glibc's thresholds from inside the
process gets the same reuse without one. The cost: the process keeps its peak heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1  # mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 256 << 20  # blocks up to this come from the heap and are reused
_TRIM_THRESHOLD = 512 << 20  # free heap top kept up to this

_done = False


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process (Linux only); True if set.

    ``POSETRACK_KEEP_FREED_MEMORY=0`` leaves malloc as it is.
    """
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("POSETRACK_KEEP_FREED_MEMORY", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    _done = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    return _done
