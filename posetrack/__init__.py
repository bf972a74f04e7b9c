"""posetrack: multi-person pose tracking in video (HRNet, HigherHRNet, EfficientHRNet)."""

from __future__ import annotations

from posetrack.errors import UserError


def __getattr__(name: str):
    # The pipeline pulls in torch and the config every stage's settings (and numpy): import them
    # only when asked for, so light commands (``posetrack eval ...``, ``--help``) start fast.
    if name == "Pipeline":
        from posetrack.pipeline import Pipeline

        return Pipeline
    if name == "__version__":  # importlib.metadata is slow to import: only when asked
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("posetrack")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0.0.0+unknown"
    if name in ("PipelineConfig", "load_config"):
        from posetrack import config

        return getattr(config, name)
    raise AttributeError(name)


__all__ = ["Pipeline", "PipelineConfig", "UserError", "__version__", "load_config"]
