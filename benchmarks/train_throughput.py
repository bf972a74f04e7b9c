"""Training throughput (samples/s) of one optimizer step: top-down HRNet-W32 256x192 and
HigherHRNet-W32 512, with the training losses (JointsMSELoss / MultiResolutionLoss with AE) and
Adam; prints JSON.

Inputs are random tensors and targets made by the real generators (the step's cost does not depend
on the data); ``--data`` also times the data pipeline (decode, augmentation, targets) on a tiny
synthetic COCO set, per sample on one worker. On CUDA it measures fp32, bf16 + channels_last and
fp16 + channels_last (GradScaler). Median of timed steps after warm-up.

    python benchmarks/train_throughput.py --quick              # CPU, small batches
    python benchmarks/train_throughput.py --device cuda        # GPU (batch 32 / 12 as the official)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from posetrack.pose.models import build_model, model_spec  # noqa: E402
from posetrack.train.losses import JointsMSELoss, MultiResolutionLoss  # noqa: E402
from posetrack.train.targets import bottomup_heatmaps, bottomup_joints, topdown_target  # noqa: E402


def _batch(name: str, n: int, device: torch.device):
    spec = model_spec(name)
    w, h = spec.input_size
    rng = np.random.default_rng(0)
    x = torch.randn(n, 3, h, w, device=device)
    if spec.kind == "topdown":
        tg = [topdown_target(np.c_[rng.uniform(0, w, 17), rng.uniform(0, h, 17), np.ones(17)], (w, h),
                             (w // 4, h // 4), 2) for _ in range(n)]
        return spec, x, (torch.from_numpy(np.stack([t for t, _ in tg])).to(device),
                         torch.from_numpy(np.stack([wt for _, wt in tg])).reshape(n, 17, 1).to(device))
    outs = [w // 4, w // 2]
    people = [np.concatenate([rng.uniform(0, 1, (5, 17, 2)), np.ones((5, 17, 1))], 2) for _ in range(n)]
    hms, masks, joints = [], [], []
    for r in outs:
        hms.append(torch.from_numpy(np.stack([bottomup_heatmaps(p * [r, r, 1], r, 2) for p in people])).to(device))
        masks.append(torch.ones(n, r, r, device=device))
        joints.append(torch.from_numpy(np.stack([bottomup_joints(p * [r, r, 1], r, 30, True) for p in people]))
                      .to(device))
    return spec, x, (hms, masks, joints)


def step_throughput(name: str, n: int, device: torch.device, mode: str, steps: int, warmup: int) -> dict:
    torch.manual_seed(0)
    model = build_model(name).to(device).train()
    spec, x, targets = _batch(name, n, device)
    channels_last = "channels_last" in mode
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mode.split("-")[0])
    use_amp = dtype is not None and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and dtype == torch.float16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    crit = JointsMSELoss(True) if spec.kind == "topdown" else MultiResolutionLoss(17)

    def step():
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=use_amp):
            out = model(x)
        if spec.kind == "topdown":
            loss = crit(out.float(), *targets)
        else:
            loss = crit.total(*crit([o.float() for o in out], *targets))
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    times = []
    for i in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    med = statistics.median(times)
    return {"model": name, "device": str(device), "mode": mode, "batch": n, "s_per_step": round(med, 4),
            "samples_per_s": round(n / med, 2),
            "peak_mem_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.type == "cuda" else None}


def data_throughput(n_images: int = 8) -> list[dict]:
    """Samples/s of the dataset pipeline (one process) on synthetic COCO images."""
    from posetrack.train.config import load_train_config
    from posetrack.train.engine import build_data

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.train.synth import write_coco

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_coco(root, "train", n_images, seed=1, width=640, height=480, people=4)
        for preset, name in (("hrnet-w32-coco", "hrnet-w32-256x192"), ("higherhrnet-w32-coco", "higherhrnet-w32-512")):
            cfg = load_train_config(preset, {"data.train_split": "train", "data.val_split": None})
            spec = model_spec(name)
            data = build_data(cfg, root, spec, 17)
            t = time.perf_counter()
            k = min(len(data.train), 16)
            for i in range(k):
                data.train[i]
            dt = time.perf_counter() - t
            out.append({"pipeline": preset, "samples_per_s_one_worker": round(k / dt, 1)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="small batches, few steps")
    ap.add_argument("--data", action="store_true", help="also time the data pipeline")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-steps", action="store_true", help="only the data pipeline (with --data)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    modes = ["fp32", "bf16-channels_last", "fp16-channels_last"] if cuda else ["fp32"]
    batches = {"hrnet-w32-256x192": 32 if cuda else (2 if args.quick else 8),
               "higherhrnet-w32-512": 12 if cuda else (1 if args.quick else 2)}
    steps, warmup = (3, 1) if args.quick and not cuda else (10, 3)
    results = [] if args.no_steps else [
        step_throughput(m, b, device, mode, steps, warmup) for m, b in batches.items() for mode in modes
    ]
    report = {"host": platform.node(), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "gpu": torch.cuda.get_device_name(device) if cuda else None, "steps": results,
              "reference": ("HRNet TPAMI, 4 V100, 256x192, batch 128: W32 1.153 s/iter = 111 samples/s (Table 17); "
                            "Table 13: W48 1.231 s/iter, SimpleBaseline-R152 1.085 s/iter")}
    if args.data:
        report["data"] = data_throughput()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
