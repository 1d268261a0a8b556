"""Shared helpers for the certseg training scripts: paths, data sets, ONNX export and model cards."""
import argparse
import json
import os
import random
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.environ.get("CERTSEG_SHARED", os.path.abspath(os.path.join(REPO, "..", "shared")))
KVASIR = os.path.join(SHARED, "datasets", "kvasir-seg-256")
# The real-data sets: shared folder, image extension, channels the models see (1 = grey).
REAL_SETS = {
    "polyp": dict(folder="kvasir-seg-256", ext="jpg", channels=3, cite="Kvasir-SEG (Jha et al., MMM 2020)",
                  terms="research and education, cite the paper"),
    "ph2": dict(folder="ph2-256", ext="jpg", channels=3, cite="PH2 dermoscopy (Mendonca et al., EMBC 2013)",
                terms="research with citation"),
    "cxr": dict(folder="cxr-lungs-256", ext="png", channels=1,
                cite="the radiologist-annotated COVID-19 chest X-ray lung segmentation set",
                terms="CC BY 4.0; per-image licences Apache-2.0, CC BY or CC BY-NC-SA"),
}

# Seeds of the default (procedural) domain: disjoint streams for each use.
SEED_SEG_TRAIN, SEED_SEG_VAL, SEED_TEST, SEED_DEN_TRAIN, SEED_DEN_TEST = 101, 102, 103, 111, 113


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def set_threads():
    torch.set_num_threads(int(os.environ.get("CERTSEG_THREADS", "1")))


def out_dir(set_name, override=None):
    d = override or os.path.join(REPO, "models", set_name)
    os.makedirs(d, exist_ok=True)
    return d


def work_dir(set_name, override=None):
    """Checkpoints (git-ignored: models/_work/)."""
    d = os.path.join(override, "_work") if override else os.path.join(REPO, "models", "_work", set_name)
    os.makedirs(d, exist_ok=True)
    return d


# --------------------------------------------------------------------------------------------- Kvasir data
def kvasir_ids(split):
    with open(os.path.join(KVASIR, "splits", f"{split}.txt")) as f:
        return [l.strip() for l in f if l.strip()]


def load_kvasir(split, limit=None):
    """images (N,3,256,256) uint8, masks (N,256,256) uint8 in {0,1}."""
    return load_set("polyp", split, limit)


def load_set(set_name, split, limit=None, channels=None):
    """A real set's split: images (N,C,H,W) uint8 (C = the set's channels unless given: a grey set read with
    channels=3 repeats its plane, which is how certseg's pipeline holds a grey image), masks (N,H,W) {0,1}."""
    from PIL import Image

    info = REAL_SETS[set_name]
    root = os.path.join(SHARED, "datasets", info["folder"])
    if not os.path.isdir(root):
        raise SystemExit(f"{info['folder']} not found at {root} (set CERTSEG_SHARED to the folder holding datasets/)")
    with open(os.path.join(root, "splits", f"{split}.txt")) as f:
        ids = [l.strip() for l in f if l.strip()][: limit or None]
    c = channels or info["channels"]
    imgs, masks = [], []
    for i in ids:
        im = np.array(Image.open(os.path.join(root, "images", f"{i}.{info['ext']}")).convert("RGB" if c == 3 else "L"))
        m = np.array(Image.open(os.path.join(root, "masks", f"{i}.png")).convert("L"))
        imgs.append(im.transpose(2, 0, 1) if c == 3 else im[None])
        masks.append((m >= 128).astype(np.uint8))
    return np.stack(imgs), np.stack(masks)


# --------------------------------------------------------------------------------------------- export
def export_onnx(model, args, path, input_names, output_names, dynamic_axes):
    import onnx

    model.eval()
    torch.onnx.export(
        model,
        args,
        path,
        opset_version=13,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic_axes,
        do_constant_folding=True,
    )
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return path


def write_card(path, card):
    """Writes a model card. Two things measured or made after training are carried over: the TF.js export
    (`alternates.tfjs`, when tfjs/<role>/model.json exists beside the card: tools/onnx2tfjs makes it, and
    test/engines/onnx2tfjs.test.ts says when it is stale) and `input.bytesPerPixel` of the card being
    replaced (measured by `certseg card check`)."""
    d = os.path.dirname(path)
    tfjs = os.path.join("tfjs", card["role"], "model.json")
    if os.path.exists(os.path.join(d, tfjs)) and "alternates" not in card:
        items = list(card.items())
        at = [k for k, _ in items].index("file") + 1
        card = dict(items[:at] + [("alternates", {"tfjs": tfjs})] + items[at:])
    if os.path.exists(path):
        try:
            old = json.load(open(path))
            bpp = old.get("input", {}).get("bytesPerPixel")
            if bpp and "bytesPerPixel" not in card["input"]:
                card["input"]["bytesPerPixel"] = bpp
        except (OSError, ValueError):
            pass
    with open(path, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")


def reference_path(odir, role):
    """Where the ONNX-vs-PyTorch fixture of a model exported to `odir` goes: test/models/fixtures/<folder>-<role>.json
    for a folder models/<folder> of this repository; None for any other output folder (nothing is written into
    the repository's tests for a model that does not live in it)."""
    d = os.path.realpath(odir)
    if os.path.dirname(d) != os.path.realpath(os.path.join(REPO, "models")):
        return None
    return os.path.join(REPO, "test", "models", "fixtures", f"{os.path.basename(d)}-{role}.json")


def write_reference(path, inputs, outputs, meta):
    """Small input/output pair for the numeric ONNX-vs-PyTorch check in test/models/models.test.ts."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rec = {"meta": meta, "inputs": {}, "outputs": {}}
    for k, v in inputs.items():
        a = v.detach().cpu().numpy()
        rec["inputs"][k] = {"dtype": str(a.dtype), "shape": list(a.shape), "data": [float(x) if a.dtype.kind == "f" else int(x) for x in a.ravel()]}
    for k, v in outputs.items():
        a = v.detach().cpu().numpy().astype(np.float64)
        rec["outputs"][k] = {"shape": list(a.shape), "data": [round(float(x), 7) for x in a.ravel()]}
    with open(path, "w") as f:
        json.dump(rec, f)


class Timer:
    def __init__(self):
        self.t0 = time.time()

    def minutes(self):
        return (time.time() - self.t0) / 60.0


def log(fh, msg):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if fh:
        fh.write(line + "\n")
        fh.flush()


def training_setup(description, configs, argv=None, add_args=None):
    """Shared command line of the training scripts (--set, --steps, --smoke, --out, --seed), threads and
    seeds. Returns (args, cfg, steps, batch, output folder, work folder)."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=list(configs), default="default")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out", help="output folder (default models/<set>; --smoke: a temp folder)")
    ap.add_argument("--seed", type=int, default=0)
    if add_args:
        add_args(ap)
    args = ap.parse_args(argv)
    cfg = configs[args.set]
    set_threads()
    seed_everything(args.seed)
    steps = 1 if args.smoke else (args.steps or cfg["steps"])
    batch = 2 if args.smoke else cfg["batch"]
    # a smoke run writes everything (metrics included) into its temp folder, never over real results
    args.out = args.out or (tempfile.mkdtemp(prefix="certseg-smoke-") if args.smoke else None)
    out = args.out
    return args, cfg, steps, batch, out_dir(args.set, out), work_dir(args.set, out)
