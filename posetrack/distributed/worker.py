"""The Ray actor: builds its job's pipeline once, then runs item after item.

Run as a threaded actor with two slots, so the driver can ask for the frame count of the item in
progress while it runs. Every outcome of an item is a return value (done, failed for a reason the
user caused, error for anything else); only a dead process reaches the driver as an exception.
"""

from __future__ import annotations

import logging
import os
import time


class _Collect(logging.Handler):
    """Keeps the posetrack warnings of one item, to be returned with its result."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


class Worker:
    def __init__(self, job, threads: int) -> None:
        self.job = job
        self.threads = threads
        self.state = None
        self.frames = 0

    def _device(self) -> str | None:
        """The GPU Ray assigned (it sets CUDA_VISIBLE_DEVICES), else the CPU for ``auto``."""
        import ray

        wanted = self.job.config.device
        if ray.get_gpu_ids():
            return "cuda" if wanted != "cpu" else "cpu"
        return "cpu" if wanted == "auto" else None

    def ready(self) -> dict:
        """Build the pipeline; where this worker runs, or the one-line reason it cannot."""
        import ray
        import torch

        from posetrack.errors import UserError

        torch.set_num_threads(max(1, self.threads))
        info = {"pid": os.getpid(), "node_id": ray.get_runtime_context().get_node_id(), "error": None}
        try:
            self.state = self.job.build(self._device())
        except UserError as e:
            info["error"] = str(e)
        return info

    def frames_done(self) -> int:
        return self.frames

    def _frame(self) -> None:
        self.frames += 1

    def run(self, item: str) -> dict:
        from posetrack.errors import UserError

        self.frames = 0
        collect = _Collect()
        logger = logging.getLogger("posetrack")
        logger.addHandler(collect)
        start = time.perf_counter()
        result: dict = {"status": "done", "error": None}
        try:
            result.update(self.job.run(self.state, item, self._frame))
        except UserError as e:
            result.update(status="failed", error=str(e))
        except Exception as e:  # noqa: BLE001  (a bug: reported for this item, the worker carries on)
            result.update(status="error", error=f"{type(e).__name__}: {e}".splitlines()[0])
        finally:
            logger.removeHandler(collect)
        result.setdefault("frames", self.frames)
        result.setdefault("seconds", time.perf_counter() - start)
        result["warnings"] = collect.lines
        return result
