"""posetrack: multi-person pose tracking in video (HRNet, HigherHRNet, EfficientHRNet)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("posetrack")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from posetrack.config import PipelineConfig, load_config  # noqa: E402
from posetrack.errors import UserError  # noqa: E402


def __getattr__(name: str):
    # The pipeline pulls in torch; import it only when asked for.
    if name == "Pipeline":
        from posetrack.pipeline import Pipeline

        return Pipeline
    raise AttributeError(name)


__all__ = ["Pipeline", "PipelineConfig", "UserError", "__version__", "load_config"]
