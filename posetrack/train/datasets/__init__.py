"""Training datasets: COCO (top-down people, bottom-up images), PoseTrack 2017/2018, CrowdPose.

Annotation files become records (:mod:`~posetrack.train.datasets.coco`,
:mod:`~posetrack.train.datasets.posetrack`); records become samples with the official augmentation
and targets (:mod:`~posetrack.train.datasets.topdown`, :mod:`~posetrack.train.datasets.bottomup`).
Validation person boxes from a detection-results file come from
:func:`posetrack.evaluation.coco.detection_boxes` (``data.val_detections``).
"""
