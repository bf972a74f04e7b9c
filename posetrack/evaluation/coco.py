"""COCO keypoint AP/AR of top-down inference, as the official HRNet test script computes it.

The official flow (HRNet ``tools/test.py`` -> ``validate`` -> ``COCODataset.evaluate``): person
boxes come from a COCO detection-results file (category 1, every score >= 0.0 kept) or from the
ground-truth annotations (``--gt-boxes``: non-crowd people with at least one labelled keypoint,
boxes clipped to the image as ``[x1, y1, x2 - x1, y2 - y1]`` with x2 = min(W - 1, x1 + max(0, w - 1)),
score 1); every box is one crop; the keypoints are rescored and OKS-NMSed per image; the results
are scored by pycocotools ``COCOeval(iouType='keypoints')`` with ``useSegm = None``.
"""

from __future__ import annotations

import contextlib
import io
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from posetrack.errors import FormatError, InputError
from posetrack.formats.common import PERSON as PERSON_CATEGORY
from posetrack.formats.common import is_box, is_person
from posetrack.formats.common import score as det_score
from posetrack.jsonio import read_json

STAT_NAMES = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")


def load_coco(annotations: str | Path | dict):
    """A pycocotools COCO object from a keypoint annotation file, checked for the fields we use."""
    from pycocotools.coco import COCO

    source = str(annotations) if not isinstance(annotations, dict) else "<annotations>"
    data = annotations if isinstance(annotations, dict) else read_json(annotations, "annotation file")
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise FormatError(f"{source}: not a COCO annotation file (no 'images' list)")
    if not isinstance(data.get("annotations", []), list):
        raise FormatError(f"{source}: 'annotations' must be a list")
    for i, img in enumerate(data["images"]):
        if not isinstance(img, dict) or "id" not in img:
            raise FormatError(f"{source}: images[{i}] has no 'id'")
    for i, ann in enumerate(data.get("annotations", [])):
        missing = [k for k in ("image_id", "bbox", "category_id") if not isinstance(ann, dict) or k not in ann]
        if missing:
            raise FormatError(f"{source}: annotations[{i}] lacks '{missing[0]}'")
        if not is_box(ann["bbox"]):
            raise FormatError(f"{source}: annotations[{i}].bbox must be 4 numbers [x, y, w, h]")
    data.setdefault("annotations", [])
    data.setdefault("categories", [{"id": PERSON_CATEGORY, "name": "person"}])
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


BoxesByImage = dict[int, tuple[np.ndarray, np.ndarray]]  # image id -> (xywh (N, 4) float64, scores (N,))


def detection_boxes(path: str | Path, score_threshold: float = 0.0) -> BoxesByImage:
    """Person boxes of a COCO detection-results file (official IMAGE_THRE = 0.0 keeps all)."""
    data = read_json(path, "detection file")
    if not isinstance(data, list):
        raise FormatError(f"{path}: a COCO detection results file is a list of objects")
    grouped: dict[int, list] = defaultdict(list)
    for i, det in enumerate(data):
        if not isinstance(det, dict):
            raise FormatError(f"{path}: entry {i} is not an object")
        for key in ("image_id", "bbox", "score"):
            if key not in det:
                raise FormatError(f"{path}: entry {i} lacks '{key}'")
        if not is_box(det["bbox"]):
            raise FormatError(f"{path}: entry {i}: 'bbox' must be 4 numbers [x, y, w, h]")
        score = det_score(det, f"{path}: entry {i}")
        if not is_person(det) or score < score_threshold:
            continue
        grouped[det["image_id"]].append((det["bbox"], score))
    return {
        img: (np.asarray([b for b, _ in v], np.float64), np.asarray([s for _, s in v], np.float64))
        for img, v in grouped.items()
    }


def ground_truth_boxes(coco) -> BoxesByImage:
    """The official ``use_gt_bbox`` boxes: cleaned non-crowd person boxes with keypoints, score 1."""
    out: BoxesByImage = {}
    for img_id in coco.getImgIds():
        info = coco.loadImgs(img_id)[0]
        width, height = info.get("width"), info.get("height")
        boxes = []
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=False)):
            if ann["category_id"] != PERSON_CATEGORY or max(ann.get("keypoints") or [0]) == 0:
                continue
            x, y, w, h = ann["bbox"]
            x1, y1 = max(0, x), max(0, y)
            x2 = x1 + max(0, w - 1)
            y2 = y1 + max(0, h - 1)
            if width is not None:
                x2 = min(width - 1, x2)
            if height is not None:
                y2 = min(height - 1, y2)
            if ann.get("area", 1) > 0 and x2 >= x1 and y2 >= y1:
                boxes.append([x1, y1, x2 - x1, y2 - y1])
        if boxes:
            out[img_id] = (np.asarray(boxes, np.float64), np.ones(len(boxes), np.float64))
    return out


def read_image_rgb(path: Path) -> np.ndarray:
    """RGB uint8 as the official loader: cv2.imread(COLOR | IGNORE_ORIENTATION) then BGR->RGB."""
    import cv2

    if not path.is_file():
        raise InputError(f"image not found: {path}")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        raise InputError(f"image cannot be decoded: {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def topdown_coco_results(
    estimator,
    coco,
    images_dir: str | Path,
    boxes: BoxesByImage,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> list[dict]:
    """Keypoint results (COCO result format) of a TopDownEstimator on every image with boxes.

    Uses the official centers/scales of the xywh boxes, the estimator's decoding and flip settings,
    then the official rescoring and OKS-NMS per image.
    """
    from posetrack.pose.nms import crop_areas, oks_nms, rescore
    from posetrack.pose.transforms import xywh_to_center_scale

    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise InputError(f"image folder not found: {images_dir}")
    config = estimator.config
    sigmas = estimator.model_layout.sigma_array
    ids = [i for i in coco.getImgIds() if i in boxes]
    results: list[dict] = []
    for img_id in progress(ids) if progress else ids:
        info = coco.loadImgs(img_id)[0]
        name = info.get("file_name") or f"{img_id:012d}.jpg"
        image = read_image_rgb(images_dir / name)
        xywh, box_scores = boxes[img_id]
        centers, scales = xywh_to_center_scale(xywh, estimator.aspect_ratio)
        kp = estimator.predict(image, centers, scales)
        scores = rescore(kp[..., 2], box_scores, config.keypoint_threshold)
        keep = oks_nms(kp, scores, crop_areas(scales), config.oks_nms_threshold, sigmas)
        if len(keep) == 0:
            keep = np.arange(len(kp))
        for k in keep:
            results.append(
                {
                    "image_id": img_id,
                    "category_id": PERSON_CATEGORY,
                    "keypoints": [float(v) for v in kp[k].reshape(-1)],
                    "score": float(scores[k]),
                    "center": [float(v) for v in centers[k]],
                    "scale": [float(v) for v in scales[k]],
                }
            )
    return results


def evaluate_coco_keypoints(annotations, results: list[dict] | str | Path) -> dict[str, float]:
    """COCO keypoint AP/AR (the ten COCOeval stats, official names) of ``results``.

    ``annotations``: a path, a parsed dict or a pycocotools COCO object; ``results``: a list of
    COCO keypoint results or the path of a results JSON file.
    """
    from pycocotools.cocoeval import COCOeval

    coco = annotations if hasattr(annotations, "loadRes") else load_coco(annotations)
    if not isinstance(results, list):
        results = read_json(results, "results file")
        if not isinstance(results, list):
            raise FormatError("keypoint results must be a list of objects")
    if not results:
        return {name: 0.0 for name in STAT_NAMES}
    for i, r in enumerate(results):
        if not isinstance(r, dict) or not {"image_id", "keypoints", "score"} <= set(r):
            raise FormatError(f"keypoint result {i} lacks image_id, keypoints or score")
    with contextlib.redirect_stdout(io.StringIO()):
        dt = coco.loadRes([dict(r, category_id=r.get("category_id", PERSON_CATEGORY)) for r in results])
        ev = COCOeval(coco, dt, "keypoints")
        ev.params.useSegm = None
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {name: float(v) for name, v in zip(STAT_NAMES, ev.stats)}


def format_stats(stats: dict[str, float], name: str = "model") -> str:
    """The official markdown table (``_print_name_value``)."""
    arch = name if len(name) <= 15 else name[:8] + "..."
    head = "| Arch " + " ".join(f"| {k}" for k in stats) + " |"
    rule = "|---" * (len(stats) + 1) + "|"
    row = f"| {arch} " + " ".join(f"| {v:.3f}" for v in stats.values()) + " |"
    return "\n".join([head, rule, row])
