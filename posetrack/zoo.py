"""The one registry: every network posetrack builds, and every published checkpoint for it.

In the spirit of torchvision's weights enums and timm's ``arch.tag`` names there are two kinds of
frozen record, joined by explicit names (never by a naming rule):

* an :class:`Architecture` is what a config names (``pose.model``, ``detector.name``,
  ``flow.name``): its kind, its builder (a ``module:callable`` path, imported only when building, so
  the registry itself imports no torch), the builder's arguments, its parameter count, the
  preprocessing it is run with when no zoo weights are used (random init, a user's own file), and
  the weights ``weights: zoo`` means (``default_weights``);
* a :class:`Weights` entry is one published file: URL(s), checksum, checkpoint key layout, the
  :class:`Preprocessing` it was trained with (input size, mean/std, keypoint layout), cost and the
  published accuracy with its source. The estimators take their preprocessing from it.

Size convention: every ``input_size`` here is **(width, height)**, as the configs and the inference
code use it (``weights list`` prints it as HxW, as the publishers write it).

Every URL and hash below was read from the publisher (MMPose's model-zoo pages, torchvision's
weights enums, the official HRNet READMEs); none is guessed. Where the publisher embeds a hash
prefix in the file name (MMPose: the first 8 hex digits of the sha256; torchvision: a sha256
prefix), that prefix is the checksum. Official HRNet / HigherHRNet releases sit in Google Drive /
OneDrive folders with no direct link: those entries have no URL; the file is accepted by path, or
placed at ``cache_path()``.

Tests (and plugins) can add entries for a while with :func:`registered`.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from posetrack.errors import ConfigError, DownloadError, InputError

if TYPE_CHECKING:
    from posetrack import download

Kind = Literal["topdown", "bottomup", "detector", "flow"]
CheckpointLayout = Literal["official", "official-fp16", "mmpose0", "mmpose1", "torchvision"]
Store = Literal["posetrack", "torch-hub"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """What a network's input must be and what its keypoint output means.

    ``input_size`` is (width, height); ``mean``/``std`` apply to RGB scaled to [0, 1] (None: the
    stage normalises as its model requires, e.g. torchvision detectors inside the model);
    ``min_size`` (width, height) is the smallest input a size-agnostic network accepts.
    """

    input_size: tuple[int, int] | None = None
    mean: tuple[float, float, float] | None = IMAGENET_MEAN
    std: tuple[float, float, float] | None = IMAGENET_STD
    keypoint_layout: str | None = None  # posetrack.keypoints.get_layout name; pose networks only
    min_size: tuple[int, int] | None = None


_NO_NORMALISE = Preprocessing(mean=None, std=None)


@dataclass(frozen=True)
class Architecture:
    """A network a config can name; ``builder(**kwargs)`` makes it with random weights."""

    name: str
    kind: Kind
    builder: str  # "package.module:callable"
    kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    preprocessing: Preprocessing = _NO_NORMALISE  # used without zoo weights (random init, own file)
    default_weights: str | None = None  # the Weights entry `weights: zoo` means; None: none published
    num_params: int | None = None  # of the network as built (checked by tests/zoo/test_registry.py)
    output_strides: tuple[int, ...] = ()  # pose: stride of each output, (4,) top-down, (4, 2) bottom-up
    width: int | None = None  # pose: HRNet C, or EfficientHRNet W_b1
    options: str | None = None  # detectors: the builder's option family, "rcnn" or "dense"
    test_only: bool = False  # tiny networks for tests; no weights exist

    @property
    def input_size(self) -> tuple[int, int] | None:
        """(width, height) the network is run at without zoo weights."""
        return self.preprocessing.input_size

    def with_input_size(self, size: tuple[int, int]) -> Architecture:
        """The same network run (or trained) at another (width, height)."""
        return replace(self, preprocessing=replace(self.preprocessing, input_size=(int(size[0]), int(size[1]))))

    @property
    def layout(self) -> str | None:
        return self.preprocessing.keypoint_layout

    @property
    def num_joints(self) -> int:
        return int(self.kwargs.get("num_joints", 0))

    @property
    def heatmap_stride(self) -> int:
        return self.output_strides[0]

    @property
    def tag_channels(self) -> int:
        """Tag maps in the first output (bottom-up: one per joint, after the heatmaps)."""
        return self.num_joints if self.kind == "bottomup" else 0

    @property
    def is_pose(self) -> bool:
        return self.kind in ("topdown", "bottomup")

    def same_network(self, other: Architecture) -> bool:
        """True when both build the identical network (so they take the same checkpoints)."""
        return (self.builder, dict(self.kwargs)) == (other.builder, dict(other.kwargs))

    def build(self, **extra: Any) -> Any:
        """The network with random weights (``extra`` adds builder options, e.g. detector thresholds)."""
        module, _, attr = self.builder.partition(":")
        return getattr(importlib.import_module(module), attr)(**{**self.kwargs, **extra})


@dataclass(frozen=True)
class Accuracy:
    """A published score: ``value`` of ``metric`` (e.g. 75.6 "AP"), and where it was published."""

    metric: str
    value: float
    source: str


@dataclass(frozen=True)
class Weights:
    """One published checkpoint of the architecture ``arch``."""

    name: str
    arch: str
    urls: tuple[str, ...] = ()  # tried in order; empty: no direct download (see ``manual``)
    sha256: str | None = None  # full sha256 (64 hex) or the prefix the publisher embeds in the name
    filename: str | None = None  # defaults to the URL's last path component
    checkpoint_layout: CheckpointLayout = "official"  # checked against the keys when loading
    preprocessing: Preprocessing = _NO_NORMALISE
    gflops: float | None = None  # as the publisher counts them (papers: multiply-adds / 2^30)
    accuracy: Accuracy | None = None
    store: Store = "posetrack"  # torch-hub: torchvision's own cache (torch.hub.get_dir()/checkpoints)
    enum: str | None = None  # torchvision weights enum member the URL and meta were read from
    manual: str | None = None  # where to get the file when there is no URL

    def __post_init__(self) -> None:
        if not self.urls and not self.filename:
            raise ValueError(f"zoo entry {self.name}: needs a URL or a filename")
        if not self.urls and not self.manual:
            raise ValueError(f"zoo entry {self.name}: no URL, so say where to get it (manual=...)")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{8,64}", self.sha256):
            raise ValueError(f"zoo entry {self.name}: sha256 must be 8-64 lowercase hex digits")

    @property
    def architecture(self) -> Architecture:
        return architecture(self.arch)

    @property
    def kind(self) -> Kind:
        return self.architecture.kind

    @property
    def file_name(self) -> str:
        return self.filename or self.urls[0].rsplit("/", 1)[-1]

    def cache_path(self) -> Path:
        """Where this entry's file lives (whether or not it exists yet)."""
        from posetrack import download  # urllib & co.: only when a file is looked for

        if self.store == "torch-hub":
            return download.torch_hub_checkpoints() / self.file_name
        return download.cache_root() / "weights" / self.file_name

    def is_cached(self) -> bool:
        return self.cache_path().is_file()

    def fits(self, arch_name: str) -> bool:
        """True when these weights load into the network ``arch_name`` builds."""
        if arch_name == self.arch:
            return True
        own, other = _ARCHS.get(self.arch), _ARCHS.get(arch_name)
        return own is not None and other is not None and own.same_network(other)


Entry = Architecture | Weights

# --- architectures ------------------------------------------------------------------------------

# Parameter counts of HRNet / HigherHRNet: shared/reference/checkpoints/*.json (the official
# implementations instantiated); torchvision's: its weights enums' meta["num_params"], which counts the
# published models, whose ResNet-50 / MobileNetV3 backbones freeze their BatchNorms (weight and bias
# are buffers there): the network posetrack builds (ordinary BatchNorms holding the same values)
# has those as parameters on top (tests/zoo/test_registry.py checks both).
_P_W32, _P_W48 = 28_536_113, 63_595_745
_P_HW32, _P_HW48 = 28_645_331, 63_827_139
_HRNET = "posetrack.pose.models.hrnet:HRNet"
_HIGHER = "posetrack.pose.models.higherhrnet:HigherHRNet"
_EFFICIENT = "posetrack.pose.models.efficienthrnet:efficienthrnet"
# EfficientHRNet paper, Table 1: input resolution of each variant (the builder holds the rest)
_EFFICIENT_INPUT = {"h0": 512, "h-1": 480, "h-2": 448, "h-3": 416, "h-4": 384}
_EFFICIENT_WIDTH = {"h0": 32, "h-1": 26, "h-2": 21, "h-3": 17, "h-4": 14}


def _pose_prep(w: int, h: int, layout: str) -> Preprocessing:
    return Preprocessing(input_size=(w, h), keypoint_layout=layout)  # ImageNet mean/std


def _hrnet_arch(width: int, h: int, w: int, *, pt18: bool = False, test_only: bool = False) -> Architecture:
    name = f"hrnet-w{width}-{h}x{w}" + ("-posetrack18" if pt18 else "")
    layout = "posetrack17" if pt18 else "coco17"
    return Architecture(
        name=name, kind="topdown", builder=_HRNET,
        kwargs=MappingProxyType({"width": width, "num_joints": 17}),
        preprocessing=_pose_prep(w, h, layout),
        default_weights=None if test_only else (name if pt18 else f"{name}-coco"),
        num_params=None if test_only else (_P_W32 if width == 32 else _P_W48),
        output_strides=(4,), width=width, test_only=test_only,
    )


def _higher_arch(width: int, size: int, *, crowdpose: bool = False, test_only: bool = False) -> Architecture:
    """HigherHRNet at ``size``; ``crowdpose``: the 14-joint CrowdPose head (the official
    crowd_pose/higher_hrnet configs: same network, NUM_JOINTS 14)."""
    name = f"higherhrnet-w{width}-{size}" + ("-crowdpose" if crowdpose else "")
    joints = 14 if crowdpose else 17
    if test_only:
        params, weights = None, None
    elif crowdpose:
        params = (_P_HW32 if width == 32 else _P_HW48) - 3 * _higher_params_per_joint(width)
        weights = name if (width, size) == (32, 512) else None  # MMPose's; no official files
    else:
        params, weights = (_P_HW32 if width == 32 else _P_HW48), f"{name}-coco"
    return Architecture(
        name=name, kind="bottomup", builder=_HIGHER,
        kwargs=MappingProxyType({"width": width, "num_joints": joints}),
        preprocessing=_pose_prep(size, size, "crowdpose14" if crowdpose else "coco17"),
        default_weights=weights, num_params=params,
        output_strides=(4, 2), width=width, test_only=test_only,
    )


def _higher_params_per_joint(width: int) -> int:
    """Parameters one joint adds to HigherHRNet-W``width``: the 1x1 heads (heatmap + tag at 1/4,
    heatmap at 1/2, with biases) and the 4x4 deconvolution's input channels (it reads the 1/4
    heatmaps and tags; no bias). 17 -> 14 joints removes three of them."""
    return 2 * (width + 1) + (width + 1) + 2 * width * 16


def _efficient_arch(variant: str) -> Architecture:
    size = _EFFICIENT_INPUT[variant]
    return Architecture(
        name=f"efficienthrnet-{variant}", kind="bottomup", builder=_EFFICIENT,
        kwargs=MappingProxyType({"variant": variant, "num_joints": 17}),
        preprocessing=_pose_prep(size, size, "coco17"), output_strides=(4, 2),
        width=_EFFICIENT_WIDTH[variant],
    )


def _tv_arch(name: str, kind: Kind, builder: str, params: int, options: str | None = None) -> Architecture:
    module = "torchvision.models.optical_flow" if kind == "flow" else "torchvision.models.detection"
    kwargs = {"weights": None} if kind == "flow" else {"weights": None, "weights_backbone": None}
    prep = Preprocessing(mean=None, std=None, min_size=(128, 128) if kind == "flow" else None)
    return Architecture(
        name=name, kind=kind, builder=f"{module}:{builder}", kwargs=MappingProxyType(kwargs),
        preprocessing=prep, default_weights=name if kind == "flow" else f"{name}-coco",
        num_params=params, options=options,
    )


_BUILTIN_ARCHS: tuple[Architecture, ...] = (
    *(
        _hrnet_arch(width, h, w, pt18=pt18)
        for width in (32, 48) for h, w in ((256, 192), (384, 288)) for pt18 in (False, True)
    ),
    _higher_arch(32, 512), _higher_arch(32, 640), _higher_arch(48, 512), _higher_arch(48, 640),
    # CrowdPose (14 joints): the official crowd_pose/higher_hrnet configs (w32 512, w32 640, w48 640)
    *(_higher_arch(w, size, crowdpose=True) for w, size in ((32, 512), (32, 640), (48, 640))),
    *(_efficient_arch(v) for v in _EFFICIENT_INPUT),
    # Test-only tiny networks: full official topology at width 8, small inputs (sides must be
    # multiples of 32, as for the official networks: the 1/32 branch is upsampled x8 in the fusion).
    _hrnet_arch(8, 128, 96, test_only=True),
    _higher_arch(8, 128, test_only=True),
    _higher_arch(8, 128, crowdpose=True, test_only=True),
    # torchvision person detectors (``options``: which names the builder's thresholds have)
    _tv_arch("fasterrcnn-r50-fpn-v2", "detector", "fasterrcnn_resnet50_fpn_v2", 43_712_278, "rcnn"),
    _tv_arch("fasterrcnn-r50-fpn", "detector", "fasterrcnn_resnet50_fpn", 41_755_286, "rcnn"),
    _tv_arch("fasterrcnn-mobilenet-v3-large-fpn", "detector", "fasterrcnn_mobilenet_v3_large_fpn",
             19_386_354, "rcnn"),
    _tv_arch("retinanet-r50-fpn-v2", "detector", "retinanet_resnet50_fpn_v2", 38_198_935, "dense"),
    _tv_arch("fcos-r50-fpn", "detector", "fcos_resnet50_fpn", 32_269_600, "dense"),
    _tv_arch("keypointrcnn-r50-fpn", "detector", "keypointrcnn_resnet50_fpn", 59_137_258, "rcnn"),
    # torchvision RAFT
    _tv_arch("raft-large", "flow", "raft_large", 5_257_536),
    _tv_arch("raft-small", "flow", "raft_small", 990_162),
)


# --- weights ------------------------------------------------------------------------------------
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
_SRC_MMPOSE_AE_CROWDPOSE = "MMPose higherhrnet_crowdpose.md, CrowdPose test single-scale"
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



def _hash_in_name(file: str) -> str:
    """MMPose's convention: ``<name>-<first 8 hex of the sha256>_<date>.pth``."""
    return file.split("-")[-1].split("_")[0]


def _hrnet_mmpose(width: int, h: int, w: int, file: str, gflops: float, score: float, *, pt18: bool = False) -> Weights:
    """MMPose 0.x checkpoint of the official architecture (backbone./keypoint_head. keys); ``pt18``:
    COCO pre-trained and fine-tuned on PoseTrack18 by MMPose (the same network, PoseTrack-17 joints)."""
    arch = f"hrnet-w{width}-{h}x{w}" + ("-posetrack18" if pt18 else "")
    return Weights(
        name=arch if pt18 else f"{arch}-coco", arch=arch,
        urls=(_MMPOSE_TD + file,), sha256=_hash_in_name(file), checkpoint_layout="mmpose0",
        preprocessing=_pose_prep(w, h, "posetrack17" if pt18 else "coco17"), gflops=gflops,
        accuracy=(Accuracy("PT18 mAP", score, _SRC_MMPOSE_PT18) if pt18
                  else Accuracy("COCO AP", score, _SRC_MMPOSE_COCO)),
    )


def _hrnet_official(width: int, h: int, w: int, gflops: float, ap: float) -> Weights:
    # official release; no direct link and no published checksum
    file = f"pose_hrnet_w{width}_{h}x{w}.pth"
    return Weights(
        name=f"hrnet-w{width}-{h}x{w}-coco-official", arch=f"hrnet-w{width}-{h}x{w}",
        filename=file, manual=_HRNET_DRIVE.format(file=file), checkpoint_layout="official",
        preprocessing=_pose_prep(w, h, "coco17"), gflops=gflops,
        accuracy=Accuracy("COCO AP", ap, _SRC_HRNET),
    )


def _higher_mmpose(width: int, size: int, file: str, gflops: float | None, ap: float, *,
                   crowdpose: bool = False) -> Weights:
    arch = f"higherhrnet-w{width}-{size}" + ("-crowdpose" if crowdpose else "")
    return Weights(
        name=arch if crowdpose else f"{arch}-coco", arch=arch,
        urls=(_MMPOSE_BU + file,), sha256=_hash_in_name(file), checkpoint_layout="mmpose0",
        preprocessing=_pose_prep(size, size, "crowdpose14" if crowdpose else "coco17"), gflops=gflops,
        accuracy=(Accuracy("CrowdPose AP", ap, _SRC_MMPOSE_AE_CROWDPOSE) if crowdpose
                  else Accuracy("COCO AP", ap, _SRC_MMPOSE_AE)),
    )


def _higher_official(width: int, size: int, gflops: float, ap: float, *, suffix: str) -> Weights:
    file = f"pose_higher_hrnet_w{width}_{size}.pth"
    fp16 = size == 640  # the 640 configs train with FP16 and save the wrapped model ("1." keys)
    return Weights(
        name=f"higherhrnet-w{width}-{size}-coco{suffix}", arch=f"higherhrnet-w{width}-{size}",
        filename=file, manual=_HIGHER_DRIVE.format(file=file),
        checkpoint_layout="official-fp16" if fp16 else "official",
        preprocessing=_pose_prep(size, size, "coco17"), gflops=gflops,
        accuracy=Accuracy("COCO AP", ap, _SRC_HIGHER),
    )


def _tv(name: str, arch: str, file: str, enum: str, gflops: float, acc: Accuracy) -> Weights:
    # URL, _ops (GFLOPS) and _metrics: torchvision 0.29 weights enums (``<enum>.url``, ``.meta``);
    # the sha256 prefix is the part of the file name after the last '-'.
    return Weights(
        name=name, arch=arch, urls=(_TV + file,), sha256=file.rsplit("-", 1)[1].split(".")[0],
        checkpoint_layout="torchvision", preprocessing=_ARCH_PREP[arch], gflops=gflops,
        accuracy=acc, store="torch-hub", enum=enum,
    )


_ARCH_PREP = {a.name: a.preprocessing for a in _BUILTIN_ARCHS}
_TVSRC = "torchvision weights meta"

_BUILTIN_WEIGHTS: tuple[Weights, ...] = (
    # HRNet top-down, COCO (MMPose model zoo, hrnet_coco.md)
    _hrnet_mmpose(32, 256, 192, "hrnet_w32_coco_256x192-c78dce93_20200708.pth", 7.1, 74.6),
    _hrnet_mmpose(32, 384, 288, "hrnet_w32_coco_384x288-d9f0d786_20200708.pth", 16.0, 76.0),
    _hrnet_mmpose(48, 256, 192, "hrnet_w48_coco_256x192-b9e0b3ab_20200708.pth", 14.6, 75.6),
    _hrnet_mmpose(48, 384, 288, "hrnet_w48_coco_384x288-314c8528_20200708.pth", 32.9, 76.7),
    # HRNet top-down fine-tuned on PoseTrack18 (MMPose model zoo, hrnet_posetrack18.md)
    _hrnet_mmpose(32, 256, 192, "hrnet_w32_posetrack18_256x192-1ee951c4_20201028.pth", 7.1, 76.9, pt18=True),
    _hrnet_mmpose(32, 384, 288, "hrnet_w32_posetrack18_384x288-806f00a3_20211130.pth", 16.0, 77.3, pt18=True),
    _hrnet_mmpose(48, 256, 192, "hrnet_w48_posetrack18_256x192-b5d9b3f1_20211130.pth", 14.6, 77.4, pt18=True),
    _hrnet_mmpose(48, 384, 288, "hrnet_w48_posetrack18_384x288-5fd6d3ff_20211130.pth", 32.9, 77.8, pt18=True),
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
    # HigherHRNet CrowdPose, 14 joints (MMPose model zoo, higherhrnet_crowdpose.md). The official
    # repository publishes CrowdPose results (W48 640: 65.9 AP, 67.6 multi-scale) but no files.
    _higher_mmpose(32, 512, "higher_hrnet32_crowdpose_512x512-1aa4a132_20201017.pth", None, 65.5,
                   crowdpose=True),
    # torchvision person detectors (COCO; box AP over all 80 classes)
    _tv("fasterrcnn-r50-fpn-v2-coco", "fasterrcnn-r50-fpn-v2", "fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth",
        "FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1", 280.371, Accuracy("COCO box AP", 46.7, _TVSRC)),
    _tv("fasterrcnn-r50-fpn-coco", "fasterrcnn-r50-fpn", "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",
        "FasterRCNN_ResNet50_FPN_Weights.COCO_V1", 134.38, Accuracy("COCO box AP", 37.0, _TVSRC)),
    _tv("fasterrcnn-mobilenet-v3-large-fpn-coco", "fasterrcnn-mobilenet-v3-large-fpn",
        "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth", "FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1",
        4.494, Accuracy("COCO box AP", 32.8, _TVSRC)),
    _tv("retinanet-r50-fpn-v2-coco", "retinanet-r50-fpn-v2", "retinanet_resnet50_fpn_v2_coco-5905b1c5.pth",
        "RetinaNet_ResNet50_FPN_V2_Weights.COCO_V1", 152.238, Accuracy("COCO box AP", 41.5, _TVSRC)),
    _tv("fcos-r50-fpn-coco", "fcos-r50-fpn", "fcos_resnet50_fpn_coco-99b0c9b7.pth",
        "FCOS_ResNet50_FPN_Weights.COCO_V1", 128.207, Accuracy("COCO box AP", 39.2, _TVSRC)),
    _tv("keypointrcnn-r50-fpn-coco", "keypointrcnn-r50-fpn", "keypointrcnn_resnet50_fpn_coco-fc266e95.pth",
        "KeypointRCNN_ResNet50_FPN_Weights.COCO_V1", 137.42, Accuracy("COCO box AP", 54.6, _TVSRC)),
    # torchvision RAFT: the enums' DEFAULT weights (C+T+Sintel+K+HD1K; Sintel test clean EPE)
    _tv("raft-large", "raft-large", "raft_large_C_T_SKHT_V2-ff5fadd5.pth", "Raft_Large_Weights.C_T_SKHT_V2",
        211.007, Accuracy("Sintel-test EPE", 1.819, _TVSRC)),
    _tv("raft-small", "raft-small", "raft_small_C_T_V2-01064c6d.pth", "Raft_Small_Weights.C_T_V2",
        47.655, Accuracy("Sintel-train EPE", 1.990, _TVSRC)),
)

_ARCHS: dict[str, Architecture] = {a.name: a for a in _BUILTIN_ARCHS}
_WEIGHTS: dict[str, Weights] = {w.name: w for w in _BUILTIN_WEIGHTS}


# --- registry API -------------------------------------------------------------------------------


def _unknown(what: str, name: str, known: list[str], hint: str) -> ConfigError:
    close = difflib.get_close_matches(name, list(known), n=3)
    did = f" (did you mean {', '.join(close)}?)" if close else ""
    return ConfigError(f"unknown {what} '{name}'{did}; {hint}")


def architectures(kind: Kind | None = None, include_test: bool = False) -> list[Architecture]:
    """All architectures (of one ``kind``), in registration order; test-only ones when asked."""
    return [a for a in _ARCHS.values()
            if (kind is None or a.kind == kind) and (include_test or not a.test_only)]


def architecture_names(*kinds: Kind, include_test: bool = False) -> tuple[str, ...]:
    """Names of the architectures of ``kinds`` (all kinds when none given)."""
    return tuple(a.name for a in architectures(include_test=include_test) if not kinds or a.kind in kinds)


def architecture(name: str, *kinds: Kind, what: str = "architecture") -> Architecture:
    """The architecture ``name`` (of one of ``kinds`` when given); ConfigError naming the closest."""
    arch = _ARCHS.get(name)
    if arch is None or (kinds and arch.kind not in kinds):
        known = architecture_names(*kinds, include_test=True)
        shown = ", ".join(architecture_names(*kinds)) if kinds else None
        hint = f"known: {shown}" if shown else "`posetrack weights list` shows the known networks"
        raise _unknown(what, name, list(known), hint)
    return arch


def entries(kind: Kind | None = None) -> list[Weights]:
    """All weights entries (of one ``kind``), in registration order."""
    return [w for w in _WEIGHTS.values() if kind is None or w.kind == kind]


def get_entry(name: str) -> Weights:
    try:
        return _WEIGHTS[name]
    except KeyError:
        raise _unknown("zoo weights", name, list(_WEIGHTS), "`posetrack weights list` shows the names") from None


def register(entry: Entry, *, replace: bool = False) -> None:
    """Add an architecture or a weights entry (``replace``: over one of the same name)."""
    table: dict[str, Any] = _ARCHS if isinstance(entry, Architecture) else _WEIGHTS
    if entry.name in table and not replace:
        raise ValueError(f"zoo entry {entry.name} already exists")
    table[entry.name] = entry


@contextlib.contextmanager
def registered(*new: Entry) -> Iterator[None]:
    """Add entries for the duration of a ``with`` block (tests, experiments), then restore."""
    saved = dict(_ARCHS), dict(_WEIGHTS)
    try:
        for e in new:
            register(e, replace=True)
        yield
    finally:
        for table, old in zip((_ARCHS, _WEIGHTS), saved):
            table.clear()
            table.update(old)


def default_entry_for_model(arch_name: str) -> Weights | None:
    """The weights ``weights: zoo`` means for ``arch_name`` (None where none are published)."""
    name = architecture(arch_name).default_weights
    return _WEIGHTS[name] if name is not None else None


# --- resolving and fetching ---------------------------------------------------------------------


def ensure_downloaded(entry: Weights, progress: bool = True, retry: download.RetryPolicy | None = None) -> Path:
    """The entry's verified local file, downloading it into the cache on first use."""
    from posetrack import download

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


@dataclass(frozen=True)
class Resolved:
    """What a stage runs: the architecture, the zoo entry (None for a user's file or random init),
    the local file (None: random init) and the preprocessing that goes with the weights."""

    arch: Architecture
    weights: Weights | None
    path: Path | None

    @property
    def preprocessing(self) -> Preprocessing:
        return self.weights.preprocessing if self.weights is not None else self.arch.preprocessing

    @property
    def checkpoint_layout(self) -> CheckpointLayout | None:
        return self.weights.checkpoint_layout if self.weights is not None else None


def resolve(
    spec: str | None, arch_name: str, *, progress: bool = True, retry: download.RetryPolicy | None = None,
) -> Resolved:
    """Turn a config's ``weights`` value for the network ``arch_name`` into what to load.

    ``None`` → random init; ``"zoo"`` → the architecture's default entry, downloaded on first use;
    a zoo entry name → that entry (it must fit the network); anything else → an existing file.
    """
    arch = architecture(arch_name)
    if spec is None:
        return Resolved(arch, None, None)
    if spec == "zoo":
        entry = default_entry_for_model(arch_name)
        if entry is None:
            raise ConfigError(
                f"the zoo has no weights for model '{arch_name}'; give a weights file, or null for "
                f"random initialisation"
            )
        return Resolved(arch, entry, ensure_downloaded(entry, progress=progress, retry=retry))
    if spec in _WEIGHTS:
        entry = _WEIGHTS[spec]
        if not entry.fits(arch_name):
            raise ConfigError(f"zoo weights '{spec}' are for model '{entry.arch}', not '{arch_name}'")
        return Resolved(arch, entry, ensure_downloaded(entry, progress=progress, retry=retry))
    path = Path(spec).expanduser()
    if not path.is_file():
        close = difflib.get_close_matches(spec, _WEIGHTS, n=1)
        hint = f" (did you mean zoo weights '{close[0]}'?)" if close else ""
        raise InputError(f"weights file not found: {spec}{hint}")
    return Resolved(arch, None, path)


def resolve_weights(
    spec: str | None, arch_name: str, *, progress: bool = True, retry: download.RetryPolicy | None = None,
) -> Path | None:
    """The local file for a config's ``weights`` value (None: random init); see :func:`resolve`."""
    return resolve(spec, arch_name, progress=progress, retry=retry).path
