"""Optical flow between consecutive frames, computed ahead on a pool of worker threads.

Flow does not depend on tracking, so the frame loop submits every consecutive pair of a window at
once and collects the fields in order when the tracker needs them. Threads suffice: OpenCV and
torch release the GIL while they compute. The estimator must be safe to call from several threads
(OpenCVFlow keeps one DIS instance per thread; RaftFlow's model calls take turns, since
torchvision's RAFT keeps per-call state on the module).
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import numpy as np

from posetrack.flow.base import FlowEstimator


class FlowPool:
    """``submit(previous, current)`` → a Future of the flow field; use as a context manager."""

    def __init__(self, estimator: FlowEstimator, workers: int = 1,
                 on_time: Callable[[float], None] | None = None) -> None:
        self.estimator = estimator
        self.on_time = on_time
        self._pool = ThreadPoolExecutor(max_workers=max(1, int(workers)), thread_name_prefix="posetrack-flow")

    def _timed(self, previous, current) -> np.ndarray:
        t0 = time.perf_counter()
        flow = self.estimator(previous, current)
        if self.on_time is not None:
            self.on_time(time.perf_counter() - t0)
        return flow

    def submit(self, previous, current) -> Future:
        return self._pool.submit(self._timed, previous, current)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> FlowPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
