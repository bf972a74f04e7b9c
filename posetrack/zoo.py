"""The model zoo: named checkpoints with where to get them, how to check them and what they score.

In the spirit of torchvision's weights enums, every entry is a frozen record: the architecture name
to build, the URL(s), the checksum, the checkpoint's key layout, the keypoint layout, the input
size, cost and the published accuracy with its source. Every URL and hash below was read from the
publisher (MMPose's model-zoo pages, torchvision's weights enums, the official HRNet READMEs); none
is guessed. Where the publisher embeds a hash prefix in the file name (MMPose: the first 8 hex digits
of the sha256; torchvision: a sha256 prefix), that prefix is the checksum.

Official HRNet / HigherHRNet releases sit in Google Drive / OneDrive folders with no direct link:
those entries have no URL; the file is accepted by path, or placed at ``cache_path()``.

Tests (and plugins) can add entries for a while with :func:`registered`.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from posetrack import download
from posetrack.errors import ConfigError, DownloadError, InputError

Kind = Literal["pose-topdown", "pose-bottomup", "detector", "flow"]
CheckpointLayout = Literal["official", "official-fp16", "mmpose0", "mmpose1", "torchvision"]
Store = Literal["posetrack", "torch-hub"]


@dataclass(frozen=True)
class Accuracy:
    """A published score: ``value`` of ``metric`` (e.g. 75.6 "AP"), and where it was published."""

    metric: str
    value: float
    source: str


@dataclass(frozen=True)
class ZooEntry:
    name: str
    kind: Kind
    model: str  # name for posetrack.pose.build_model, or the detector / flow name in the configs
    urls: tuple[str, ...] = ()  # tried in order; empty: no direct download (see ``manual``)
    sha256: str | None = None  # full sha256 (64 hex) or the prefix the publisher embeds in the name
    filename: str | None = None  # defaults to the URL's last path component
    checkpoint_layout: CheckpointLayout = "official"
    keypoint_layout: str | None = None  # "coco17" / "posetrack17"; None for detectors and flow
    input_size: tuple[int, int] | None = None  # (height, width) the model was trained at
    num_params: int | None = None
    gflops: float | None = None  # as the publisher counts them (papers: multiply-adds / 2^30)
    accuracy: Accuracy | None = None
    store: Store = "posetrack"  # torch-hub: torchvision's own cache (torch.hub.get_dir()/checkpoints)
    torchvision_builder: str | None = None  # e.g. "fasterrcnn_resnet50_fpn_v2"
    torchvision_weights: str | None = None  # e.g. "FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1"
    manual: str | None = None  # where to get the file when there is no URL
    notes: str = ""
    aliases: tuple[str, ...] = field(default=())  # model names that default to this entry

    def __post_init__(self) -> None:
        if not self.urls and not self.filename:
            raise ValueError(f"zoo entry {self.name}: needs a URL or a filename")
        if not self.urls and not self.manual:
            raise ValueError(f"zoo entry {self.name}: no URL, so say where to get it (manual=...)")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{8,64}", self.sha256):
            raise ValueError(f"zoo entry {self.name}: sha256 must be 8-64 lowercase hex digits")

    @property
    def file_name(self) -> str:
        return self.filename or self.urls[0].rsplit("/", 1)[-1]

    def cache_path(self) -> Path:
        """Where this entry's file lives (whether or not it exists yet)."""
        if self.store == "torch-hub":
            return download.torch_hub_checkpoints() / self.file_name
        return download.cache_root() / "weights" / self.file_name

    def is_cached(self) -> bool:
        return self.cache_path().is_file()

    def matches_model(self, model_name: str) -> bool:
        """True when these weights fit the architecture ``model_name`` builds."""
        return model_name in (self.model, self.name, *self.aliases)


# --- sources ------------------------------------------------------------------------------------
_MMPOSE_TD = "https://download.openmmlab.com/mmpose/top_down/hrnet/"
_MMPOSE_BU = "https://download.openmmlab.com/mmpose/bottom_up/"
_TV = "https://download.pytorch.org/models/"
# MMPose configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/hrnet_coco.md (COCO val2017, flip,
# person detector with 56.4 human AP)
_SRC_MMPOSE_COCO = "MMPose hrnet_coco.md, COCO val2017 (detected boxes, 56.4 human AP)"
# MMPose configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/posetrack18/hrnet_posetrack18.md
_SRC_MMPOSE_PT18 = "MMPose hrnet_posetrack18.md, PoseTrack18 val mAP (Cascade R-CNN X-101 boxes)"
# MMPose configs/body/2d_kpt_sview_rgb_img/associative_embedding/coco/higherhrnet_coco.md
_SRC_MMPOSE_AE = "MMPose higherhrnet_coco.md, COCO val2017 single-scale"
_SRC_HRNET = "HRNet/deep-high-resolution-net.pytorch README, COCO val2017 (detected boxes)"
_SRC_HIGHER = "HRNet/HigherHRNet-Human-Pose-Estimation README, COCO val2017 single-scale"
# official model-zoo folders (README of each official repository)
_HRNET_DRIVE = (
    "the official HRNet model zoo (Google Drive folder "
    "https://drive.google.com/drive/folders/1hOTihvbyIxsm5ygDpbUuJ7O_tzv4oXjC, OneDrive "
    "https://1drv.ms/f/s!AhIXJn_J-blW231MH2krnmLq5kkQ), file models/pytorch/pose_coco/{file}"
)
_HIGHER_DRIVE = (
    "the official HigherHRNet model zoo (Google Drive folder "
    "https://drive.google.com/drive/folders/1X9-TzWpwbX2zQf2To8lB-ZQHMYviYYh6, OneDrive "
    "https://1drv.ms/f/s!AhIXJn_J-blW4AwKRMklXVzndJT0), file pose_coco/{file}"
)

# Parameter counts of HRNet / HigherHRNet: shared/reference/checkpoints/*.json (the official
# implementations instantiated); GFLOPs: the official READMEs / papers (multiply-adds / 2^30).
_P_W32, _P_W48 = 28_536_113, 63_595_745
_P_HW32, _P_HW48 = 28_645_331, 63_827_139


def _hrnet_mmpose(width: int, h: int, w: int, file: str, gflops: float, ap: float) -> ZooEntry:
    return ZooEntry(
        name=f"hrnet-w{width}-{h}x{w}-coco", kind="pose-topdown", model=f"hrnet-w{width}-{h}x{w}",
        urls=(_MMPOSE_TD + file,), sha256=file.split("-")[-1].split("_")[0],
        checkpoint_layout="mmpose0", keypoint_layout="coco17", input_size=(h, w),
        num_params=_P_W32 if width == 32 else _P_W48, gflops=gflops,
        accuracy=Accuracy("COCO AP", ap, _SRC_MMPOSE_COCO),
        notes="MMPose 0.x checkpoint of the official architecture (backbone./keypoint_head. keys)",
    )


def _hrnet_pt18(width: int, h: int, w: int, file: str, gflops: float, mAP: float) -> ZooEntry:
    return ZooEntry(
        name=f"hrnet-w{width}-{h}x{w}-posetrack18", kind="pose-topdown",
        model=f"hrnet-w{width}-{h}x{w}-posetrack18",  # same network, PoseTrack-17 joint order
        urls=(_MMPOSE_TD + file,), sha256=file.split("-")[-1].split("_")[0],
        checkpoint_layout="mmpose0", keypoint_layout="posetrack17", input_size=(h, w),
        num_params=_P_W32 if width == 32 else _P_W48, gflops=gflops,
        accuracy=Accuracy("PT18 mAP", mAP, _SRC_MMPOSE_PT18),
        notes="COCO pre-trained, fine-tuned on PoseTrack18 by MMPose (17 joints, PoseTrack order)",
    )


def _hrnet_official(width: int, h: int, w: int, gflops: float, ap: float) -> ZooEntry:
    file = f"pose_hrnet_w{width}_{h}x{w}.pth"
    return ZooEntry(
        name=f"hrnet-w{width}-{h}x{w}-coco-official", kind="pose-topdown",
        model=f"hrnet-w{width}-{h}x{w}", filename=file, manual=_HRNET_DRIVE.format(file=file),
        checkpoint_layout="official", keypoint_layout="coco17", input_size=(h, w),
        num_params=_P_W32 if width == 32 else _P_W48, gflops=gflops,
        accuracy=Accuracy("COCO AP", ap, _SRC_HRNET),
        notes="official release; no direct link and no published checksum",
    )


def _higher_mmpose(width: int, size: int, file: str, gflops: float | None, ap: float) -> ZooEntry:
    return ZooEntry(
        name=f"higherhrnet-w{width}-{size}-coco", kind="pose-bottomup", model=f"higherhrnet-w{width}-{size}",
        urls=(_MMPOSE_BU + file,), sha256=file.split("-")[-1].split("_")[0],
        checkpoint_layout="mmpose0", keypoint_layout="coco17", input_size=(size, size),
        num_params=_P_HW32 if width == 32 else _P_HW48, gflops=gflops,
        accuracy=Accuracy("COCO AP", ap, _SRC_MMPOSE_AE),
        notes="MMPose 0.x checkpoint (backbone./keypoint_head. keys)",
    )


def _higher_official(width: int, size: int, gflops: float, ap: float, *, suffix: str) -> ZooEntry:
    file = f"pose_higher_hrnet_w{width}_{size}.pth"
    fp16 = size == 640  # the 640 configs train with FP16 and save the wrapped model ("1." keys)
    return ZooEntry(
        name=f"higherhrnet-w{width}-{size}-coco{suffix}", kind="pose-bottomup",
        model=f"higherhrnet-w{width}-{size}", filename=file, manual=_HIGHER_DRIVE.format(file=file),
        checkpoint_layout="official-fp16" if fp16 else "official", keypoint_layout="coco17",
        input_size=(size, size), num_params=_P_HW32 if width == 32 else _P_HW48, gflops=gflops,
        accuracy=Accuracy("COCO AP", ap, _SRC_HIGHER),
        notes="official release; no direct link and no published checksum"
        + ("; fp16-wrapped keys ('1.' prefix)" if fp16 else ""),
    )


def _tv(name: str, kind: Kind, model: str, file: str, builder: str, weights: str, params: int,
        gflops: float, acc: Accuracy, min_size: tuple[int, int] | None = None) -> ZooEntry:
    # URL, num_params, _ops (GFLOPS) and _metrics: torchvision 0.29 weights enums (``<enum>.url``,
    # ``.meta``); the sha256 prefix is the part of the file name after the last '-'.
    return ZooEntry(
        name=name, kind=kind, model=model, urls=(_TV + file,), sha256=file.rsplit("-", 1)[1].split(".")[0],
        checkpoint_layout="torchvision", input_size=min_size, num_params=params, gflops=gflops,
        accuracy=acc, store="torch-hub", torchvision_builder=builder, torchvision_weights=weights,
    )


_TVSRC = "torchvision weights meta"

_BUILTIN: tuple[ZooEntry, ...] = (
    # HRNet top-down, COCO (MMPose model zoo, hrnet_coco.md)
    _hrnet_mmpose(32, 256, 192, "hrnet_w32_coco_256x192-c78dce93_20200708.pth", 7.1, 74.6),
    _hrnet_mmpose(32, 384, 288, "hrnet_w32_coco_384x288-d9f0d786_20200708.pth", 16.0, 76.0),
    _hrnet_mmpose(48, 256, 192, "hrnet_w48_coco_256x192-b9e0b3ab_20200708.pth", 14.6, 75.6),
    _hrnet_mmpose(48, 384, 288, "hrnet_w48_coco_384x288-314c8528_20200708.pth", 32.9, 76.7),
    # HRNet top-down fine-tuned on PoseTrack18 (MMPose model zoo, hrnet_posetrack18.md)
    _hrnet_pt18(32, 256, 192, "hrnet_w32_posetrack18_256x192-1ee951c4_20201028.pth", 7.1, 76.9),
    _hrnet_pt18(32, 384, 288, "hrnet_w32_posetrack18_384x288-806f00a3_20211130.pth", 16.0, 77.3),
    _hrnet_pt18(48, 256, 192, "hrnet_w48_posetrack18_256x192-b5d9b3f1_20211130.pth", 14.6, 77.4),
    _hrnet_pt18(48, 384, 288, "hrnet_w48_posetrack18_384x288-5fd6d3ff_20211130.pth", 32.9, 77.8),
    # HRNet official releases (Drive only; HRNet README: file names, GFLOPs, AP)
    _hrnet_official(32, 256, 192, 7.1, 74.4),
    _hrnet_official(32, 384, 288, 16.0, 75.8),
    _hrnet_official(48, 256, 192, 14.6, 75.1),
    _hrnet_official(48, 384, 288, 32.9, 76.3),
    # HigherHRNet bottom-up, COCO (MMPose model zoo, higherhrnet_coco.md). W48-512 GFLOPs unpublished.
    _higher_mmpose(32, 512, "higher_hrnet32_coco_512x512-8ae85183_20200713.pth", 47.9, 67.7),
    _higher_mmpose(32, 640, "higher_hrnet32_coco_640x640-a22fe938_20200712.pth", 74.8, 68.6),
    _higher_mmpose(48, 512, "higher_hrnet48_coco_512x512-60fedcbc_20200712.pth", None, 68.6),
    # HigherHRNet official releases (Drive only; HigherHRNet README). W48-640 exists only here.
    _higher_official(32, 512, 47.9, 67.1, suffix="-official"),
    _higher_official(32, 640, 74.8, 68.5, suffix="-official"),
    _higher_official(48, 640, 154.3, 69.9, suffix=""),
    # torchvision person detectors (COCO; box AP over all 80 classes)
    _tv("fasterrcnn-r50-fpn-v2-coco", "detector", "fasterrcnn-r50-fpn-v2",
        "fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth", "fasterrcnn_resnet50_fpn_v2",
        "FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1", 43_712_278, 280.371, Accuracy("COCO box AP", 46.7, _TVSRC)),
    _tv("fasterrcnn-r50-fpn-coco", "detector", "fasterrcnn-r50-fpn",
        "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth", "fasterrcnn_resnet50_fpn",
        "FasterRCNN_ResNet50_FPN_Weights.COCO_V1", 41_755_286, 134.38, Accuracy("COCO box AP", 37.0, _TVSRC)),
    _tv("fasterrcnn-mobilenet-v3-large-fpn-coco", "detector", "fasterrcnn-mobilenet-v3-large-fpn",
        "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth", "fasterrcnn_mobilenet_v3_large_fpn",
        "FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1", 19_386_354, 4.494,
        Accuracy("COCO box AP", 32.8, _TVSRC)),
    _tv("retinanet-r50-fpn-v2-coco", "detector", "retinanet-r50-fpn-v2",
        "retinanet_resnet50_fpn_v2_coco-5905b1c5.pth", "retinanet_resnet50_fpn_v2",
        "RetinaNet_ResNet50_FPN_V2_Weights.COCO_V1", 38_198_935, 152.238, Accuracy("COCO box AP", 41.5, _TVSRC)),
    _tv("fcos-r50-fpn-coco", "detector", "fcos-r50-fpn", "fcos_resnet50_fpn_coco-99b0c9b7.pth",
        "fcos_resnet50_fpn", "FCOS_ResNet50_FPN_Weights.COCO_V1", 32_269_600, 128.207,
        Accuracy("COCO box AP", 39.2, _TVSRC)),
    _tv("keypointrcnn-r50-fpn-coco", "detector", "keypointrcnn-r50-fpn",
        "keypointrcnn_resnet50_fpn_coco-fc266e95.pth", "keypointrcnn_resnet50_fpn",
        "KeypointRCNN_ResNet50_FPN_Weights.COCO_V1", 59_137_258, 137.42, Accuracy("COCO box AP", 54.6, _TVSRC)),
    # torchvision RAFT: the enums' DEFAULT weights (C+T+Sintel+K+HD1K; Sintel test clean EPE)
    _tv("raft-large", "flow", "raft-large", "raft_large_C_T_SKHT_V2-ff5fadd5.pth", "raft_large",
        "Raft_Large_Weights.C_T_SKHT_V2", 5_257_536, 211.007, Accuracy("Sintel-test EPE", 1.819, _TVSRC),
        min_size=(128, 128)),
    _tv("raft-small", "flow", "raft-small", "raft_small_C_T_V2-01064c6d.pth", "raft_small",
        "Raft_Small_Weights.C_T_V2", 990_162, 47.655, Accuracy("Sintel-train EPE", 1.990, _TVSRC),
        min_size=(128, 128)),
)

_REGISTRY: dict[str, ZooEntry] = {e.name: e for e in _BUILTIN}


# --- registry API -------------------------------------------------------------------------------


def entries(kind: Kind | None = None) -> list[ZooEntry]:
    """All entries (of one ``kind``), in registration order."""
    return [e for e in _REGISTRY.values() if kind is None or e.kind == kind]


def get_entry(name: str) -> ZooEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(
            f"unknown zoo weights '{name}'{hint}; `posetrack weights list` shows the names"
        ) from None


def register(entry: ZooEntry, *, replace: bool = False) -> None:
    if entry.name in _REGISTRY and not replace:
        raise ValueError(f"zoo entry {entry.name} already exists")
    _REGISTRY[entry.name] = entry


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


@contextlib.contextmanager
def registered(*new: ZooEntry) -> Iterator[None]:
    """Add entries for the duration of a ``with`` block (tests, experiments), then restore."""
    saved = dict(_REGISTRY)
    try:
        for e in new:
            register(e, replace=True)
        yield
    finally:
        _REGISTRY.clear()
        _REGISTRY.update(saved)


def default_entry_for_model(model_name: str) -> ZooEntry | None:
    """The weights ``weights: zoo`` means for ``model_name``: an entry of that name, an entry whose
    alias it is, else ``<model_name>-coco`` (hrnet-w48-256x192 → hrnet-w48-256x192-coco)."""
    if model_name in _REGISTRY:
        return _REGISTRY[model_name]
    for e in _REGISTRY.values():
        if model_name in e.aliases:
            return e
    return _REGISTRY.get(f"{model_name}-coco")


# --- resolving and fetching ---------------------------------------------------------------------


def ensure_downloaded(
    entry: ZooEntry, progress: bool = True, retry: download.RetryPolicy | None = None
) -> Path:
    """The entry's verified local file, downloading it into the cache on first use."""
    dest = entry.cache_path()
    if not entry.urls:
        if dest.is_file():
            download.verify_file(dest, entry.sha256, label=entry.name)
            return dest
        raise DownloadError(
            f"weights '{entry.name}' have no direct download: get {entry.file_name} from "
            f"{entry.manual} and place it at {dest}, or give the file's path as the weights"
        )
    return download.download_file(
        entry.urls, dest, sha256=entry.sha256, label=entry.name, progress=progress, retry=retry
    )


def resolve_weights(
    spec: str | None, model_name: str, *, progress: bool = True,
    retry: download.RetryPolicy | None = None,
) -> Path | None:
    """Turn a config's ``weights`` value into a local file.

    ``None`` → None (random init); ``"zoo"`` → the model's default entry, downloaded on first use;
    a zoo entry name → that entry (it must fit ``model_name``); anything else → an existing file.
    """
    if spec is None:
        return None
    if spec == "zoo":
        entry = default_entry_for_model(model_name)
        if entry is None:
            raise ConfigError(
                f"the zoo has no weights for model '{model_name}'; give a weights file, or null for "
                f"random initialisation"
            )
        return ensure_downloaded(entry, progress=progress, retry=retry)
    if spec in _REGISTRY:
        entry = _REGISTRY[spec]
        if not entry.matches_model(model_name):
            raise ConfigError(
                f"zoo weights '{spec}' are for model '{entry.model}', not '{model_name}'"
            )
        return ensure_downloaded(entry, progress=progress, retry=retry)
    path = Path(spec).expanduser()
    if not path.is_file():
        close = difflib.get_close_matches(spec, _REGISTRY, n=1)
        hint = f" (did you mean zoo weights '{close[0]}'?)" if close else ""
        raise InputError(f"weights file not found: {spec}{hint}")
    return path
