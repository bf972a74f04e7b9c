"""Top-down inference end to end: geometry with an oracle network, precision, batching, NMS, HRNet."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torchvision.transforms as T

from posetrack.keypoints import COCO17, POSETRACK17_FROM_COCO, coco_to_posetrack
from posetrack.pose.config import PoseConfig
from posetrack.pose.topdown import TopDownEstimator
from posetrack.types import Detections

from .topdown_oracle import OracleHeatmapNet, coordinate_image

INPUT = (96, 128)  # network input (w, h) -> 24 x 32 heatmaps
STRIDE = 4
HM = (INPUT[0] // STRIDE, INPUT[1] // STRIDE)

# (x1, y1, x2, y2) person boxes in a 256 x 256 scene: tiny to larger than the scene, tall, wide,
# square, and several partly outside the scene.
FRAMES = [
    [(100, 100, 120, 140), (10, 20, 70, 50), (150, 30, 250, 230), (-30, 120, 40, 250),
     (180, -40, 300, 60), (60, 170, 90, 290)],
    [(40, 40, 215, 215), (-80, -20, 330, 320), (200, 140, 260, 150), (120, 200, 124, 256),
     (5, 5, 25, 15)],
]


def box_geometry(box):
    """Center and crop width of a box, re-derived from the paper's recipe (aspect fit, x1.25)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    ratio = INPUT[0] / INPUT[1]
    cx, cy = x1 + w / 2, y1 + h / 2
    if w > ratio * h:
        h = w / ratio
    elif w < ratio * h:
        w = h * ratio
    return np.array([cx, cy]), 1.25 * w


def heatmap_to_scene(box, uv):
    """Heatmap pixel (u, v) of a box's crop -> scene pixel: crop x = STRIDE * u, crop centre = box centre."""
    centre, src_w = box_geometry(box)
    k = src_w / INPUT[0]
    return centre + (STRIDE * np.asarray(uv) - np.array(INPUT) / 2) * k


def plant(rng, on_quarter_grid: bool):
    """Per frame: boxes and their planted keypoints (17 joints, heatmap positions 3..W-4)."""
    frames = []
    for boxes in FRAMES:
        people = []
        for box in boxes:
            if on_quarter_grid:
                uv = np.stack([rng.integers(3, HM[0] - 4, 17), rng.integers(3, HM[1] - 4, 17)], 1) + 0.25
            else:
                uv = np.stack([rng.uniform(3, HM[0] - 4, 17), rng.uniform(3, HM[1] - 4, 17)], 1)
            people.append((box, heatmap_to_scene(box, uv)))
        frames.append(people)
    return frames


def make_estimator(frames, **cfg):
    people = [(box_geometry(b)[0], kp) for f in frames for b, kp in f]
    oracle = OracleHeatmapNet(people, COCO17.flip_index, STRIDE)
    config = PoseConfig(**{"oks_nms_threshold": 1.0, **cfg})
    return TopDownEstimator(oracle, COCO17, config, INPUT, "cpu")


def run_frames(est, frames, as_tensor=False):
    image = coordinate_image(256, 256)
    img = torch.from_numpy(image) if as_tensor else image
    outs = []
    for people in frames:
        boxes = np.array([b for b, _ in people], np.float32)
        outs.append(est.estimate(img, Detections(boxes, np.ones(len(boxes)))))
    return outs


def errors(outs, frames):
    return np.concatenate(
        [np.linalg.norm(p.keypoints[:, :, :2] - np.array([kp for _, kp in f]), axis=-1).ravel()
         for p, f in zip(outs, frames)]
    )


@pytest.mark.parametrize("flip", [False, True])
def test_official_decoder_returns_planted_keypoints(flip):
    # Quarter-grid heatmap positions are where the official quarter-offset decoder is exact; with
    # flip the mirrored branch lands a quarter pixel right (see flip_bias test), still decoded there.
    frames = plant(np.random.default_rng(0), on_quarter_grid=True)
    est = make_estimator(frames, decode="official", flip_test=flip)
    err = errors(run_frames(est, frames), frames)
    assert err.max() < 0.5, err.max()


def test_dark_decoder_returns_planted_keypoints_at_any_position():
    frames = plant(np.random.default_rng(1), on_quarter_grid=False)
    est = make_estimator(frames, decode="dark", flip_test=False)
    err = errors(run_frames(est, frames), frames)
    assert err.max() < 0.5, err.max()


def test_flip_test_has_the_official_eighth_pixel_bias():
    # An ideal network on the mirrored crop puts joint x at (w_in - 1 - x) / 4; mirroring back and the
    # official one-pixel shift leave it 1/4 heatmap pixel right of the plain branch, so the average
    # sits 1/8 heatmap pixel (= stride / 8 input pixels) right of the truth, along the crop's x axis.
    frames = plant(np.random.default_rng(2), on_quarter_grid=False)
    est = make_estimator(frames, decode="dark", flip_test=True)
    outs = run_frames(est, frames)
    for poses, people in zip(outs, frames):
        for pred, (box, kp) in zip(poses.keypoints, people):
            bias = STRIDE / 8 * box_geometry(box)[1] / INPUT[0]
            expected = kp + np.array([bias, 0.0])
            assert np.abs(pred[:, :2] - expected).max() < 0.5
    # without the shift the mirrored branch would sit 3/4 pixel left: the shift direction matters
    est_noshift = make_estimator(frames, decode="dark", flip_test=True, shift_heatmap=False)
    assert errors(run_frames(est_noshift, frames), frames).max() > 1.0


def test_gpu_warp_path_and_batched_frames_match_numpy_path():
    frames = plant(np.random.default_rng(3), on_quarter_grid=False)
    est = make_estimator(frames, decode="dark", flip_test=True)
    ref = run_frames(est, frames)
    tensor = run_frames(est, frames, as_tensor=True)
    image = coordinate_image(256, 256)
    dets = [Detections(np.array([b for b, _ in f], np.float32), np.ones(len(f))) for f in frames]
    chw = torch.from_numpy(image).permute(2, 0, 1)
    batched = est.estimate_batch([image, chw], dets)
    for a, b, c in zip(ref, tensor, batched):
        np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-4)
        np.testing.assert_allclose(a.keypoints, c.keypoints, atol=1e-4)
        np.testing.assert_array_equal(a.boxes, c.boxes)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_within_one_pixel(precision):
    frames = plant(np.random.default_rng(4), on_quarter_grid=True)
    ref = run_frames(make_estimator(frames, flip_test=True), frames)
    low = run_frames(make_estimator(frames, flip_test=True, precision=precision, channels_last=True), frames)
    for a, b in zip(ref, low):
        assert np.abs(a.keypoints[..., :2] - b.keypoints[..., :2]).max() < 1.0
        assert np.abs(a.keypoints[..., 2] - b.keypoints[..., 2]).max() < 0.02


def test_small_batch_size_chunks_give_same_result():
    frames = plant(np.random.default_rng(5), on_quarter_grid=True)
    a = run_frames(make_estimator(frames, batch_size=32), frames)
    b = run_frames(make_estimator(frames, batch_size=2), frames)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.keypoints, y.keypoints)


def test_poses_carry_boxes_rescored_scores_and_layout():
    frames = plant(np.random.default_rng(6), on_quarter_grid=True)
    est = make_estimator(frames, flip_test=False, keypoint_threshold=0.2)
    people = frames[0]
    boxes = np.array([b for b, _ in people], np.float32)
    box_scores = np.linspace(0.5, 1.0, len(boxes)).astype(np.float32)
    poses = est.estimate(coordinate_image(256, 256), Detections(boxes, box_scores))
    assert poses.layout is COCO17 and est.needs_boxes
    np.testing.assert_array_equal(poses.boxes, boxes)
    s = poses.keypoints[..., 2]
    expected = box_scores * np.array([row[row > 0.2].mean() for row in s])
    np.testing.assert_allclose(poses.scores, expected, rtol=1e-6)
    assert (poses.track_ids == -1).all()
    empty = est.estimate(coordinate_image(256, 256), Detections.empty())
    assert len(empty) == 0 and empty.layout is COCO17


def test_posetrack_output_layout_converts_coco_joints():
    frames = plant(np.random.default_rng(7), on_quarter_grid=True)
    coco = run_frames(make_estimator(frames, flip_test=False), frames)
    pt = run_frames(make_estimator(frames, flip_test=False, output_layout="posetrack17"), frames)
    for a, b in zip(coco, pt):
        assert b.layout is POSETRACK17_FROM_COCO
        np.testing.assert_allclose(b.keypoints, coco_to_posetrack(a.keypoints), atol=1e-6)


def test_oks_nms_removes_duplicate_boxes():
    frames = plant(np.random.default_rng(8), on_quarter_grid=True)
    box, _ = frames[0][2]
    image = coordinate_image(256, 256)
    dets = Detections(np.array([box, box, frames[0][0][0]], np.float32), np.array([0.6, 0.9, 0.8]))
    kept = make_estimator(frames, oks_nms_threshold=0.9).estimate(image, dets)
    assert len(kept) == 2
    np.testing.assert_array_equal(kept.boxes, dets.boxes[[1, 2]])  # best first, duplicate dropped
    assert kept.scores[0] > kept.scores[1]
    assert len(make_estimator(frames, oks_nms_threshold=1.0).estimate(image, dets)) == 3


# --- the official test path, re-derived step by step, on a tiny random HRNet --------------------


def official_reference(model, image, boxes_xywh, input_size, flip_pairs):
    """Loop-by-loop re-derivation of HRNet's test path (crop, ToTensor+Normalize, flip, decode)."""
    w_in, h_in = input_size
    ratio = w_in / h_in
    tensors, centers, scales = [], [], []
    for x, y, w, h in boxes_xywh:
        c = np.array([x + w * 0.5, y + h * 0.5], np.float32)
        if w > ratio * h:
            h = w / ratio
        elif w < ratio * h:
            w = h * ratio
        s = np.array([w / 200.0, h / 200.0], np.float32) * 1.25
        sw = s[0] * 200.0
        src = np.float32([c, c + [0, -0.5 * sw], c + [-0.5 * sw, -0.5 * sw]])
        dst = np.float32([[w_in / 2, h_in / 2], [w_in / 2, h_in / 2 - w_in / 2], [0, h_in / 2 - w_in / 2]])
        crop = cv2.warpAffine(image, cv2.getAffineTransform(src, dst), (w_in, h_in), flags=cv2.INTER_LINEAR)
        norm = T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
        tensors.append(norm(T.ToTensor()(crop)))
        centers.append(c)
        scales.append(s)
    inp = torch.stack(tensors)
    with torch.no_grad():
        out = model(inp)
        flipped = model(torch.from_numpy(np.flip(inp.numpy(), 3).copy())).numpy()[:, :, :, ::-1].copy()
    for a, b in flip_pairs:
        flipped[:, [a, b]] = flipped[:, [b, a]]
    flipped[:, :, :, 1:] = flipped.copy()[:, :, :, :-1]
    hm = ((out + torch.from_numpy(flipped)) * 0.5).numpy()
    n, k, hh, ww = hm.shape
    preds = np.zeros((n, k, 3), np.float32)
    for i in range(n):
        sw = scales[i][0] * 200.0
        for j in range(k):
            m = hm[i, j]
            idx = int(np.argmax(m))
            px, py = idx % ww, idx // ww
            val = m.reshape(-1)[idx]
            x, y = (float(px), float(py)) if val > 0 else (0.0, 0.0)
            ix, iy = int(x), int(y)
            if 1 < ix < ww - 1 and 1 < iy < hh - 1:
                x += 0.25 * np.sign(m[iy, ix + 1] - m[iy, ix - 1])
                y += 0.25 * np.sign(m[iy + 1, ix] - m[iy - 1, ix])
            preds[i, j] = [centers[i][0] + (x - ww / 2) * sw / ww, centers[i][1] + (y - hh / 2) * sw / ww, val]
    return hm, preds


def test_tiny_hrnet_matches_official_test_path():
    from posetrack.pose.models import build_model, model_spec

    torch.manual_seed(0)
    spec = model_spec("hrnet-w8-128x96")
    model = build_model("hrnet-w8-128x96")
    # Official init (std 0.001, BN statistics 0/1) gives ~1e-8 heatmaps whose argmax is noise:
    # calibrate the BN statistics on a few inputs and widen the last layer so peaks are O(1).
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        model.train()(torch.randn(4, 3, 128, 96))
        model.eval()
        c = model.final_layer.weight.shape[1]
        model.final_layer.weight.normal_(0.0, c**-0.5)
    rng = np.random.default_rng(9)
    image = cv2.GaussianBlur(rng.integers(0, 256, (150, 200, 3), dtype=np.uint8), (5, 5), 0)
    xywh = np.array([[20.5, 10.25, 60.0, 120.0], [-10.0, 50.0, 120.0, 40.0], [150.0, 100.0, 80.0, 90.0]])
    est = TopDownEstimator(model, COCO17, PoseConfig(flip_test=True, batch_size=2), spec.input_size, "cpu")
    from posetrack.pose.transforms import xywh_to_center_scale

    centers, scales = xywh_to_center_scale(xywh, est.aspect_ratio)
    hm_ref, kp_ref = official_reference(model, image, xywh, spec.input_size, COCO17.flip_pairs)
    hm = est.heatmaps(image, centers, scales)
    assert hm.shape == hm_ref.shape == (3, 17, 32, 24)
    # same heatmaps to 1e-4 of their range (float32 convolutions of different batch compositions
    # differ by ~1e-6 relative on the CPU backend)
    tol = 1e-4 * max(1.0, float(np.abs(hm_ref).max()))
    assert np.abs(hm - hm_ref).max() < tol
    assert np.abs(hm_ref).max() > 0.1
    kp = est.predict(image, centers, scales)
    np.testing.assert_allclose(kp, kp_ref, atol=1e-3)
    # the torch crop path gives the same heatmaps
    hm_t = est.heatmaps(torch.from_numpy(image), centers, scales)
    assert np.abs(hm - hm_t).max() < tol
    boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
    poses = est.estimate(image, Detections(boxes, np.ones(3)))
    assert poses.keypoints.shape[1:] == (17, 3) and np.isfinite(poses.keypoints).all()


def test_provenance_survives_oks_nms():
    """Each kept pose keeps its box's source: duplicates removed by OKS-NMS take theirs with them."""
    frames = plant(np.random.default_rng(4), on_quarter_grid=True)
    est = make_estimator(frames, oks_nms_threshold=0.9)
    image = coordinate_image(256, 256)
    people = frames[0]
    boxes = np.array([b for b, _ in people], np.float32)
    # every box twice: once detected (-1), once "propagated from track 100 + i" with a lower score
    dup = Detections(np.concatenate([boxes, boxes]),
                     np.concatenate([np.full(len(boxes), 0.9), np.full(len(boxes), 0.5)]),
                     np.concatenate([np.full(len(boxes), -1), 100 + np.arange(len(boxes))]))
    poses = est.estimate(image, dup)
    assert len(poses) == len(boxes)  # OKS-NMS dropped the duplicates (lower scores)
    assert (poses.source == -1).all()
    # drop the detections of boxes 1 and 3: their propagated copies survive with their track ids
    keep = np.array([i for i in range(2 * len(boxes)) if i not in (1, 3)])
    poses = est.estimate(image, dup.select(keep))
    by_box = {tuple(b): s for b, s in zip(poses.boxes.tolist(), poses.source.tolist())}
    assert by_box[tuple(boxes[1].tolist())] == 101 and by_box[tuple(boxes[3].tolist())] == 103
    assert sorted(by_box.values()).count(-1) == len(boxes) - 2


def test_boxes_estimated_in_parts_equal_all_at_once():
    """keypoints_in_boxes for some boxes now and the rest later = all together (float tolerance)."""
    from posetrack.pose.models import build_model

    torch.manual_seed(0)
    model = build_model("hrnet-w8-128x96")
    for flip in (False, True):
        est = TopDownEstimator(model, COCO17, PoseConfig(flip_test=flip, batch_size=4), (96, 128), "cpu")
        image = np.random.default_rng(0).integers(0, 255, (200, 240, 3), dtype=np.uint8)
        boxes = Detections(np.array([[10, 10, 80, 150], [50, 20, 120, 190], [100, 5, 230, 190], [0, 0, 240, 200],
                                     [30, 40, 60, 90], [140, 60, 200, 180]], np.float32), np.ones(6))
        together = est.keypoints_in_boxes([image], [boxes])[0]
        parts = [est.keypoints_in_boxes([image], [boxes.select(slice(i, i + 1))])[0] for i in range(6)]
        parts = np.concatenate(parts)
        np.testing.assert_allclose(parts[..., :2], together[..., :2], atol=1e-3)
        np.testing.assert_allclose(parts[..., 2], together[..., 2], rtol=1e-4, atol=1e-12)


def test_torch_official_decoder_equals_numpy():
    from posetrack.pose.decode import get_max_preds, quarter_offset
    from posetrack.pose.decode_torch import official_peaks

    rng = np.random.default_rng(5)
    hm = rng.normal(0, 1, (6, 17, 32, 24)).astype(np.float32)
    hm[0, 0] = -1.0  # non-positive peak: (0, 0)
    hm[1, 1] = 0.0
    hm[1, 1, 0, 5] = 2.0  # peak on the border: no quarter step
    hm[2, 2] = 1.0  # ties: the first maximum
    coords, maxvals = get_max_preds(hm)
    coords = quarter_offset(hm, coords)
    tc, tm = official_peaks(torch.from_numpy(hm))
    np.testing.assert_array_equal(tc.numpy(), coords)
    np.testing.assert_array_equal(tm.numpy()[..., 0], maxvals)


def test_padded_batches_for_compile_use_a_fixed_set_of_sizes():
    est = TopDownEstimator(torch.nn.Identity(), COCO17, PoseConfig(compile=True, batch_size=12), (96, 128), "cpu")
    assert est._batch_buckets == [2, 4, 8, 16, 24]
    for n, size in ((1, 2), (3, 4), (9, 16), (24, 24)):
        assert len(est._padded(torch.ones(n, 3, 4, 4))) == size
    plain = TopDownEstimator(torch.nn.Identity(), COCO17, PoseConfig(batch_size=12), (96, 128), "cpu")
    assert len(plain._padded(torch.ones(1, 3, 4, 4))) == 1 and len(plain._padded(torch.ones(5, 3, 4, 4))) == 5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_cuda_path_matches_cpu(precision):
    """Crops cut, normalised, flipped and decoded on the GPU; keypoints as on the CPU."""
    frames = plant(np.random.default_rng(6), on_quarter_grid=True)
    cpu = make_estimator(frames, decode="official", flip_test=True)
    people = [(box_geometry(b)[0], kp) for f in frames for b, kp in f]
    gpu = TopDownEstimator(OracleHeatmapNet(people, COCO17.flip_index, STRIDE), COCO17,
                           PoseConfig(oks_nms_threshold=1.0, precision=precision), INPUT, "cuda")
    image = coordinate_image(256, 256)
    for people in frames:
        dets = Detections(np.array([b for b, _ in people], np.float32), np.ones(len(people)))
        a = cpu.estimate(image, dets)
        b = gpu.estimate(torch.from_numpy(image).cuda(), dets)
        np.testing.assert_allclose(a.keypoints[..., :2], b.keypoints[..., :2], atol=0.3)
