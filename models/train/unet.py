"""Small networks for certseg's shipped models (PyTorch 1.13, exportable to ONNX opset 13).

SegUNet       plain U-Net segmenter (BatchNorm + ReLU), logits with one channel per class.
PooledSeg     wrapper: area-downsamples the input by `factor`, runs a SegUNet, upsamples the logits back to
              the input size (bilinear). Lets a net trained at 128x128 run on 256x256 images at its trained
              scale while the exported graph stays fully convolutional (any H, W, batch).
DiffusionUNet ε-prediction DDPM U-Net (GroupNorm + SiLU residual blocks, sinusoidal time embedding).
linear_alphas_cumprod  DDPM linear schedule (β from 1e-4 to 0.02, T = 1000): ᾱ_t, t = 0..T-1.

All upsampling is to the skip connection's size, so any input size works (odd sizes included).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def linear_alphas_cumprod(T=1000, beta_start=1e-4, beta_end=0.02):
    betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    return torch.cumprod(1.0 - betas, dim=0), betas


# ----------------------------------------------------------------------------------------------- segmenter
class DoubleConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.net(x)


class SegUNet(nn.Module):
    def __init__(self, num_classes, chans=(16, 32, 64, 128), in_ch=3, dropout=0.0):
        super().__init__()
        self.downs = nn.ModuleList()
        c = in_ch
        for ch in chans:
            self.downs.append(DoubleConv(c, ch))
            c = ch
        self.ups = nn.ModuleList()
        self.reduce = nn.ModuleList()
        for ch in reversed(chans[:-1]):
            self.reduce.append(nn.Conv2d(c, ch, 1))
            self.ups.append(DoubleConv(2 * ch, ch))
            c = ch
        self.drop = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Conv2d(c, num_classes, 1)

    def forward(self, x):
        skips = []
        for i, d in enumerate(self.downs):
            if i > 0:
                x = F.max_pool2d(x, 2, ceil_mode=True)
            x = d(x)
            skips.append(x)
        x = self.drop(x)
        for red, up, skip in zip(self.reduce, self.ups, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = up(torch.cat([red(x), skip], dim=1))
        return self.head(x)


class PooledSeg(nn.Module):
    def __init__(self, inner, factor=2):
        super().__init__()
        self.inner = inner
        self.factor = factor

    def forward(self, x):
        size = x.shape[-2:]
        y = self.inner(F.avg_pool2d(x, self.factor, ceil_mode=True))
        return F.interpolate(y, size=size, mode="bilinear", align_corners=False)


class Normalize(nn.Module):
    """Only used in training; the card carries mean/std for the engine instead."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


# ----------------------------------------------------------------------------------------------- diffusion
def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.to(torch.float32)[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def _gn(ch):
    return nn.GroupNorm(min(8, ch // 4) if ch >= 8 else 1, ch)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim, dropout=0.0):
        super().__init__()
        self.n1 = _gn(cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(tdim, cout)
        self.n2 = _gn(cout)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.t(temb)[:, :, None, None]
        h = self.c2(self.drop(F.silu(self.n2(h))))
        return h + self.skip(x)


class DiffusionUNet(nn.Module):
    """ε_θ(x_t, t): x_t (N,3,H,W) in the [-1,1] image space scaled by sqrt(ᾱ_t) plus noise, t int64 (N,)."""

    def __init__(self, chans=(32, 64, 96), in_ch=3, tdim=128, dropout=0.0):
        super().__init__()
        self.tdim = tdim
        self.temb = nn.Sequential(nn.Linear(tdim, tdim * 2), nn.SiLU(), nn.Linear(tdim * 2, tdim * 2))
        td = tdim * 2
        self.inc = nn.Conv2d(in_ch, chans[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c = chans[0]
        skip_ch = []
        for i, ch in enumerate(chans):
            self.down.append(ResBlock(c, ch, td, dropout))
            c = ch
            skip_ch.append(c)
            if i < len(chans) - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.mid1 = ResBlock(c, c, td, dropout)
        self.mid2 = ResBlock(c, c, td, dropout)
        self.up = nn.ModuleList()
        for ch, sc in zip(reversed(chans), reversed(skip_ch)):
            self.up.append(ResBlock(c + sc, ch, td, dropout))
            c = ch
        self.upconv = nn.ModuleList([nn.Conv2d(ch, ch, 3, padding=1) for ch in reversed(chans[1:])])
        self.out_norm = _gn(c)
        self.out = nn.Conv2d(c, in_ch, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, t):
        temb = self.temb(timestep_embedding(t, self.tdim))
        h = self.inc(x)
        skips = []
        for i, blk in enumerate(self.down):
            h = blk(h, temb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid2(self.mid1(h, temb), temb)
        for i, blk in enumerate(self.up):
            skip = skips[-1 - i]
            if i > 0:
                h = F.interpolate(h, size=skip.shape[-2:], mode="nearest")
                h = self.upconv[i - 1](h)
            h = blk(torch.cat([h, skip], dim=1), temb)
        return self.out(F.silu(self.out_norm(h)))


def count_params(m):
    return sum(p.numel() for p in m.parameters())
