"""The pipeline config: one small dataclass per stage, loaded from YAML presets in configs/.

A preset may name another with ``base: NAME`` and override only what differs. CLI flags are applied
as dotted overrides (``{"pose.flip_test": False}``) after the file is read.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from posetrack.configbase import bounded, from_dict, merge, to_dict
from posetrack.detectors.config import DetectorConfig
from posetrack.errors import ConfigError
from posetrack.flow.config import FlowConfig
from posetrack.pose.config import PoseConfig
from posetrack.tracker.config import TrackerConfig
from posetrack.video.config import VideoConfig

OutputFormat = Literal["posetrack", "posetrack21", "coco", "csv", "jsonl"]
X264Preset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"
]

H264Encoder = Literal["auto", "libx264", "h264_nvenc"]  # posetrack.video.writer.H264_ENCODERS


@dataclass
class OutputConfig:
    formats: list[OutputFormat] = field(default_factory=lambda: ["posetrack", "coco", "csv", "jsonl"])
    render: bool = True
    report: bool = True  # <name>.report.html: tracks, timing and key frames (posetrack.report)
    render_threshold: float = bounded(0.3, 0.0, 1.0)  # keypoints below it are not drawn
    crf: int = bounded(23, 0, 51)  # libx264 quality (lower is better)
    preset: X264Preset = "veryfast"  # libx264 speed preset
    # H.264 encoder of the annotated video: auto = h264_nvenc when PyAV's FFmpeg has it and it opens
    # (an NVIDIA GPU), else libx264; h264_nvenc named here but unusable fails the run before any frame.
    # NVENC takes cq = crf and its preset p4 (see posetrack.video.writer.VideoWriter)
    encoder: H264Encoder = "auto"


@dataclass
class FrameLoopConfig:
    """How the frame loop batches work across frames (see posetrack/pipeline.py)."""

    batch_frames: int = bounded(8, 1, 1024)  # frames per window: detector (and pose on detected boxes)
    flow_workers: int = bounded(2, 1, 64)  # threads computing flow ahead for the window
    # pose on the window's detected boxes in one batch ahead of tracking: "auto" = on CUDA only,
    # where large batches pay; on the CPU they do not, and keeping it off keeps the written numbers
    # bit-identical for every batch_frames (with it on: within float rounding)
    pose_ahead: Literal["auto", "on", "off"] = "auto"


@dataclass
class PipelineConfig:
    name: str = "default"
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    video: VideoConfig = field(default_factory=VideoConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    pipeline: FrameLoopConfig = field(default_factory=FrameLoopConfig)

    def check(self) -> None:
        check_device_name(self.device)


def check_device_name(device: str) -> None:
    """The ``device`` value every config takes: auto, cpu, cuda or cuda:N."""
    d = device
    if not (d in ("auto", "cpu", "cuda") or (d.startswith("cuda:") and d[5:].isdigit())):
        raise ValueError(f"device: {d!r} is not one of auto, cpu, cuda, cuda:N")


def config_dirs() -> list[Path]:
    """Where preset names are looked up, first match wins."""
    dirs = []
    if os.environ.get("POSETRACK_CONFIG_DIR"):
        dirs.append(Path(os.environ["POSETRACK_CONFIG_DIR"]))
    dirs.append(Path(__file__).resolve().parent.parent / "configs")  # source checkout / editable
    dirs.append(Path(sys.prefix) / "share" / "posetrack" / "configs")  # wheel install (data_files)
    return dirs


def preset_names(kind: str = "") -> list[str]:
    """Preset names of every config folder; ``kind`` a subfolder (``"train"``: training presets)."""
    names: set[str] = set()
    for d in config_dirs():
        if (d / kind).is_dir():
            names.update(p.stem for p in (d / kind).glob("*.yaml"))
    return sorted(names)


def resolve_config_path(name_or_path: str, kind: str = "", what: str = "config") -> Path:
    """A YAML path, or a preset name looked up in the config folders (``kind``: a subfolder, so the
    training presets, a different config type, stay apart from the pipeline ones)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not path.is_file():
            raise ConfigError(f"{name_or_path}: config file not found")
        return path
    for d in config_dirs():
        candidate = d / kind / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"unknown {what} '{name_or_path}' (presets: {', '.join(preset_names(kind)) or 'none found'})"
    )


def read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    if path.resolve() in seen:
        raise ConfigError(f"{path}: 'base' refers back to itself")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {e.start}); save the config as UTF-8") from None
    except OSError as e:
        raise ConfigError(f"{path}: config file cannot be read ({e.strerror or e})") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of sections")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: invalid value for 'base': expected a preset name or path")
    sibling = path.parent / base  # a file named relative to the config that names it comes first
    base_path = sibling if sibling.is_file() else resolve_config_path(base)
    return merge(read_yaml(base_path, seen + (path.resolve(),)), data)


def apply_override(data: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override '{dotted}': '{key}' is not a section")
    node[leaf] = value


def load_config(
    name_or_path: str | None = "default", overrides: dict[str, Any] | None = None
) -> PipelineConfig:
    """Load a preset name or a YAML file, apply dotted overrides, validate everything."""
    if name_or_path is None:
        data: dict = {}
        source = "<defaults>"
    else:
        path = resolve_config_path(name_or_path)
        data = read_yaml(path)
        data.setdefault("name", path.stem)
        source = str(path)
    for dotted, value in (overrides or {}).items():
        apply_override(data, dotted, value)
    return from_dict(PipelineConfig, data, source)


def dump_config(config: PipelineConfig) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False)
