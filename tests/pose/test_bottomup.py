"""Bottom-up inference end to end with an oracle network, and the official resize geometry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from posetrack.errors import ConfigError
from posetrack.keypoints import COCO17
from posetrack.pose.bottomup import BottomUpEstimator, keypoint_boxes, normalise, stage_maps
from posetrack.pose.bottomup_transforms import (
    affine_matrix,
    multi_scale_size,
    resize_for_scale,
    to_image_coords,
)
from posetrack.pose.config import PoseConfig
from posetrack.types import Poses

from .test_grouping import check_people

K = 17
W, H = 160, 120  # test image; input_size 256 upscales it (x 2.13) to a 384 x 256 input
INPUT = 256

# A standing person, unit height (x right, y down), COCO joint order.
TEMPLATE = np.array([
    (0.0, -0.42), (0.03, -0.45), (-0.03, -0.45), (0.07, -0.43), (-0.07, -0.43),
    (0.15, -0.28), (-0.15, -0.28), (0.22, -0.08), (-0.22, -0.08), (0.25, 0.10), (-0.25, 0.10),
    (0.10, 0.05), (-0.10, 0.05), (0.10, 0.27), (-0.10, 0.27), (0.10, 0.48), (-0.10, 0.48),
])  # fmt: skip


class OracleNet(nn.Module):
    """Renders planted people as a HigherHRNet would see them in whatever input it is given.

    It knows the people in image pixels and that the input shows the image scaled to fit and
    centred on the image's integer centre; it tells a flipped input from the image's red ramp
    (dark left, bright right), and then answers as a network would for a mirrored picture: the
    channel of a joint fires where its left/right partner appears. Outputs follow the official
    structure [(B, 2K, h/4, w/4) heatmaps + tags, (B, K, h/2, w/2) heatmaps]. Peaks sit half an
    input pixel up-left of the joint because the official decoder reads pixel p as p + 0.5.
    """

    def __init__(self, people: np.ndarray, tags: np.ndarray, vals: np.ndarray) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(()))
        present = ~np.isnan(people[..., 0])
        self.people = torch.tensor(np.nan_to_num(people), dtype=torch.float32)
        self.present = torch.tensor(present)
        self.tags = torch.tensor(tags, dtype=torch.float32)
        self.vals = torch.tensor(vals, dtype=torch.float32)
        self.flip = torch.tensor(COCO17.flip_index)

    def _flipped(self, x: torch.Tensor) -> bool:
        red = x[0, x.shape[1] // 3 : 2 * x.shape[1] // 3]
        w = x.shape[2]
        return bool(red[:, w // 2 - w // 8].mean() > red[:, w // 2 + w // 8].mean())

    def _render(self, h: int, w: int, stride: int, flipped: bool, with_tags: bool) -> torch.Tensor:
        f = min(w / W, h / H)
        centre = torch.tensor([int(W / 2 + 0.5), int(H / 2 + 0.5)], dtype=torch.float32)
        q = (self.people - centre) * f + torch.tensor([w / 2, h / 2], dtype=torch.float32) - 0.5  # (P, K, 2)
        present = self.present
        if flipped:
            q = q[:, self.flip].clone()
            q[..., 0] = w - 1 - q[..., 0]
            present = present[:, self.flip]
        hs, ws = h // stride, w // stride
        v = (torch.arange(hs, dtype=torch.float32) + 0.5) * stride - 0.5
        u = (torch.arange(ws, dtype=torch.float32) + 0.5) * stride - 0.5
        d2 = (u[None, None, None, :] - q[..., 0, None, None]) ** 2 + (
            v[None, None, :, None] - q[..., 1, None, None]
        ) ** 2  # (P, K, hs, ws)
        d2 = torch.where(present[..., None, None], d2, torch.inf)
        vals = self.vals[:, self.flip] if flipped else self.vals
        heat = (vals[..., None, None] * torch.exp(-d2 / (2.0 * stride**2))).amax(dim=0)
        if not with_tags:
            return heat.float()
        nearest = d2.argmin(dim=0)  # (K, hs, ws)
        tags = torch.where(present.any(0)[:, None, None], self.tags[nearest], 0.0)
        return torch.cat((heat, tags)).float()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        _, _, h, w = x.shape
        y4, y2 = [], []
        for item in x:
            flipped = self._flipped(item)
            y4.append(self._render(h, w, 4, flipped, True))
            y2.append(self._render(h, w, 2, flipped, False))
        return [torch.stack(y4) + 0 * self.anchor, torch.stack(y2)]


def ramp_image() -> np.ndarray:
    img = np.zeros((H, W, 3), np.uint8)
    img[:, :, 0] = np.linspace(0, 255, W)[None, :].astype(np.uint8)
    img[:, :, 1] = 90
    return img


def place(centres, height: float, rng) -> np.ndarray:
    people = np.array([c + TEMPLATE * height for c in np.asarray(centres, float)])
    return people + rng.uniform(-1.0, 1.0, people.shape)


def scenario(name: str, rng) -> np.ndarray:
    """(P, K, 2) planted joints in image pixels; NaN = missing (not visible)."""
    if name == "one":
        people = place([(80, 60)], 70, rng)
    elif name == "separated":
        people = place([(30, 60), (80, 55), (130, 62)], 60, rng)
    elif name == "touching":  # boxes overlap; same joints >= 12 px apart
        people = place([(40, 60), (53, 62), (66, 58), (79, 61), (92, 59), (105, 60)], 60, rng)
    elif name == "crowd20":
        grid = [(18 + 31 * i, 16 + 29 * j) for j in range(4) for i in range(5)]
        people = place(grid, 26, rng)
    elif name == "partly_outside":
        people = place([(150, 60), (60, 8), (80, 70)], 60, rng)
    elif name == "missing":
        people = place([(30, 60), (80, 60), (130, 60)], 60, rng)
        drop = rng.random(people.shape[:2]) < 0.35
        drop[:, 0] = [True, False, True]  # people first seen at a later joint
        people[drop] = np.nan
    else:
        raise AssertionError(name)
    outside = (people[..., 0] < 0) | (people[..., 0] > W - 1) | (people[..., 1] < 0) | (
        people[..., 1] > H - 1
    )
    people[outside] = np.nan
    return people


def estimate(people: np.ndarray, flip: bool, scales: list[float], **cfg) -> Poses:
    rng = np.random.default_rng(7)
    tags = np.arange(len(people)) * 2.0 + 0.5
    vals = rng.uniform(0.5, 1.0, people.shape[:2])
    # grouping alone: refine (on by default, as officially) would look for the planted missing joints
    cfg.setdefault("refine", False)
    config = PoseConfig(model="oracle", weights=None, flip_test=flip, scales=scales, **cfg)
    est = BottomUpEstimator(OracleNet(people, tags, vals), COCO17, config, INPUT, "cpu")
    return est.estimate(ramp_image())


CASES = ["one", "separated", "touching", "crowd20", "partly_outside", "missing"]


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("flip,scales", [(False, [1.0]), (True, [1.0]), (True, [1.0, 0.5])])
def test_planted_people_come_back(name, flip, scales):
    people = scenario(name, np.random.default_rng(CASES.index(name)))
    poses = estimate(people, flip, scales)
    assert poses.layout is COCO17
    check_people(poses.keypoints, people, tol=1.0)
    present = ~np.isnan(people[..., 0])
    assert present.sum() == (poses.keypoints[..., 2] > 0).sum()


def test_three_scales_and_boxes():
    people = scenario("separated", np.random.default_rng(11))
    poses = estimate(people, True, [2.0, 1.0, 0.5])
    check_people(poses.keypoints, people, tol=1.0)
    expected = np.stack(
        (np.nanmin(people[..., 0], 1), np.nanmin(people[..., 1], 1),
         np.nanmax(people[..., 0], 1), np.nanmax(people[..., 1], 1)), axis=1,
    )  # fmt: skip
    got = poses.boxes[np.argsort(poses.boxes[:, 0])]
    np.testing.assert_allclose(got, expected[np.argsort(expected[:, 0])], atol=1.0)
    assert (poses.scores > 0.3).all() and (poses.track_ids == -1).all()


def test_posetrack_output_layout():
    people = scenario("separated", np.random.default_rng(1))
    coco = estimate(people, True, [1.0])
    pt = estimate(people, True, [1.0], output_layout="posetrack17")
    assert pt.layout.name == "posetrack17-from-coco" and pt.layout.num_joints == K
    np.testing.assert_allclose(pt.keypoints[:, 5:], coco.keypoints[:, 5:])
    np.testing.assert_allclose(pt.boxes, coco.boxes)
    with pytest.raises(ConfigError, match="output_layout"):
        BottomUpEstimator(nn.Identity(), COCO17, PoseConfig(output_layout="mpii"), INPUT, "cpu")


def test_no_people_gives_empty_poses():
    people = np.full((1, K, 2), np.nan)
    poses = estimate(people, True, [1.0])
    assert len(poses) == 0 and poses.keypoints.shape == (0, K, 3)


@pytest.mark.parametrize(
    "w,h,scale,min_scale,size,center,box",
    [
        (640, 480, 1.0, 1.0, (704, 512), (320, 240), (3.3, 2.4)),
        (480, 640, 1.0, 1.0, (512, 704), (240, 320), (2.4, 3.3)),
        (1920, 1080, 1.0, 1.0, (960, 512), (960, 540), (10.125, 5.4)),
        (333, 201, 1.0, 1.0, (896, 512), (167, 101), (1.75875, 1.005)),
        (500, 500, 1.0, 1.0, (512, 512), (250, 250), (2.5, 2.5)),
        (640, 480, 1.0, 0.5, (768, 512), (320, 240), (3.6, 2.4)),
        (640, 480, 2.0, 0.5, (1536, 1024), (320, 240), (3.6, 2.4)),
        (640, 480, 0.5, 0.5, (384, 256), (320, 240), (3.6, 2.4)),
    ],
)  # fmt: skip
def test_multi_scale_size_matches_official_formula(w, h, scale, min_scale, size, center, box):
    got_size, got_center, got_box = multi_scale_size(w, h, 512, scale, min_scale)
    assert got_size == size
    assert got_center.tolist() == list(center)
    np.testing.assert_allclose(got_box, box, rtol=1e-12)


def test_resize_keeps_aspect_and_centres_the_image():
    img = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    out, center, box = resize_for_scale(img, 256, 1.0, 1.0)
    assert out.shape == (256, 384, 3)
    trans = affine_matrix(center, box, (384, 256))
    np.testing.assert_allclose(trans[:, :2], np.eye(2) * 256 / 120, rtol=1e-6)
    np.testing.assert_allclose(trans @ [80, 60, 1], [192, 128], atol=1e-4)
    assert out[:, :15].max() == 0 and out[:, -15:].max() == 0  # black padding left and right
    pts = np.array([[10.0, 20.0], [300.0, 100.0]])
    back = to_image_coords(pts, center, box, (384, 256))
    np.testing.assert_allclose(back, np.linalg.solve(trans[:, :2], (pts - trans[:, 2]).T).T, atol=1e-4)


def test_normalise_is_imagenet_rgb():
    img = np.zeros((2, 3, 3), np.uint8)
    img[..., 0] = 255
    x = normalise(img, "cpu")
    assert x.shape == (1, 3, 2, 3)
    expected = [(1 - 0.485) / 0.229, -0.456 / 0.224, -0.406 / 0.225]
    np.testing.assert_allclose(x[0, :, 0, 0].numpy(), expected, rtol=1e-6)


def test_stage_maps_average_heatmaps_and_take_first_tags():
    y4 = torch.rand(1, 2 * K, 4, 6)
    y2 = torch.rand(1, K, 8, 12)
    heat, tags = stage_maps([y4, y2], K)
    up = torch.nn.functional.interpolate(y4, size=(8, 12), mode="bilinear", align_corners=False)
    torch.testing.assert_close(heat, (up[:, :K] + y2) / 2)
    torch.testing.assert_close(tags, up[:, K:])


def test_keypoint_boxes_ignore_undetected_joints():
    kp = np.zeros((1, K, 3), np.float32)
    kp[0, :2] = [(5, 6, 0.5), (15, 2, 0.4)]
    kp[0, 2] = (100, 100, 0.0)
    assert keypoint_boxes(kp).tolist() == [[5, 2, 15, 6]]


def test_multi_scale_without_scale_one_is_refused():
    config = PoseConfig(scales=[2.0, 0.5])
    with pytest.raises(ConfigError, match="scales"):
        BottomUpEstimator(nn.Identity(), COCO17, config, 512, "cpu")


def _official_order_maps(model, image, input_size, scales, flip):
    """The official test-time aggregation restated step by step: one forward per flip, flip and
    joint swap per output, resize to the scale-1 input, average, tags of scale 1 stacked last."""
    F = torch.nn.functional
    h, w = image.shape[:2]
    base, _, _ = multi_scale_size(w, h, input_size, 1.0, min(scales))
    fi = torch.as_tensor(COCO17.flip_index)
    final, tag_list = None, []
    for s in sorted(scales, reverse=True):
        resized, _, _ = resize_for_scale(image, input_size, s, min(scales))
        x = normalise(resized, "cpu")
        heats, tags = [], []
        for flipped in [False, True] if flip else [False]:
            outs = model(torch.flip(x, [3]) if flipped else x)
            acc = 0
            for i, o in enumerate(outs):
                if i != len(outs) - 1:
                    o = F.interpolate(o, size=outs[-1].shape[2:], mode="bilinear", align_corners=False)
                if flipped:
                    o = torch.flip(o, [3])
                acc = acc + (o[:, :K][:, fi] if flipped else o[:, :K])
                if i == 0:
                    tags.append(o[:, K:][:, fi] if flipped else o[:, K:])
            heats.append(acc / len(outs))
        size = (base[1], base[0])
        heats = [F.interpolate(t, size=size, mode="bilinear", align_corners=False) for t in heats]
        tags = [F.interpolate(t, size=size, mode="bilinear", align_corners=False) for t in tags]
        avg = (heats[0] + heats[1]) / 2.0 if flip else heats[0]
        final = avg if final is None else final + avg
        if s == 1 or len(scales) == 1:
            tag_list += [t.unsqueeze(4) for t in tags]
    return final / float(len(scales)), torch.cat(tag_list, dim=4)


@pytest.mark.parametrize(
    "flip,scales,channels_last,map_size",
    [(True, [1.0], False, (128, 192)), (True, [1.0, 0.5], True, (128, 256))],
)
def test_tiny_higherhrnet_matches_official_order_and_runs(flip, scales, channels_last, map_size):
    from posetrack.pose.models import build_model, model_spec

    torch.manual_seed(0)
    name = "higherhrnet-w8-128"
    model = build_model(name)
    size = model_spec(name).input_size[0]
    image = np.random.default_rng(0).integers(0, 255, (90, 70, 3), dtype=np.uint8)
    config = PoseConfig(model=name, weights=None, flip_test=flip, scales=scales, channels_last=channels_last)
    est = BottomUpEstimator(model, COCO17, config, size, "cpu")
    maps = est.aggregate(image)
    with torch.inference_mode():
        heat, tags = _official_order_maps(model, image, size, scales, flip)
    assert maps.heatmaps.shape == heat.shape[1:] and maps.tags.shape == tags.shape[1:]
    # Portrait: short side 128, long side 90/70*128 rounded up to 64 (at the smallest scale).
    assert maps.size == map_size
    torch.testing.assert_close(maps.heatmaps, heat[0], atol=1e-4, rtol=0)
    torch.testing.assert_close(maps.tags, tags[0], atol=1e-4, rtol=0)
    poses = est.estimate(image)
    assert poses.keypoints.shape[1:] == (K, 3) and len(poses) <= 30 * K
    assert np.isfinite(poses.keypoints).all() and np.isfinite(poses.boxes).all()


@pytest.mark.parametrize("name", ["missing", "crowd20"])
@pytest.mark.parametrize("flip", [False, True])
def test_estimator_refines_the_same_on_tiled_and_dense_maps(name, flip):
    # The estimator's own path (maps made under inference mode, grouped after), refine on.
    people = scenario(name, np.random.default_rng(5))
    rng = np.random.default_rng(7)
    vals = rng.uniform(0.5, 1.0, people.shape[:2])
    vals[rng.random(vals.shape) < 0.2] = 0.06  # weak joints: refine's work
    config = PoseConfig(model="oracle", weights=None, flip_test=flip, refine=True)
    net = OracleNet(people, np.arange(len(people)) * 2.0 + 0.5, vals)
    est = BottomUpEstimator(net, COCO17, config, INPUT, "cpu")
    assert est.lazy_maps
    maps = est.aggregate(ramp_image())
    assert type(maps.maps).__name__ == "TiledMaps"
    tiled = est.group(maps)
    est.lazy_maps = False
    dense = est.estimate(ramp_image())
    assert len(tiled) > 0
    np.testing.assert_array_equal(tiled.keypoints, dense.keypoints)
    np.testing.assert_array_equal(tiled.scores, dense.scores)
