#!/usr/bin/env python3
"""Evaluate a trained certseg diffusion denoiser as a diffusion model and as a one-shot denoiser.

  /usr/bin/python3 models/train/eval_denoiser.py --set default
  /usr/bin/python3 models/train/eval_denoiser.py --set polyp

(a) Ancestral DDPM sampling (T = 1000 steps, x0-clipped posterior) from pure noise: models/<set>/ddpm-samples.png.
(b) One-shot denoising, Carlini's convention (notes: algorithms.md §4):
      z = 2(x + ε) − 1, ε ~ N(0, σ²I);  t* = first t ≥ 1 with sqrt((1 − ᾱ_t)/ᾱ_t) ≥ 2σ;  x_t = sqrt(ᾱ_t*)·z;
      x̂0 = clip((x_t − sqrt(1 − ᾱ_t*)·ε_θ(x_t, t*))/sqrt(ᾱ_t*), −1, 1)
    at σ = 0.12, 0.25, 0.5 on held-out images (default: fresh generated 64x64 and 128x128 images; polyp: the
    Kvasir-SEG val split at 256x256, the denoiser run fully convolutionally). PSNR (dB, peak 1, mean over
    images) of the noisy image clipped to [0,1] and of the denoised one, plus the segmenter's clean-label
    agreement (one noise draw; not a certificate) on noisy vs denoised images. Example strip:
    models/<set>/denoise-example.png (clean | noisy | denoised at σ = 0.25).
Results go into docs/models.md between the markers <!-- eval:<set>:begin --> and <!-- eval:<set>:end -->.
Uses the PyTorch checkpoints under models/_work/<set>/ written by the training scripts.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import generate  # noqa: E402
from train_segmenter import CFG as SEG_CFG, confusion, dice_fg, miou  # noqa: E402
from unet import DiffusionUNet, PooledSeg, SegUNet, linear_alphas_cumprod  # noqa: E402

SIGMAS = [0.12, 0.25, 0.5]
T = 1000


def t_star(ac, sigma):
    r = torch.sqrt((1 - ac) / ac)
    for t in range(1, len(ac)):
        if r[t] >= 2 * sigma:
            return t
    return len(ac) - 1


@torch.no_grad()
def one_shot(model, x01_noisy, ac, t, bs=8):
    a = float(ac[t])
    out = []
    for i in range(0, len(x01_noisy), bs):
        z = 2 * x01_noisy[i : i + bs] - 1
        xt = (a ** 0.5) * z
        eps = model(xt, torch.full((len(xt),), t, dtype=torch.int64))
        x0 = ((xt - (1 - a) ** 0.5 * eps) / a ** 0.5).clamp(-1, 1)
        out.append((x0 + 1) / 2)
    return torch.cat(out)


@torch.no_grad()
def ancestral(model, n, size, seed):
    ac, betas = linear_alphas_cumprod(T)
    ac_prev = torch.cat([torch.ones(1, dtype=torch.float64), ac[:-1]])
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size, size, generator=g)
    for t in range(T - 1, -1, -1):
        eps = model(x, torch.full((n,), t, dtype=torch.int64))
        a, ap, b = float(ac[t]), float(ac_prev[t]), float(betas[t])
        x0 = ((x - (1 - a) ** 0.5 * eps) / a ** 0.5).clamp(-1, 1)
        mean = (ap ** 0.5 * b / (1 - a)) * x0 + ((1 - b) ** 0.5 * (1 - ap) / (1 - a)) * x
        if t > 0:
            var = b * (1 - ap) / (1 - a)
            x = mean + var ** 0.5 * torch.randn(x.shape, generator=g)
        else:
            x = mean
    return ((x.clamp(-1, 1) + 1) / 2)


def grid(imgs, ncol):
    n, c, h, w = imgs.shape
    nrow = (n + ncol - 1) // ncol
    g = np.ones((nrow * (h + 2) + 2, ncol * (w + 2) + 2, 3), dtype=np.uint8) * 255
    for i in range(n):
        r, cc = divmod(i, ncol)
        g[2 + r * (h + 2) : 2 + r * (h + 2) + h, 2 + cc * (w + 2) : 2 + cc * (w + 2) + w] = generate.to_uint8(imgs[i].numpy())
    return g


def psnr(a, b):
    mse = ((a - b) ** 2).flatten(1).mean(1).clamp_min(1e-12)
    return (10 * torch.log10(1.0 / mse)).numpy()


def load_segmenter(set_name):
    ck = os.path.join(common.work_dir(set_name), "segmenter.pt")
    if not os.path.exists(ck):
        return None
    cfg = SEG_CFG[set_name]
    d = torch.load(ck)
    c = len(d["mean"])
    net = SegUNet(len(cfg["classes"]), cfg["chans"], in_ch=c)
    net.load_state_dict(d["state"])
    net.eval()
    m = PooledSeg(net, cfg["pool"]) if cfg["pool"] > 1 else net
    mean = torch.tensor(d["mean"]).view(1, c, 1, 1)
    std = torch.tensor(d["std"]).view(1, c, 1, 1)
    return m, mean, std, len(cfg["classes"])


# ITU-R BT.601 luma, what certseg feeds a 1-channel segmenter (engines/adapt.ts LUMA)
LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


@torch.no_grad()
def seg_score(seg, x01, masks):
    m, mean, std, k = seg
    if mean.shape[1] == 1 and x01.shape[1] == 3:
        x01 = (x01 * LUMA).sum(1, keepdim=True)
    pred = torch.cat([m((x01[i : i + 8] - mean) / std).argmax(1) for i in range(0, len(x01), 8)]).numpy()
    if k == 2:
        return "Dice %.3f" % np.mean([dice_fg(p, g) for p, g in zip(pred, masks)])
    return "mIoU %.3f" % miou(confusion(pred, masks, k))[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=["default", "polyp", "ph2", "cxr"], default="default")
    ap.add_argument("--n-sample", type=int, help="number of ancestral samples (default 16 / 8)")
    ap.add_argument("--no-sample", action="store_true", help="skip ancestral sampling")
    ap.add_argument("--no-docs", action="store_true", help="print the table, do not edit docs/models.md")
    args = ap.parse_args(argv)
    common.set_threads()
    common.seed_everything(0)
    t0 = time.time()
    ck = torch.load(os.path.join(common.work_dir(args.set), "denoiser.pt"))
    model = DiffusionUNet(tuple(ck["chans"]))
    model.load_state_dict(ck["ema"])
    model.eval()
    odir = common.out_dir(args.set)
    ac, _ = linear_alphas_cumprod(T)
    seg = load_segmenter(args.set)

    # held-out data
    evalsets = []
    if args.set == "default":
        for size, n, seed in ((64, 64, common.SEED_DEN_TEST), (128, 16, common.SEED_DEN_TEST + 1000)):
            x, m = generate.make_dataset(seed, n, size)
            evalsets.append((f"{n} fresh generated {size}x{size} images (seed {seed})", torch.from_numpy(x), m))
    else:
        # 3 channels also for the grey set: the noise is drawn per channel, as certseg does
        x, m = common.load_set(args.set, "val", channels=3)
        what = {"polyp": "Kvasir-SEG val split", "ph2": "PH2 val split", "cxr": "chest X-ray val split (grey, R = G = B)"}[args.set]
        evalsets.append(("%s, %d images at %dx%d" % (what, len(x), x.shape[3], x.shape[2]), torch.from_numpy(x).float() / 255.0, m))

    lines = []
    halved = False
    lines.append(f"Denoiser checkpoint: step {ck['step']}. One-shot denoising, Carlini's convention, one noise draw per image (seed 0).")
    lines.append("PSNR in dB against the clean image (peak 1, mean over images); the noisy image is clipped to [0,1] for its PSNR.")
    if seg:
        lines.append("Segmenter columns: the shipped segmenter's score against the ground truth on one noisy / denoised draw "
                     "(a single prediction, not a certificate).")
    lines.append("")
    for desc, x01, masks in evalsets:
        lines.append(f"**{desc}**" + (f" — clean segmenter {seg_score(seg, x01, masks)}" if seg else ""))
        lines.append("")
        hdr = "| σ | t* | ᾱ(t*) | PSNR noisy | PSNR denoised |" + (" seg noisy | seg denoised |" if seg else "")
        lines.append(hdr)
        lines.append("|" + "---|" * (hdr.count("|") - 1))
        for si, s in enumerate(SIGMAS):
            t = t_star(ac, s)
            g = torch.Generator().manual_seed(1000 + si)
            noisy = x01 + s * torch.randn(x01.shape, generator=g)
            den = one_shot(model, noisy, ac, t)
            row = f"| {s} | {t} | {float(ac[t]):.6f} | {psnr(noisy.clamp(0, 1), x01).mean():.2f} | {psnr(den, x01).mean():.2f} |"
            if seg:
                row += f" {seg_score(seg, noisy, masks)} | {seg_score(seg, den, masks)} |"
            lines.append(row)
            if s == 0.25 and desc == evalsets[-1][0]:
                k = min(4, len(x01))
                strip = torch.cat([x01[:k], noisy[:k].clamp(0, 1), den[:k]])
                ex = grid(strip, k)
                if ex.shape[1] > 600:  # keep the committed PNG small: halve large strips (box filter)
                    from PIL import Image

                    ex = np.array(Image.fromarray(ex).resize((ex.shape[1] // 2, ex.shape[0] // 2), Image.BOX))
                    halved = True
                generate.save_png(os.path.join(odir, "denoise-example.png"), ex)
        lines.append("")
    lines.append("Example (rows: clean, noisy σ = 0.25, denoised%s): `models/%s/denoise-example.png`."
                 % ("; shown at half size" if halved else "", args.set))
    if not args.no_sample:
        n = args.n_sample or (16 if args.set == "default" else 8)
        size = 64
        ts = time.time()
        samples = ancestral(model, n, size, seed=0)
        generate.save_png(os.path.join(odir, "ddpm-samples.png"), grid(samples, 8 if n >= 8 else n))
        lines.append("Ancestral samples from pure noise (%d x %dx%d, 1000 steps, %.0f s): `models/%s/ddpm-samples.png`."
                     % (n, size, size, time.time() - ts, args.set))
    lines.append("")
    lines.append("_Generated by `/usr/bin/python3 models/train/eval_denoiser.py --set %s%s` in %.1f min._"
                 % (args.set, " --no-sample" if args.no_sample else "", (time.time() - t0) / 60))
    text = "\n".join(lines)
    print(text)
    if not args.no_docs:
        path = os.path.join(common.REPO, "docs", "models.md")
        begin, end = f"<!-- eval:{args.set}:begin -->", f"<!-- eval:{args.set}:end -->"
        doc = open(path).read() if os.path.exists(path) else ""
        block = f"{begin}\n{text}\n{end}"
        if begin in doc and end in doc:
            doc = doc[: doc.index(begin)] + block + doc[doc.index(end) + len(end) :]
        else:
            doc = doc.rstrip("\n") + "\n\n" + block + "\n"
        with open(path, "w") as f:
            f.write(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
