"""What a worker does with one item: a video for ``run``, a sequence for ``benchmark``.

A job is picklable (it travels to every worker). ``build`` runs once per worker and returns its
state (the pipeline); ``run`` handles one item; ``outputs`` names the files an item produces, so
the driver can tell complete items from new ones and clean up after a worker that died.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from posetrack.atomic import temp_files_of


class Job(Protocol):
    def build(self, device: str | None) -> object: ...

    def run(self, state: object, item: str, on_frame: Callable[[], None]) -> dict: ...

    def outputs(self, item: str) -> list[Path]: ...


def clean_partial(paths: list[Path]) -> None:
    """Remove outputs and leftover temp files of an attempt that did not finish."""
    for path in paths:
        for tmp in temp_files_of(path):
            tmp.unlink(missing_ok=True)
        path.unlink(missing_ok=True)


@dataclass
class VideoJob:
    """``posetrack run`` for one video: the configured result files in ``out_dir``."""

    config: object  # PipelineConfig
    out_dir: Path
    overwrite: bool = False

    def build(self, device: str | None) -> object:
        from posetrack.pipeline import Pipeline

        return Pipeline.from_config(self.config, device)

    def run(self, state, item: str, on_frame: Callable[[], None]) -> dict:
        from posetrack.runner import process_video

        s = process_video(
            state, item, self.out_dir, overwrite=self.overwrite, progress=False, on_frame=on_frame
        )
        return {"frames": s.frames, "people": s.people, "tracks": s.tracks, "seconds": s.seconds,
                "outputs": [str(p) for p in s.outputs.values()]}  # fmt: skip

    def outputs(self, item: str) -> list[Path]:
        from posetrack.outputs import output_paths
        from posetrack.runner import output_stem

        cfg = self.config.output
        return list(output_paths(Path(self.out_dir), output_stem(Path(item)), cfg.formats, cfg.render, cfg.report).values())


@dataclass
class SequenceJob:
    """``posetrack benchmark posetrack`` for one sequence (item: its annotation file)."""

    config: object  # PipelineConfig
    image_root: Path  # ROOT/images/<split>
    settings: object  # posetrack.evaluation.benchmark.PredictSettings

    def build(self, device: str | None) -> object:
        from posetrack.evaluation.benchmark import SequenceBoxes
        from posetrack.pipeline import Pipeline

        boxes = SequenceBoxes() if self.settings.boxes != "model" else None
        return Pipeline.from_config(self.config, device, detector=boxes), boxes

    def run(self, state, item: str, on_frame: Callable[[], None]) -> dict:
        import time

        from posetrack.evaluation.benchmark import load_sequence, predict_one

        pipeline, boxes = state
        start = time.perf_counter()
        seq = load_sequence(Path(item), self.image_root)
        frames = predict_one(pipeline, boxes, seq, self.settings, on_frame=on_frame)
        return {"frames": frames, "seconds": time.perf_counter() - start,
                "outputs": [str(self.outputs(item)[0])]}  # fmt: skip

    def outputs(self, item: str) -> list[Path]:
        return [Path(self.settings.out_dir) / f"{Path(item).stem}.json"]
