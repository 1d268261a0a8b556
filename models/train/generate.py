#!/usr/bin/env python3
"""Deterministic procedural segmentation domain ("shapes") for the certseg default models.

RGB images with a textured, noisy background and shapes of three classes, plus the per-pixel label:
    0 background, 1 disc, 2 square (rotated), 3 triangle (rotated).
Shapes have random colours and textures (solid, stripes, gradient), random sizes and rotations and may
overlap (the later one occludes). Shape and texture sizes are in absolute pixels, so a 128x128 image shows
the same kind of scene as a 64x64 one, only with more shapes: fully convolutional models trained on 64x64
images apply to the larger images unchanged.

Same seed -> same images, byte for byte (numpy Generator PCG64, no other randomness).

Usage:
  /usr/bin/python3 models/train/generate.py --out DIR --n 16 --size 64 --seed 1
      writes DIR/images/NNNN.png and DIR/masks/NNNN.png (8-bit, class ids 0..3)
  /usr/bin/python3 models/train/generate.py --sample
      writes models/default/sample.png and models/default/sample-mask.png (128x128, seed 2024)
"""
import argparse
import os
import sys

import numpy as np

CLASSES = [
    ("background", "#000000"),
    ("disc", "#e6194b"),
    ("square", "#3cb44b"),
    ("triangle", "#4363d8"),
]
NUM_CLASSES = len(CLASSES)
SAMPLE_SEED = 2024
SAMPLE_SIZE = 128


def _smooth_field(rng, h, w, cells, channels):
    """Low-frequency random field in [-1,1]: bilinear upsampling of a random (cells+1)^2 grid."""
    grid = rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1, channels))
    ys = np.linspace(0, cells, h, endpoint=False) + 0.5 * cells / h
    xs = np.linspace(0, cells, w, endpoint=False) + 0.5 * cells / w
    y0 = np.clip(np.floor(ys).astype(int), 0, cells - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, cells - 1)
    fy = (ys - y0)[:, None, None]
    fx = (xs - x0)[None, :, None]
    g00 = grid[y0][:, x0]
    g01 = grid[y0][:, x0 + 1]
    g10 = grid[y0 + 1][:, x0]
    g11 = grid[y0 + 1][:, x0 + 1]
    return (1 - fy) * ((1 - fx) * g00 + fx * g01) + fy * ((1 - fx) * g10 + fx * g11)


def _colour_far_from(rng, ref, min_dist):
    for _ in range(100):
        c = rng.uniform(0.0, 1.0, size=3)
        if np.linalg.norm(c - ref) >= min_dist:
            return c
    return 1.0 - ref


def make_scene(rng, h, w):
    """One image (h,w,3) float32 in [0,1] and its label mask (h,w) uint8."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # background: base colour + low-frequency variation + fine texture + pixel noise
    base = rng.uniform(0.2, 0.8, size=3)
    img = base[None, None, :] + 0.15 * _smooth_field(rng, h, w, max(2, round(h / 32)), 3)
    fine_cells = max(4, round(h / rng.uniform(4.0, 8.0)))
    img = img + rng.uniform(0.02, 0.08) * _smooth_field(rng, h, w, fine_cells, 1)
    mask = np.zeros((h, w), dtype=np.uint8)

    n_shapes = int(round(rng.integers(2, 6) * (h * w) / (64 * 64)))
    for _ in range(n_shapes):
        cls = int(rng.integers(1, NUM_CLASSES))
        r = rng.uniform(6.0, 14.0)
        cy = rng.uniform(r * 0.5, h - r * 0.5)
        cx = rng.uniform(r * 0.5, w - r * 0.5)
        theta = rng.uniform(0, 2 * np.pi)
        dy, dx = yy - cy, xx - cx
        # rotate into the shape's frame
        u = np.cos(theta) * dx + np.sin(theta) * dy
        v = -np.sin(theta) * dx + np.cos(theta) * dy
        if cls == 1:  # disc
            inside = u * u + v * v <= r * r
        elif cls == 2:  # square, half side ~ r * 0.85 (same area order as the disc)
            s = r * 0.85
            inside = (np.abs(u) <= s) & (np.abs(v) <= s)
        else:  # equilateral triangle with circumradius r * 1.15
            R = r * 1.15
            inside = np.ones_like(u, dtype=bool)
            for k in range(3):
                a = 2 * np.pi * k / 3 + np.pi / 2
                # half-plane: n.(p) <= R/2 for the three edge normals
                inside &= (np.cos(a) * u + np.sin(a) * v) <= R / 2
        if not inside.any():
            continue
        bg_here = img[inside].mean(axis=0)
        c1 = _colour_far_from(rng, bg_here, 0.45)
        tex = rng.integers(0, 3)
        if tex == 0:  # solid
            fill = np.broadcast_to(c1, (h, w, 3))
        elif tex == 1:  # stripes
            c2 = _colour_far_from(rng, bg_here, 0.35)
            period = rng.uniform(3.0, 7.0)
            phi = rng.uniform(0, np.pi)
            band = (np.floor((np.cos(phi) * xx + np.sin(phi) * yy) / period) % 2)[..., None]
            fill = band * c1 + (1 - band) * c2
        else:  # gradient
            c2 = _colour_far_from(rng, bg_here, 0.35)
            g = np.clip(0.5 + u / (2 * r), 0, 1)[..., None]
            fill = g * c1 + (1 - g) * c2
        img[inside] = fill[inside]
        mask[inside] = cls
    img = img + rng.normal(0.0, rng.uniform(0.005, 0.04), size=img.shape)
    return np.clip(img, 0.0, 1.0).astype(np.float32), mask


def make_dataset(seed, n, size):
    """n scenes of size x size from one seed: images (n,3,H,W) float32 [0,1], masks (n,H,W) uint8."""
    rng = np.random.Generator(np.random.PCG64(seed))
    imgs = np.zeros((n, 3, size, size), dtype=np.float32)
    masks = np.zeros((n, size, size), dtype=np.uint8)
    for i in range(n):
        im, m = make_scene(rng, size, size)
        imgs[i] = im.transpose(2, 0, 1)
        masks[i] = m
    return imgs, masks


def to_uint8(img_chw):
    return np.clip(np.round(img_chw.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)


def save_png(path, arr):
    from PIL import Image

    Image.fromarray(arr).save(path, format="PNG", optimize=False)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="output folder (images/ and masks/ are created)")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sample", action="store_true", help="write models/default/sample.png and sample-mask.png")
    ap.add_argument("--sample-out", help="with --sample: write them into this folder instead of models/default")
    args = ap.parse_args(argv)
    if not args.sample and not args.out:
        ap.error("give --out DIR or --sample")
    if args.out:
        imgs, masks = make_dataset(args.seed, args.n, args.size)
        os.makedirs(os.path.join(args.out, "images"), exist_ok=True)
        os.makedirs(os.path.join(args.out, "masks"), exist_ok=True)
        for i in range(args.n):
            save_png(os.path.join(args.out, "images", f"{i:04d}.png"), to_uint8(imgs[i]))
            save_png(os.path.join(args.out, "masks", f"{i:04d}.png"), masks[i])
        print(f"wrote {args.n} images of {args.size}x{args.size} (seed {args.seed}) to {args.out}")
    if args.sample:
        here = os.path.dirname(os.path.abspath(__file__))
        out = args.sample_out or os.path.join(here, "..", "default")
        os.makedirs(out, exist_ok=True)
        imgs, masks = make_dataset(SAMPLE_SEED, 1, SAMPLE_SIZE)
        save_png(os.path.join(out, "sample.png"), to_uint8(imgs[0]))
        save_png(os.path.join(out, "sample-mask.png"), masks[0])
        print(f"wrote sample.png and sample-mask.png ({SAMPLE_SIZE}x{SAMPLE_SIZE}, seed {SAMPLE_SEED}) to {os.path.normpath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
