"""Validation during training: COCO keypoint AP (pycocotools) or PoseTrack mAP (our evaluator).

The network is run through the same estimators as inference (``TopDownEstimator``,
``BottomUpEstimator``) with the ``val`` section's settings (flip test, decoding, OKS-NMS), so the
score is what ``posetrack eval`` would report for the checkpoint.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from posetrack.keypoints import KeypointLayout


@dataclass
class ValSet:
    kind: str  # "coco-topdown", "coco-bottomup", "posetrack"
    coco: object = None
    images_dir: Path | None = None
    boxes: dict | None = None
    sequences: list | None = None
    root: Path | None = None


def subset_coco(coco, max_images: int | None):
    """The COCO object restricted to its first ``max_images`` images (so missing ones are not misses)."""
    if max_images is None or max_images >= len(coco.getImgIds()):
        return coco
    from posetrack.evaluation.coco import load_coco

    keep = set(sorted(coco.getImgIds())[:max_images])
    data = dict(coco.dataset)
    data["images"] = [im for im in coco.dataset["images"] if im["id"] in keep]
    data["annotations"] = [a for a in coco.dataset.get("annotations", []) if a["image_id"] in keep]
    return load_coco(data)


def coco_ap(coco, results: list[dict], sigmas: np.ndarray) -> dict[str, float]:
    """The ten COCOeval keypoint stats, with the layout's OKS sigmas (CrowdPose has 14)."""
    from posetrack.evaluation.coco import STAT_NAMES, evaluate_coco_keypoints

    if len(sigmas) == 17:
        return evaluate_coco_keypoints(coco, results)
    from pycocotools.cocoeval import COCOeval

    if not results:
        return {n: 0.0 for n in STAT_NAMES}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = coco.loadRes([dict(r, category_id=1) for r in results])
        ev = COCOeval(coco, dt, "keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(sigmas)
        ev.params.useSegm = None
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {n: float(v) for n, v in zip(STAT_NAMES, ev.stats)}


def validate(model: torch.nn.Module, spec, layout: KeypointLayout, val_cfg, valset: ValSet, device) -> dict:
    """Metrics of ``model`` on ``valset``; the headline value is under ``"score"`` (AP or mAP, 0-1)."""
    pose_cfg = replace(val_cfg, model=spec.name, weights=None, output_layout=None)
    if valset.kind == "coco-topdown":
        from posetrack.evaluation.coco import topdown_coco_results
        from posetrack.pose.topdown import TopDownEstimator

        est = TopDownEstimator(model, layout, pose_cfg, spec.input_size, device)
        results = topdown_coco_results(est, valset.coco, valset.images_dir, valset.boxes)
        stats = coco_ap(valset.coco, results, layout.sigma_array)
        return {"score": stats["AP"], **stats}
    if valset.kind == "coco-bottomup":
        from posetrack.evaluation.coco import read_image_rgb
        from posetrack.pose.bottomup import BottomUpEstimator

        est = BottomUpEstimator(model, layout, pose_cfg, spec.input_size[0], device)
        results = []
        for img_id in valset.coco.getImgIds():
            info = valset.coco.loadImgs(img_id)[0]
            image = read_image_rgb(valset.images_dir / (info.get("file_name") or f"{img_id:012d}.jpg"))
            poses = est.estimate(image)
            for kp, score in zip(poses.keypoints, poses.scores):
                results.append({"image_id": img_id, "category_id": 1,
                                "keypoints": [float(v) for v in kp.reshape(-1)], "score": float(score)})
        stats = coco_ap(valset.coco, results, layout.sigma_array)
        return {"score": stats["AP"], **stats}
    return _posetrack_map(model, spec, layout, pose_cfg, valset, device)


def _posetrack_map(model, spec, layout, pose_cfg, valset: ValSet, device) -> dict:
    """Top-down on the ground-truth people of every labelled frame (boxes from their keypoints, as
    in training), scored by the PoseTrack evaluator (mAP over the 15 evaluated joints)."""
    from posetrack.evaluation.coco import read_image_rgb
    from posetrack.evaluation.posetrack_eval import evaluate_pairs
    from posetrack.evaluation.posetrack_io import FrameAnno, People, SequenceAnno
    from posetrack.pose.topdown import TopDownEstimator
    from posetrack.pose.transforms import xywh_to_center_scale
    from posetrack.train.datasets.posetrack import EVAL_TO_PT17, frame_people, keypoint_boxes_xywh

    est = TopDownEstimator(model, layout, pose_cfg, spec.input_size, device)
    pairs = []
    for seq in valset.sequences:
        frames = []
        for fr in seq.frames:
            people = People.empty()
            if fr.labeled and len(fr.people):
                joints = frame_people(fr, seq.path)
                keep = (joints[..., 2] > 0).sum(axis=1) >= 2
                if keep.any():
                    image = read_image_rgb(valset.root / fr.name)
                    c, s = xywh_to_center_scale(keypoint_boxes_xywh(joints[keep]), est.aspect_ratio)
                    kp = est.predict(image, c, s)[:, EVAL_TO_PT17]  # (P, 15, 3) in evaluation order
                    n = len(kp)
                    people = People(kp[..., :2].astype(np.float64), np.ones((n, 15), bool),
                                    kp[..., 2].astype(np.float64), np.arange(n, dtype=np.int64),
                                    np.full((n, 4), np.nan), [np.zeros((0, 2))] * n)
            frames.append(FrameAnno(fr.name, people, len(people) > 0, [], False))
        pairs.append((seq, SequenceAnno(seq.name, seq.path, frames)))
    res = evaluate_pairs(pairs)
    total = float(res.ap[-1]) / 100.0 if np.isfinite(res.ap[-1]) else 0.0
    return {"score": total, "mAP": total, **{k: v for k, v in res.summary().items() if k.startswith("ap_")}}
