"""Person box -> crop geometry of the official HRNet test path, and the crops themselves.

Conventions are those of HRNet/deep-high-resolution-net.pytorch (``_xywh2cs``,
``get_affine_transform``, ``crop``): a person is described by a *center* (x, y) and a *scale*
(w, h) in units of ``PIXEL_STD`` = 200 px, the box fitted to the network aspect ratio and padded by
1.25. The crop is the rotation-free affine map sending the center to the middle of the network input
and ``scale[0] * 200`` image pixels to the input width (``scale[1]`` is never used by the map; it
only follows the aspect ratio).

Our boxes are (x1, y1, x2, y2); the official code reads (x, y, w, h). :func:`boxes_to_center_scale`
converts with ``w = x2 - x1`` and ``h = y2 - y1`` (no +1), so a COCO detection ``[x, y, w, h]``
stored as ``[x, y, x + w, y + h]`` gives the official center and scale (to float32 rounding of the
stored box; :func:`xywh_to_center_scale` takes the xywh values directly for exact parity).

Two crop implementations give the same pixels: :func:`crop_cv2` (``cv2.warpAffine``, INTER_LINEAR,
constant 0 border, as the official code) for numpy frames, and :func:`crop_torch` for frames that are
already torch tensors (CUDA). The torch version reproduces the 8-bit arithmetic of the installed
OpenCV: the classic fixed point of OpenCV <= 4.x (source coordinates rounded to 1/32 pixel, integer
weights in 1/32768, round half up), or OpenCV 5's float path (float32 coordinates computed as
``fma(x, m0, m1 * y + m2)``, float32 weights, round half to even); tests measure the difference.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import torch

# torchvision.transforms.Normalize values used by the official test scripts (the zoo's default)
from posetrack.zoo import IMAGENET_MEAN, IMAGENET_STD

PIXEL_STD = 200.0
PADDING = 1.25



def xywh_to_center_scale(
    xywh: np.ndarray, aspect_ratio: float, padding: float = PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """Official ``_xywh2cs`` for (N, 4) boxes x, y, w, h -> centers (N, 2), scales (N, 2) float32.

    ``aspect_ratio`` is the network input width / height. The box grows along its short side to
    that ratio, then both sides are multiplied by ``padding`` (official quirk kept: no padding when
    the center x is exactly -1).
    """
    b = np.asarray(xywh, dtype=np.float64).reshape(-1, 4)
    x, y, w, h = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    centers = np.stack([x + w * 0.5, y + h * 0.5], axis=1).astype(np.float32)
    wider = w > aspect_ratio * h
    taller = w < aspect_ratio * h
    h_fit = np.where(wider, w * 1.0 / aspect_ratio, h)
    w_fit = np.where(taller, h * aspect_ratio, w)
    scales = np.stack([w_fit * 1.0 / PIXEL_STD, h_fit * 1.0 / PIXEL_STD], axis=1).astype(np.float32)
    pad = np.where(centers[:, 0:1] != -1, np.float32(padding), np.float32(1.0))
    scales = (scales * pad).astype(np.float32)
    return centers, scales


def boxes_to_center_scale(
    boxes: np.ndarray, aspect_ratio: float, padding: float = PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) boxes x1, y1, x2, y2 -> official centers and scales (w = x2 - x1, h = y2 - y1)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    return xywh_to_center_scale(xywh, aspect_ratio, padding)


def _triangles(centers: np.ndarray, scales: np.ndarray, size: tuple[int, int]):
    """The three point pairs of the official get_affine_transform (rot = 0, shift = 0).

    Built with the official dtypes (float64 sums stored in float32, the third point in float32) so
    that cv2.getAffineTransform sees bit-identical inputs.
    """
    c = np.asarray(centers, dtype=np.float32).reshape(-1, 2)
    s = np.asarray(scales, dtype=np.float32).reshape(-1, 2)
    n = len(c)
    src_w = s[:, 0] * np.float32(PIXEL_STD)  # float32 like the official scale * 200.0
    dst_w, dst_h = float(size[0]), float(size[1])
    src = np.zeros((n, 3, 2), np.float32)
    dst = np.zeros((n, 3, 2), np.float32)
    src[:, 0] = c
    src[:, 1, 0] = c[:, 0].astype(np.float64) + 0.0
    src[:, 1, 1] = c[:, 1].astype(np.float64) + (src_w * np.float32(-0.5)).astype(np.float64)
    dst[:, 0] = (dst_w * 0.5, dst_h * 0.5)
    dst[:, 1] = (dst_w * 0.5, dst_h * 0.5 + dst_w * -0.5)
    for pts in (src, dst):
        direct = pts[:, 0] - pts[:, 1]  # float32
        pts[:, 2, 0] = pts[:, 1, 0] - direct[:, 1]
        pts[:, 2, 1] = pts[:, 1, 1] + direct[:, 0]
    return src, dst


def affine_matrices(
    centers: np.ndarray, scales: np.ndarray, size: tuple[int, int], inverse: bool = False
) -> np.ndarray:
    """(N, 2, 3) float64 maps image -> crop of ``size`` (w, h); ``inverse`` maps crop -> image.

    Same as the official ``get_affine_transform(center, scale, 0, size, inv=inverse)``.
    """
    src, dst = _triangles(centers, scales, size)
    out = np.empty((len(src), 2, 3), np.float64)
    for i in range(len(src)):  # one 3-point solve per person, through the same OpenCV routine
        out[i] = cv2.getAffineTransform(dst[i], src[i]) if inverse else cv2.getAffineTransform(src[i], dst[i])
    return out


def apply_affine(points: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Map (N, K, 2) points with (N, 2, 3) matrices (float64)."""
    p = np.asarray(points, dtype=np.float64)
    m = np.asarray(matrices, dtype=np.float64)
    return np.einsum("nij,nkj->nki", m[:, :, :2], p) + m[:, None, :, 2]


def crop_cv2(image: np.ndarray, matrices: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, h, w, 3) uint8 crops of an HxWx3 uint8 image, exactly the official ``cv2.warpAffine``."""
    w, h = int(size[0]), int(size[1])
    out = np.empty((len(matrices), h, w, image.shape[2]), dtype=image.dtype)
    for i, m in enumerate(matrices):
        out[i] = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR)
    return out


def _invert_affine(m: np.ndarray) -> np.ndarray:
    """cv2.invertAffineTransform, vectorised (float64)."""
    a, b, c = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    d, e, f = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    det = a * e - b * d
    det = np.where(det != 0, 1.0 / det, 0.0)
    a11, a22 = e * det, a * det
    a12, a21 = -b * det, -d * det
    b1 = -a11 * c - a12 * f
    b2 = -a21 * c - a22 * f
    return np.stack([np.stack([a11, a12, b1], 1), np.stack([a21, a22, b2], 1)], 1)


def _source_coords_fixed(inv: torch.Tensor, w: int, h: int):
    """OpenCV's classic fixed-point source coordinates (AB_BITS = 10, INTER_BITS = 5).

    Returns integer pixel (x0, y0) and 1/32 fractions (fx, fy), each (n, h, w) int64.
    """
    dev = inv.device
    xs = torch.arange(w, device=dev, dtype=torch.float64)
    ys = torch.arange(h, device=dev, dtype=torch.float64)
    m = inv.view(-1, 2, 3, 1, 1)
    # X0 = round((M1 * y + M2) * 1024) + 16 per row, adelta = round(M0 * x * 1024) per column
    row = torch.round((m[:, :, 1] * ys.view(1, 1, h, 1) + m[:, :, 2]) * 1024.0).long() + 16
    col = torch.round(m[:, :, 0] * xs.view(1, 1, 1, w) * 1024.0).long()
    xy = torch.bitwise_right_shift(row + col, 5)  # (n, 2, h, w) in 1/32 pixels
    whole = torch.bitwise_right_shift(xy, 5)
    frac = torch.bitwise_and(xy, 31)
    return whole[:, 0], whole[:, 1], frac[:, 0], frac[:, 1]


def _gather_taps(image: torch.Tensor, x0: torch.Tensor, y0: torch.Tensor) -> list[torch.Tensor]:
    """The 2x2 neighbours (int32, (..., ch)) of each (x0, y0), zero outside the image.

    The frame is padded with zeros (2 pixels before, 3 after; BORDER_CONSTANT 0) and the
    coordinates clamped into the padding, so every tap is a plain gather; the channels are packed
    into one int32 per pixel so each tap is a single 1-D gather.
    """
    hgt, wid, ch = image.shape
    padded = torch.nn.functional.pad(image.permute(2, 0, 1), (2, 3, 2, 3)).to(torch.int32)
    packed = padded[0]
    for c in range(1, ch):
        packed = packed | (padded[c] << (8 * c))
    packed = packed.reshape(-1)
    pw = wid + 5
    xi = x0.clamp(-2, wid + 1).add_(2)
    yi = y0.clamp(-2, hgt + 1).add_(2)
    i00 = yi * pw + xi
    shifts = torch.arange(0, 8 * ch, 8, device=image.device, dtype=torch.int32)
    taps = []
    for off in (0, 1, pw, pw + 1):
        v = torch.take(packed, i00 + off).unsqueeze(-1)
        taps.append((v >> shifts) & 255)
    return taps


@functools.lru_cache(maxsize=1)
def opencv_warp_arithmetic() -> str:
    """Which arithmetic the installed cv2.warpAffine uses for 8-bit INTER_LINEAR.

    OpenCV 4.x (and the official HRNet environment) uses fixed point: coordinates rounded to
    1/32 pixel and 15-bit integer weights ("fixed"); OpenCV 5 uses float32 coordinates and weights
    ("float"). Decided once by warping a probe image both ways.
    """
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (37, 41, 3), dtype=np.uint8)
    m = np.array([[[0.731, 0.0, 3.37], [0.0, 0.731, -2.91]], [[2.13, 0.0, -20.3], [0.0, 2.13, -11.7]],
                  [[0.139, 0.0, 1.9], [0.0, 0.139, 2.3]]])
    ref = crop_cv2(img, m, (24, 32))
    timg = torch.from_numpy(img)
    diffs = {}
    for mode in ("fixed", "float"):
        out = crop_torch(timg, m, (24, 32), arithmetic=mode).permute(0, 2, 3, 1).numpy()
        diffs[mode] = int((out != ref).sum())
    return min(diffs, key=diffs.get)


def crop_torch(
    image: torch.Tensor, matrices: np.ndarray, size: tuple[int, int], arithmetic: str = "auto"
) -> torch.Tensor:
    """(N, 3, h, w) uint8 crops of an HxWx3 uint8 tensor on any device, matching :func:`crop_cv2`.

    Bilinear sampling with a zero border written as gathers, so each output pixel uses the same
    source coordinates, weights and rounding as OpenCV's warpAffine: ``arithmetic`` "fixed"
    (OpenCV 4.x), "float" (OpenCV 5) or "auto" (whichever the installed cv2 uses).
    """
    if arithmetic == "auto":
        arithmetic = opencv_warp_arithmetic()
    dev = image.device
    ch = image.shape[2]
    w, h = int(size[0]), int(size[1])
    n = len(matrices)
    if n == 0:
        return torch.zeros((0, ch, h, w), dtype=torch.uint8, device=dev)
    inv64 = _invert_affine(np.asarray(matrices, np.float64).reshape(-1, 2, 3))
    if arithmetic == "fixed":
        x0, y0, fx, fy = _source_coords_fixed(torch.as_tensor(inv64, device=dev), w, h)
        p00, p01, p10, p11 = _gather_taps(image, x0, y0)
        fx, fy = fx.to(torch.int32).unsqueeze(-1), fy.to(torch.int32).unsqueeze(-1)
        # weights in 1/1024, scaled by 32 to OpenCV's 1/32768 (exact, as in its coefficient table)
        acc = ((32 - fx) * (32 - fy) * p00 + fx * (32 - fy) * p01 + (32 - fx) * fy * p10 + fx * fy * p11) * 32
        out = torch.bitwise_right_shift(acc + (1 << 14), 15).clamp_(0, 255).to(torch.uint8)
        return out.permute(0, 3, 1, 2).contiguous()
    if arithmetic != "float":
        raise ValueError(f"unknown warp arithmetic {arithmetic!r} (auto, fixed, float)")
    inv = torch.as_tensor(inv64.astype(np.float32), device=dev)
    xs = torch.arange(w, device=dev, dtype=torch.float32)
    ys = torch.arange(h, device=dev, dtype=torch.float32)
    m = inv.view(n, 2, 3, 1, 1)
    # row part in float32, then a fused multiply-add emulated in float64 (exact product, one rounding)
    row = (m[:, :, 1] * ys.view(1, 1, h, 1) + m[:, :, 2]).double()  # (n, 2, h, 1)
    src = (xs.double().view(1, 1, 1, w) * m[:, :, 0].double() + row).float()  # (n, 2, h, w)
    x0f, y0f = torch.floor(src[:, 0]), torch.floor(src[:, 1])
    ax = (src[:, 0] - x0f).unsqueeze(-1)
    ay = (src[:, 1] - y0f).unsqueeze(-1)
    p00, p01, p10, p11 = (t.float() for t in _gather_taps(image, x0f.long(), y0f.long()))
    top = p00 + ax * (p01 - p00)
    bottom = p10 + ax * (p11 - p10)
    out = top + ay * (bottom - top)
    out = torch.round(out).clamp_(0, 255).to(torch.uint8)  # torch.round: half to even, like rint
    return out.permute(0, 3, 1, 2).contiguous()


def normalize_crops(
    crops: torch.Tensor,
    mean: tuple[float, float, float] | None = IMAGENET_MEAN,
    std: tuple[float, float, float] | None = IMAGENET_STD,
) -> torch.Tensor:
    """uint8 (N, 3, h, w) RGB -> float32 as the official ToTensor() then Normalize(mean, std).

    The one image normaliser of the pose stage (top-down crops and bottom-up images); ``mean`` and
    ``std`` come from the weights entry (None: /255 only).
    """
    x = crops.to(torch.float32).div(255)
    if mean is not None:
        x = x.sub_(torch.tensor(mean, dtype=torch.float32, device=x.device).view(1, 3, 1, 1))
    if std is not None:
        x = x.div_(torch.tensor(std, dtype=torch.float32, device=x.device).view(1, 3, 1, 1))
    return x
