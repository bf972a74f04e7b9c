"""One progress bar over every video of a distributed run."""

from __future__ import annotations

import sys

from tqdm import tqdm

from posetrack.distributed.scheduler import Progress


class ProgressBar:
    """videos finished / to do, with frames/s over the whole cluster and running/failed counts.

    Used as the ``on_progress`` callback of :func:`posetrack.distributed.run_many`.
    """

    def __init__(self, unit: str = "video", enabled: bool = True) -> None:
        self.unit = unit
        self.enabled = enabled
        self.bar: tqdm | None = None
        self.shown = ""

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = tqdm(total=p.total, unit=self.unit, desc=f"{self.unit}s", file=sys.stderr,
                            dynamic_ncols=True, mininterval=1.0)  # fmt: skip
        text = f"{p.fps:.1f} frames/s, {p.running} running, {p.failed} failed"
        if (p.done + p.failed, text) != (self.bar.n, self.shown):
            self.bar.n, self.shown = p.done + p.failed, text
            self.bar.set_postfix_str(text)  # refreshes, at most every mininterval

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
