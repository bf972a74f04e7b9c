"""Evaluation: PoseTrack mAP/MOTA as the official toolkit computes them, COCO keypoint AP, and the benchmark runner."""
