"""torchvision RAFT (large / small): learned flow, best on the GPU, runs on the CPU too (slowly)."""

from __future__ import annotations

import threading

import numpy as np
import torch
import torch.nn.functional as F

from posetrack.flow.opencv_flow import upscale_flow


def build_raft(name: str, weights: str | None) -> torch.nn.Module:
    """RAFT ``name`` (the zoo architecture raft-large / raft-small) with zoo weights ("zoo":
    torchvision's, cached in torch hub's folder), a state_dict file (loaded strictly), or random
    weights (None)."""
    from posetrack import zoo
    from posetrack.pose.checkpoints import load_checkpoint

    resolved = zoo.resolve(weights, name)
    model = resolved.arch.build()
    if resolved.path is not None:
        load_checkpoint(model, resolved.path, expected_layout=resolved.checkpoint_layout)
    return model


class RaftFlow:
    """Flow previous → current from RAFT; frames resized by ``scale`` and padded (multiples of 8, >= 128).

    Safe to call from several threads (the flow pool): calls to the model take turns, because
    torchvision's RAFT keeps the correlation pyramid of the pair on the module while it runs.
    """

    accepts_tensors = True  # frames already on the device (HxWx3 uint8 tensors) are used as they are

    def __init__(self, model: torch.nn.Module, device: torch.device | str, scale: float = 1.0, iterations: int = 12,
                 precision: str = "fp32"):
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.scale = float(scale)
        self.iterations = int(iterations)
        # autocast on CUDA only (CPU half precision is slow and not what the weights were made for)
        self.autocast_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision) \
            if self.device.type == "cuda" else None
        self._model_lock = threading.Lock()

    def _tensor(self, rgb) -> torch.Tensor:
        t = rgb if isinstance(rgb, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(rgb))
        t = t.to(self.device).permute(2, 0, 1)[None].float()
        if self.scale != 1.0:
            h, w = rgb.shape[:2]
            size = (max(8, round(h * self.scale)), max(8, round(w * self.scale)))
            t = F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)
        return t / 127.5 - 1.0  # RAFT's input range [-1, 1]

    @torch.inference_mode()
    def __call__(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        h, w = current.shape[:2]
        a, b = self._tensor(previous), self._tensor(current)
        sh, sw = a.shape[-2:]
        # Right / bottom padding (border replicated) to multiples of 8, and to at least 128 px: RAFT's
        # 4-level correlation pyramid needs feature maps (1/8 of the input) of 16 px or more.
        pad = (0, max(128, sw + (-sw) % 8) - sw, 0, max(128, sh + (-sh) % 8) - sh)
        a, b = F.pad(a, pad, mode="replicate"), F.pad(b, pad, mode="replicate")
        with self._model_lock:
            if self.autocast_dtype is not None:
                with torch.autocast("cuda", dtype=self.autocast_dtype):
                    flow = self.model(a, b, num_flow_updates=self.iterations)[-1][0, :, :sh, :sw]
            else:
                flow = self.model(a, b, num_flow_updates=self.iterations)[-1][0, :, :sh, :sw]
        flow = flow.permute(1, 2, 0).float().cpu().numpy()
        return upscale_flow(flow, h, w)
