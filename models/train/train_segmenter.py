#!/usr/bin/env python3
"""Train certseg's segmenter on CLEAN images (no noise augmentation: certifying an off-the-shelf model
trained without noise is the point of diffusion denoised smoothing), export ONNX + model card.

  /usr/bin/python3 models/train/train_segmenter.py --set default   # procedural shapes, 4 classes, 64x64
  /usr/bin/python3 models/train/train_segmenter.py --set polyp     # Kvasir-SEG train split, 2 classes
  /usr/bin/python3 models/train/train_segmenter.py --set ph2       # PH2 skin lesions, 256x192 frames, 2 classes
  /usr/bin/python3 models/train/train_segmenter.py --set cxr       # chest X-ray lungs, 1-channel grey input, 2 classes
  ... --steps N      number of optimiser steps (default: 1500 default set, 1600 polyp)
  ... --smoke        one step on a tiny batch, written to a temp folder (for tests)

Writes models/<set>/segmenter.onnx (or --out), segmenter.card.json, test/models/fixtures/<folder>-segmenter.json (an
input/output pair for the ONNX-vs-PyTorch check) and a checkpoint under models/_work/<set>/ (git-ignored).
Deterministic: fixed seeds, fixed data order, 1 thread (CERTSEG_THREADS).
"""
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
from unet import PooledSeg, SegUNet, count_params  # noqa: E402

CFG = {
    "default": dict(classes=generate.CLASSES, chans=(16, 32, 64, 128), steps=1500, batch=32, lr=3e-3, pool=1,
                    mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25], eval_every=250),
    "polyp": dict(classes=[("background", "#000000"), ("polyp", "#ff3030")], chans=(16, 32, 64, 128, 256),
                  steps=1600, batch=16, lr=2e-3, pool=2, mean=None, std=None, eval_every=250),
    # dermoscopy has no up or down: all flips and quarter turns
    "ph2": dict(classes=[("background", "#000000"), ("lesion", "#ff9f1a")], chans=(16, 32, 64, 128, 256),
                steps=1200, batch=16, lr=2e-3, pool=2, mean=None, std=None, eval_every=200),
    # 54 grey training images: a smaller net, left-right flips only (lungs are upright), mild affine and contrast
    "cxr": dict(classes=[("background", "#000000"), ("lung", "#33ccff")], chans=(16, 32, 64, 128),
                steps=1200, batch=16, lr=2e-3, pool=2, mean=None, std=None, eval_every=200, upright=True),
}


# ----------------------------------------------------------------------------------------------- metrics
def confusion(pred, gt, k):
    return np.bincount(gt.ravel().astype(np.int64) * k + pred.ravel().astype(np.int64), minlength=k * k).reshape(k, k)


def miou(cm):
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(0) + cm.sum(1) - tp
    iou = np.where(denom > 0, tp / np.maximum(denom, 1), 1.0)
    return float(iou.mean()), iou


def dice_fg(pred, gt):
    inter = float(((pred == 1) & (gt == 1)).sum())
    s = float((pred == 1).sum() + (gt == 1).sum())
    return 1.0 if s == 0 else 2 * inter / s


@torch.no_grad()
def predict(model, imgs01, mean, std, bs=16):
    """imgs01: float tensor (N,3,H,W) in [0,1] -> labels (N,H,W) numpy."""
    model.eval()
    out = []
    for i in range(0, len(imgs01), bs):
        x = (imgs01[i : i + bs] - mean) / std
        out.append(model(x).argmax(1).numpy().astype(np.uint8))
    return np.concatenate(out)


def evaluate(set_name, export_model, imgs01, masks, mean, std, k):
    pred = predict(export_model, imgs01, mean, std)
    cm = confusion(pred, masks, k)
    m, iou = miou(cm)
    res = {"mIoU": m, "IoU": [float(v) for v in iou], "pixelAcc": float(np.trace(cm) / cm.sum())}
    if k == 2:
        d = [dice_fg(p, g) for p, g in zip(pred, masks)]
        res["diceMean"] = float(np.mean(d))
        tp = cm[1, 1]
        res["dicePooled"] = float(2 * tp / max(1, cm[1, :].sum() + cm[:, 1].sum()))
    return res


# ----------------------------------------------------------------------------------------------- augmentation
def augment(x, y, g, affine, jitter, upright=False):
    """x (B,C,H,W) [0,1], y (B,H,W) float {0..K-1} or soft fg in [0,1]. Flips/rot90 (left-right flips only when
    `upright`), optional mild affine and colour jitter. No noise is ever added."""
    b = x.shape[0]
    if torch.rand(1, generator=g).item() < 0.5:
        x, y = x.flip(-1), y.flip(-1)
    if not upright:
        if torch.rand(1, generator=g).item() < 0.5:
            x, y = x.flip(-2), y.flip(-2)
        k = int(torch.randint(0, 4, (1,), generator=g).item())
        x, y = torch.rot90(x, k, (-2, -1)), torch.rot90(y, k, (-2, -1))
    if affine:
        ang = (torch.rand(b, generator=g) * 2 - 1) * math.radians(20)
        sc = torch.exp((torch.rand(b, generator=g) * 2 - 1) * math.log(1.25))
        tr = (torch.rand(b, 2, generator=g) * 2 - 1) * 0.1
        cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
        theta = torch.stack([torch.stack([cos, -sin, tr[:, 0]], 1), torch.stack([sin, cos, tr[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        y = F.grid_sample(y[:, None], grid, mode="bilinear", padding_mode="reflection", align_corners=False)[:, 0]
    if jitter:
        br = 1 + (torch.rand(b, 1, 1, 1, generator=g) * 2 - 1) * 0.15
        ct = 1 + (torch.rand(b, 1, 1, 1, generator=g) * 2 - 1) * 0.15
        sat = 1 + (torch.rand(b, 1, 1, 1, generator=g) * 2 - 1) * 0.15
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - m) * ct + m
        grey = x.mean(dim=1, keepdim=True)
        x = ((x - grey) * sat + grey) * br
        x = x.clamp(0, 1)
    return x, y


def random_crop(x, y, g, multiple=16):
    """One random square sub-crop for the whole batch: side a multiple of `multiple` (the U-Net's total
    stride) from half to 7/8 of the image side, at a random offset."""
    side = x.shape[-1]
    sizes = list(range(side // 2, side * 7 // 8 + 1, multiple))
    c = sizes[int(torch.randint(0, len(sizes), (1,), generator=g).item())]
    oy = int(torch.randint(0, side - c + 1, (1,), generator=g).item())
    ox = int(torch.randint(0, side - c + 1, (1,), generator=g).item())
    return x[..., oy:oy + c, ox:ox + c], y[..., oy:oy + c, ox:ox + c]


# ----------------------------------------------------------------------------------------------- main
def main(argv=None):
    def extra(ap):
        ap.add_argument("--crop-aug", action="store_true",
                        help="also train on random sub-crops (half to 7/8 of the side), so that the framing of a "
                             "crop selected by translation consistency (docs/consistency.md) costs less accuracy")

    args, cfg, steps, batch, odir, wdir = common.training_setup(__doc__, CFG, argv, add_args=extra)
    logf = open(os.path.join(wdir, "segmenter.log"), "a")
    k = len(cfg["classes"])
    timer = common.Timer()

    # ---- data (uint8 kept in memory; [0,1] floats per batch)
    if args.set == "default":
        n_train = 8 if args.smoke else 4000
        tr_x, tr_y = generate.make_dataset(common.SEED_SEG_TRAIN, n_train, 64)
        va_x, va_y = generate.make_dataset(common.SEED_SEG_VAL, 4 if args.smoke else 200, 64)
        tr_x = torch.from_numpy(tr_x)
        tr_y = torch.from_numpy(tr_y.astype(np.float32))
        va_x = torch.from_numpy(va_x)
        mean = cfg["mean"]
        std = cfg["std"]
    else:
        lim = 4 if args.smoke else None
        tx, ty = common.load_set(args.set, "train", lim)
        vx, vy = common.load_set(args.set, "val", lim)
        x01 = torch.from_numpy(tx).float() / 255.0
        # the net runs at half resolution (PooledSeg): train it on area-downsampled images and soft masks
        tr_x = F.avg_pool2d(x01, 2)
        tr_y = F.avg_pool2d(torch.from_numpy(ty).float()[:, None], 2)[:, 0]
        mean = [float(v) for v in x01.mean(dim=(0, 2, 3))]
        std = [float(v) for v in x01.std(dim=(0, 2, 3))]
        del x01
        va_x = torch.from_numpy(vx).float() / 255.0
        va_y = vy
    in_ch = len(mean)
    mean_t = torch.tensor(mean).view(1, in_ch, 1, 1)
    std_t = torch.tensor(std).view(1, in_ch, 1, 1)
    common.log(logf, f"set={args.set} train={len(tr_x)} steps={steps} batch={batch} data {timer.minutes():.2f} min")

    net = SegUNet(k, cfg["chans"], in_ch=in_ch)
    export_model = PooledSeg(net, cfg["pool"]) if cfg["pool"] > 1 else net
    common.log(logf, f"params={count_params(net)}")
    opt = torch.optim.AdamW(net.parameters(), lr=cfg["lr"], weight_decay=1e-4)
    warm = min(100, steps)

    def lr_at(s):
        if s < warm:
            return cfg["lr"] * (s + 1) / warm
        return cfg["lr"] * 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm)))

    g = torch.Generator().manual_seed(args.seed + 1)
    best = (-1.0, None, None)
    ckpt = os.path.join(wdir, "segmenter.pt")
    hist = []
    for step in range(steps):
        net.train()
        idx = torch.randint(0, len(tr_x), (batch,), generator=g)
        real = args.set != "default"
        x, y = augment(tr_x[idx], tr_y[idx], g, affine=real, jitter=real, upright=cfg.get("upright", False))
        if args.crop_aug and torch.rand(1, generator=g).item() < 0.75:
            x, y = random_crop(x, y, g)
        logits = net((x - mean_t) / std_t)
        if args.set != "default":
            yl = (y >= 0.5).long()
            p = logits.softmax(1)[:, 1]
            inter = (p * yl).sum()
            dl = 1 - (2 * inter + 1) / (p.sum() + yl.sum() + 1)
            loss = F.cross_entropy(logits, yl) + dl
        else:
            loss = F.cross_entropy(logits, y.round().long())
        for pg in opt.param_groups:
            pg["lr"] = lr_at(step)
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist.append(float(loss))
        last = step == steps - 1
        if (step + 1) % 50 == 0 or last:
            common.log(logf, f"step {step + 1}/{steps} loss {np.mean(hist[-50:]):.4f} lr {lr_at(step):.2e} {timer.minutes():.1f} min")
        if (step + 1) % cfg["eval_every"] == 0 or last:
            r = evaluate(args.set, export_model, va_x, va_y, mean_t, std_t, k)
            score = r.get("diceMean", r["mIoU"])
            common.log(logf, f"  val {json.dumps(r)}")
            if score > best[0]:
                best = (score, {kk: v.clone() for kk, v in net.state_dict().items()}, step + 1)
                torch.save({"state": best[1], "step": step + 1, "val": r, "mean": mean, "std": std}, ckpt)
            if not args.smoke:
                export(args, cfg, export_model, net, best, odir, mean, std, k, timer, r, hist, final=False)
    export(args, cfg, export_model, net, best, odir, mean, std, k, timer, None, hist, final=True)
    return 0


def export(args, cfg, export_model, net, best, odir, mean, std, k, timer, _r, hist, final):
    cur = {kk: v.clone() for kk, v in net.state_dict().items()}
    net.load_state_dict(best[1])
    export_model.eval()
    in_ch = len(mean)
    mean_t = torch.tensor(mean).view(1, in_ch, 1, 1)
    std_t = torch.tensor(std).view(1, in_ch, 1, 1)
    metrics = {"bestStep": best[2], "trainMinutes": round(timer.minutes(), 1), "finalLoss": round(float(np.mean(hist[-50:])), 4)}
    if final and not args.smoke:
        if args.set == "default":
            tx, ty = generate.make_dataset(common.SEED_TEST, 200, 64)
            metrics["test64"] = evaluate(args.set, export_model, torch.from_numpy(tx), ty, mean_t, std_t, k)
            tx, ty = generate.make_dataset(common.SEED_TEST + 1000, 50, 128)
            metrics["test128"] = evaluate(args.set, export_model, torch.from_numpy(tx), ty, mean_t, std_t, k)
        else:
            for split in ("val", "test"):
                vx, vy = common.load_set(args.set, split)
                metrics[split] = evaluate(args.set, export_model, torch.from_numpy(vx).float() / 255.0, vy, mean_t, std_t, k)
        common.log(None, f"final metrics {json.dumps(metrics)}")
    path = os.path.join(odir, "segmenter.onnx")
    dummy = torch.rand(1, in_ch, 64, 64)
    common.export_onnx(export_model, (dummy,), path, ["image"], ["logits"],
                       {"image": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch", 2: "height", 3: "width"}})
    # the command that reproduces this model, flags included
    cmd = "models/train/train_segmenter.py --set %s%s" % (args.set, " --crop-aug" if args.crop_aug else "")
    if args.set == "default":
        desc = ("U-Net segmenter (BatchNorm, %d params) for certseg's procedural shapes domain (models/train/generate.py): "
                "background, disc, square, triangle. Trained on clean 64x64 images only; fully convolutional." % count_params(net))
        src = "trained by %s (seed %d, %d steps)" % (cmd, args.seed, args.steps or cfg["steps"])
    else:
        info = common.REAL_SETS[args.set]
        what = {"polyp": "colonoscopy polyps, trained on clean Kvasir-SEG train images only",
                "ph2": "dermoscopy skin lesions, trained on clean PH2 train images (256x192) only",
                "cxr": "lung fields in grey chest X-rays (1 input channel), trained on clean train images (54) only"}[args.set]
        res = {"polyp": "128x128 from the 256x256 images", "ph2": "128x96 from the 256x192 images",
               "cxr": "128x128 from the 256x256 images"}[args.set]
        desc = ("U-Net segmenter (BatchNorm, %d params) for %s. The graph area-downsamples its input by 2, segments, and "
                "upsamples the logits back (trained at %s); fully convolutional, any size." % (count_params(net), what, res))
        src = ("trained by %s (seed %d, %d steps) on %s train split; data terms: %s"
               % (cmd, args.seed, args.steps or cfg["steps"], info["cite"], info["terms"]))
    if "test64" in metrics:
        desc += " Clean mIoU on generated test images: %.3f (64x64), %.3f (128x128)." % (metrics["test64"]["mIoU"], metrics["test128"]["mIoU"])
    if "test" in metrics:
        desc += " Clean Dice (mean over images) on %s val/test: %.3f / %.3f." % (
            {"polyp": "Kvasir-SEG", "ph2": "PH2", "cxr": "the chest X-ray"}[args.set], metrics["val"]["diceMean"], metrics["test"]["diceMean"])
    if "trainMinutes" in metrics and args.set in ("ph2", "cxr"):
        desc += " Training time: %.1f min on 2 CPU cores." % metrics["trainMinutes"]
    if args.crop_aug:
        desc += " Also trained on random square sub-crops (--crop-aug), for crops chosen by crop selection."
    card = {
        "cardVersion": 1,
        "name": f"certseg-{args.set}{'-crop' if args.crop_aug else ''}-segmenter",
        "description": desc,
        "role": "segmenter",
        "file": "segmenter.onnx",
        "format": "onnx",
        "input": {"name": "image", "layout": "NCHW", "height": None, "width": None, "batch": None, "channels": in_ch,
                  "range": [0, 1], "mean": [round(v, 6) for v in mean], "std": [round(v, 6) for v in std]},
        "output": {"name": "logits", "layout": "NCHW", "height": None, "width": None, "batch": None, "channels": k,
                   "kind": "logits"},
        "classes": [{"name": n, "color": c} for n, c in cfg["classes"]],
        "license": "MIT",
        "source": src,
    }
    common.write_card(os.path.join(odir, "segmenter.card.json"), card)
    with open(os.path.join(common.work_dir(args.set, args.out), "segmenter.metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    ref = common.reference_path(odir, "segmenter")
    if ref and not args.smoke:
        torch.manual_seed(7)
        h, w = (30, 26) if args.set == "default" else (72, 52)
        xin = torch.rand(1, in_ch, h, w)
        with torch.no_grad():
            yout = export_model(xin)
        common.write_reference(ref, {"image": xin}, {"logits": yout},
                               {"card": os.path.relpath(os.path.join(odir, "segmenter.card.json"), common.REPO)})
    common.log(None, f"exported {path} (best step {best[2]})")
    net.load_state_dict(cur)


if __name__ == "__main__":
    sys.exit(main())
