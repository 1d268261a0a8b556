#!/usr/bin/env python3
"""Train certseg's ε-prediction diffusion denoiser (DDPM, linear β 1e-4..0.02, T = 1000), export ONNX + card.

  /usr/bin/python3 models/train/train_denoiser.py --set default   # procedural shapes, 32x32 crops of 64x64 images
  /usr/bin/python3 models/train/train_denoiser.py --set polyp     # Kvasir-SEG train split, 64x64 crops of 256x256
  /usr/bin/python3 models/train/train_denoiser.py --set ph2       # PH2 train split, 64x64 crops of 256x192
  /usr/bin/python3 models/train/train_denoiser.py --set cxr       # chest X-ray train split (grey as R=G=B), 64x64 crops
  ... --steps N      number of optimiser steps (length of the learning-rate schedule; default 2500 / 1000)
  ... --stop-at K    stop after step K of that schedule (exports at K; K must be a multiple of the export interval)
  ... --smoke        one step on a tiny batch, written to a temp folder (for tests)

Standard DDPM loss ||ε − ε_θ(sqrt(ᾱ_t)x0 + sqrt(1−ᾱ_t)ε, t)||² on random crops (flips/rot90), x0 in [-1,1].
t is drawn half uniformly from 0..T-1 and half uniformly from 0..T_low-1 (T_low = 400): the same per-t
objective, weighted towards the timesteps that one-shot denoising uses (σ ≤ 0.5 → t* ≤ 259), so the model
stays a full diffusion model (ancestral sampling works) while spending more of the budget where it is used.
The exported weights are an exponential moving average (EMA) of the training weights.

Writes models/<set>/denoiser.onnx (or --out), denoiser.card.json, test/models/fixtures/<folder>-denoiser.json and a
checkpoint under models/_work/<set>/ (git-ignored). Deterministic: fixed seeds, 1 thread (CERTSEG_THREADS).
"""
import copy
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import generate  # noqa: E402
from unet import DiffusionUNet, count_params, linear_alphas_cumprod  # noqa: E402

CFG = {
    "default": dict(chans=(32, 64, 64), crop=32, steps=2500, batch=48, lr=1e-3, ema=0.999, export_every=500),
    "polyp": dict(chans=(32, 64, 96), crop=64, steps=1000, batch=16, lr=6e-4, ema=0.999, export_every=250),
    "ph2": dict(chans=(32, 64, 96), crop=64, steps=1000, batch=16, lr=6e-4, ema=0.999, export_every=250),
    # The noise certseg adds is per RGB channel, also on a grey image (held as R=G=B): the denoiser takes that
    # 3-channel input, so it is trained on the grey images as the pipeline holds them.
    "cxr": dict(chans=(32, 64, 96), crop=64, steps=1000, batch=16, lr=6e-4, ema=0.999, export_every=250),
}
T = 1000
T_LOW = 400


def main(argv=None):
    args, cfg, steps, batch, odir, wdir = common.training_setup(
        __doc__, CFG, argv, lambda ap: ap.add_argument("--stop-at", type=int, help="stop after this step of the --steps schedule"))
    crop = cfg["crop"]
    logf = open(os.path.join(wdir, "denoiser.log"), "a")
    timer = common.Timer()

    if args.set == "default":
        x, _ = generate.make_dataset(common.SEED_DEN_TRAIN, 8 if args.smoke else 4000, 64)
        data = torch.from_numpy(x)
    else:
        x, _ = common.load_set(args.set, "train", 4 if args.smoke else None, channels=3)
        data = torch.from_numpy(x)  # uint8, converted per batch
    common.log(logf, f"set={args.set} train={len(data)} steps={steps} batch={batch} crop={crop}")

    ac, _ = linear_alphas_cumprod(T)
    sa = ac.sqrt().float()
    s1a = (1 - ac).sqrt().float()
    net = DiffusionUNet(cfg["chans"])
    ema = copy.deepcopy(net)
    for p in ema.parameters():
        p.requires_grad_(False)
    common.log(logf, f"params={count_params(net)}")
    opt = torch.optim.AdamW(net.parameters(), lr=cfg["lr"], weight_decay=0.0)
    warm = min(200, steps)

    def lr_at(s):
        if s < warm:
            return cfg["lr"] * (s + 1) / warm
        return cfg["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm))))

    g = torch.Generator().manual_seed(args.seed + 1)
    H, W = data.shape[-2:]
    hist = []
    for step in range(steps):
        net.train()
        idx = torch.randint(0, len(data), (batch,), generator=g)
        oy = torch.randint(0, H - crop + 1, (batch,), generator=g)
        ox = torch.randint(0, W - crop + 1, (batch,), generator=g)
        xb = torch.stack([data[i, :, y : y + crop, x : x + crop] for i, y, x in zip(idx.tolist(), oy.tolist(), ox.tolist())])
        xb = xb.float() / 255.0 if xb.dtype == torch.uint8 else xb
        if torch.rand(1, generator=g).item() < 0.5:
            xb = xb.flip(-1)
        if torch.rand(1, generator=g).item() < 0.5:
            xb = xb.flip(-2)
        xb = torch.rot90(xb, int(torch.randint(0, 4, (1,), generator=g).item()), (-2, -1))
        x0 = xb * 2 - 1
        half = batch // 2
        t = torch.cat([torch.randint(0, T, (batch - half,), generator=g), torch.randint(0, T_LOW, (half,), generator=g)])
        eps = torch.randn(x0.shape, generator=g)
        xt = sa[t].view(-1, 1, 1, 1) * x0 + s1a[t].view(-1, 1, 1, 1) * eps
        loss = F.mse_loss(net(xt, t), eps)
        for pg in opt.param_groups:
            pg["lr"] = lr_at(step)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        d = min(cfg["ema"], (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters()):
                pe.mul_(d).add_(pn.detach(), alpha=1 - d)
        hist.append(float(loss))
        last = step == steps - 1 or (args.stop_at is not None and step + 1 == args.stop_at)
        if (step + 1) % 50 == 0 or last:
            common.log(logf, f"step {step + 1}/{steps} loss {np.mean(hist[-50:]):.4f} lr {lr_at(step):.2e} {timer.minutes():.1f} min")
        if ((step + 1) % cfg["export_every"] == 0 and not args.smoke) or last:
            torch.save({"ema": ema.state_dict(), "net": net.state_dict(), "step": step + 1, "chans": cfg["chans"]},
                       os.path.join(wdir, "denoiser.pt"))
            export(args, cfg, ema, odir, step + 1, hist, timer, last)
        if last:
            break
    return 0


def cmd_extra(args, cfg):
    extra = ""
    if args.steps and args.steps != cfg["steps"]:
        extra += " --steps %d" % args.steps
    if args.stop_at:
        extra += " --stop-at %d" % args.stop_at
    return extra


def card128(set_name, card):
    """The same weights run at 128x128 (as models/polyp/denoiser128.card.json): four times cheaper, and the
    certificate is unchanged, since resizing is part of the smoothed base model."""
    c = json.loads(json.dumps(card))
    size = {"ph2": "256x192 PH2 frame is area-downsampled by 2 to 128x96 and letterboxed into 128x128",
            "cxr": "256x256 chest X-ray is area-downsampled by 2"}[set_name]
    c["name"] = card["name"] + "-128"
    c["description"] = ("The %s diffusion denoiser (denoiser.card.json, same weights) run at 128x128: a noisy %s, which "
                        "halves the noise std, so t* is chosen for sigma/2; the denoised image is upsampled back. Another "
                        "image size changes the factor (the run reports the t* it used). Four times cheaper than full "
                        "resolution; the certificate is unchanged (resizing is part of the smoothed base model)."
                        % (set_name.upper() if set_name == "ph2" else "chest X-ray", size))
    c["input"].update({"height": 128, "width": 128, "resize": "area", "fit": "letterbox"})
    c["output"].update({"height": 128, "width": 128})
    return c


def export(args, cfg, ema, odir, step, hist, timer, final):
    ema.eval()
    path = os.path.join(odir, "denoiser.onnx")
    common.export_onnx(ema, (torch.rand(1, 3, 32, 32) * 2 - 1, torch.tensor([70], dtype=torch.int64)), path,
                       ["x", "t"], ["eps"],
                       {"x": {0: "batch", 2: "height", 3: "width"}, "t": {0: "batch"}, "eps": {0: "batch", 2: "height", 3: "width"}})
    final_loss = round(float(np.mean(hist[-100:])), 4)
    if args.set == "default":
        desc = ("ε-prediction DDPM U-Net (%d params) for certseg's procedural shapes domain, trained on %dx%d crops of "
                "clean 64x64 images; used one-shot (Carlini et al. 2023) to denoise Gaussian-noised inputs before the "
                "segmenter. Fully convolutional." % (count_params(ema), cfg["crop"], cfg["crop"]))
        src = "trained by models/train/train_denoiser.py --set default%s (seed %d, %d steps; EMA weights)" % (cmd_extra(args, cfg), args.seed, step)
    else:
        info = common.REAL_SETS[args.set]
        imgs = {"polyp": "Kvasir-SEG train images (256x256)", "ph2": "PH2 train images (256x192)",
                "cxr": "chest X-ray train images (256x256 grey, held as R=G=B as certseg holds a grey image)"}[args.set]
        desc = ("ε-prediction DDPM U-Net (%d params) trained on %dx%d crops of clean %s; "
                "applied fully convolutionally at full resolution for one-shot denoising (Carlini et al. 2023)."
                % (count_params(ema), cfg["crop"], cfg["crop"], imgs))
        src = ("trained by models/train/train_denoiser.py --set %s%s (seed %d, %d steps; EMA weights) on the %s "
               "train split; data terms: %s" % (args.set, cmd_extra(args, cfg), args.seed, step, info["cite"], info["terms"]))
        if final and args.set in ("ph2", "cxr"):
            desc += " Training time: %.1f min on 2 CPU cores." % timer.minutes()
    desc += " Final training loss (mean of last 100 steps): %.4f." % final_loss
    card = {
        "cardVersion": 1,
        "name": f"certseg-{args.set}-denoiser",
        "description": desc,
        "role": "denoiser",
        "file": "denoiser.onnx",
        "format": "onnx",
        "input": {"name": "x", "layout": "NCHW", "height": None, "width": None, "batch": None, "channels": 3, "range": [-1, 1]},
        "output": {"name": "eps", "layout": "NCHW", "height": None, "width": None, "batch": None, "channels": 3},
        "denoiser": {
            "kind": "ddpm-eps",
            "schedule": {"type": "linear", "betaStart": 0.0001, "betaEnd": 0.02},
            "T": T,
            "learnedVariance": False,
            "timestep": {"input": "t", "dtype": "int64"},
            "trainedResolution": cfg["crop"],
        },
        "license": "MIT",
        "source": src,
    }
    common.write_card(os.path.join(odir, "denoiser.card.json"), card)
    if args.set in ("ph2", "cxr"):
        common.write_card(os.path.join(odir, "denoiser128.card.json"), card128(args.set, card))
    with open(os.path.join(common.work_dir(args.set, args.out), "denoiser.metrics.json"), "w") as f:
        json.dump({"step": step, "finalLoss": final_loss, "trainMinutes": round(timer.minutes(), 1)}, f, indent=2)
    ref = common.reference_path(odir, "denoiser")
    if ref and not args.smoke:
        torch.manual_seed(7)
        xin = torch.rand(2, 3, 22, 18) * 2 - 1
        tin = torch.tensor([70, 259], dtype=torch.int64)
        with torch.no_grad():
            yout = ema(xin, tin)
        common.write_reference(ref, {"x": xin, "t": tin}, {"eps": yout},
                               {"card": os.path.relpath(os.path.join(odir, "denoiser.card.json"), common.REPO)})
    common.log(None, f"exported {path} at step {step}")


if __name__ == "__main__":
    sys.exit(main())
