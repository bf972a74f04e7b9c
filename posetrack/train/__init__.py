"""Training and fine-tuning: top-down HRNet and bottom-up HigherHRNet / EfficientHRNet.

The pieces follow the official recipes numerically (HRNet/deep-high-resolution-net.pytorch and
HRNet/HigherHRNet-Human-Pose-Estimation): :mod:`~posetrack.train.targets` (gaussian targets),
:mod:`~posetrack.train.losses`, :mod:`~posetrack.train.augment` (training transforms),
:mod:`~posetrack.train.datasets` (COCO, PoseTrack, CrowdPose), :mod:`~posetrack.train.schedule`
and :mod:`~posetrack.train.engine` (the loop: checkpoints, resume, AMP, DDP). Nothing here is
imported by inference code.
"""
