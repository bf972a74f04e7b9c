"""Many videos on many devices and machines, on a Ray cluster.

A pool of Ray actors ("workers") each builds its pipeline once and then takes video after video
from the driver, so models load once per worker. A worker that dies costs only the video it was
on: the driver cleans up that video's partial files and hands it to another worker. Videos whose
outputs are complete are skipped, so re-running a command resumes it.

Ray is optional (``pip install "posetrack[ray]"``); nothing here imports it until a run starts.

Entry points: :func:`run_many` (videos → result files, like ``posetrack run --workers N``) and
:func:`predict_sequences` (the benchmark runner's predictions, used by ``posetrack benchmark``).
"""

from __future__ import annotations

from posetrack.distributed.api import RunReport, predict_sequences, run_many
from posetrack.distributed.scheduler import ItemResult

__all__ = ["ItemResult", "RunReport", "predict_sequences", "run_many"]
