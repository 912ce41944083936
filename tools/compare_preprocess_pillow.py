#!/usr/bin/env python3
"""Compares `convnext preprocess` with Pillow on many generated images (not part of the tests).

timm's eval transform is re-done here with Pillow and numpy exactly as torchvision runs it
(Resize(int) -> Image.resize, CenterCrop with round-half-even, ToTensor, Normalize); this
re-implementation reproduces the timm goldens in ../shared/fixtures bit for bit.

Usage: tools/compare_preprocess_pillow.py [path/to/convnext]   (needs: pip install pillow numpy)
"""
import io
import math
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps

root = pathlib.Path(__file__).resolve().parent.parent
binary = sys.argv[1] if len(sys.argv) > 1 else str(root / ".build" / "release" / "convnext")
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}


def reference(path, size=224, crop_pct=0.875, interpolation="bicubic", mode="crop", exif=False):
    im = Image.open(path)
    if exif:
        im = ImageOps.exif_transpose(im)
    im = im.convert("RGB")
    w, h = im.size
    if mode == "crop":
        side = math.floor(size / crop_pct)
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(side * long / short)
        nw, nh = (side, new_long) if w <= h else (new_long, side)
        im = im.resize((nw, nh), FILTERS[interpolation])
        top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
        im = im.crop((left, top, left + size, top + size))
    else:
        scale = min(size / w, size / h)
        nw = min(size, max(1, int(math.floor(w * scale + 0.5))))
        nh = min(size, max(1, int(math.floor(h * scale + 0.5))))
        small = im.resize((nw, nh), FILTERS[interpolation])
        im = Image.new("RGB", (size, size), (127, 127, 127))
        im.paste(small, ((size - nw) // 2, (size - nh) // 2))
    a = np.asarray(im).astype(np.float32) / np.float32(255)
    return ((a - MEAN) / STD).transpose(2, 0, 1), np.asarray(im)


def nv12_reference(rgb):
    rgb = rgb.astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    h, w = y.shape
    q = rgb.reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    u = -0.168736 * q[..., 0] - 0.331264 * q[..., 1] + 0.5 * q[..., 2] + 128
    v = 0.5 * q[..., 0] - 0.418688 * q[..., 1] - 0.081312 * q[..., 2] + 128
    rnd = lambda x: np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)
    uv = np.stack([rnd(u), rnd(v)], axis=-1).reshape(h // 2, w)
    return np.concatenate([rnd(y).reshape(-1), uv.reshape(-1)])


def synthetic_images(folder):
    rng = np.random.default_rng(1)
    files = []
    def smooth(w, h):
        x = np.linspace(0, 1, w)[None, :, None]
        y = np.linspace(0, 1, h)[:, None, None]
        base = np.concatenate([x * np.ones((h, 1, 1)), y * np.ones((1, w, 1)), (x * y)], axis=2) * 255
        return np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
    for (w, h) in [(1, 1), (3, 500), (500, 3), (17, 23), (224, 224), (256, 300), (301, 257), (1000, 700), (640, 427),
                   (300, 700), (200, 401), (120, 1000)]:
        rgb = smooth(w, h)
        im = Image.fromarray(rgb, "RGB")
        for name, img, kw, ext in [
            ("rgb", im, {}, "png"),
            ("gray", im.convert("L"), {}, "png"),
            ("rgba", Image.fromarray(np.dstack([rgb, rgb[..., :1]]), "RGBA"), {}, "png"),
            ("la", im.convert("LA"), {}, "png"),
            ("pal", im.convert("P", palette=Image.ADAPTIVE), {}, "png"),
            ("bw", im.convert("1"), {}, "png"),
            ("q90_420", im, {"quality": 90, "subsampling": 2}, "jpg"),
            ("q95_422", im, {"quality": 95, "subsampling": 1}, "jpg"),
            ("q75_444", im, {"quality": 75, "subsampling": 0}, "jpg"),
            ("progressive", im, {"quality": 85, "progressive": True}, "jpg"),
            ("grayjpg", im.convert("L"), {"quality": 90}, "jpg"),
        ]:
            path = os.path.join(folder, f"{name}_{w}x{h}.{ext}")
            img.save(path, **kw)
            files.append(path)
        rgb16 = (rgb.astype(np.uint16) * 257 + rng.integers(0, 256, rgb.shape)).astype(">u2")
        path = os.path.join(folder, f"rgb16_{w}x{h}.png")
        write_png16(path, rgb16)
        files.append(path)
    return files


def write_png16(path, rgb16):
    import struct, zlib
    h, w, _ = rgb16.shape
    raw = b"".join(b"\x00" + rgb16[y].tobytes() for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    pathlib.Path(path).write_bytes(data)


def exif_image(folder, orientation):
    rgb = np.zeros((40, 64, 3), np.uint8)
    rgb[:20, :32] = (255, 0, 0); rgb[:20, 32:] = (0, 255, 0); rgb[20:, :32] = (0, 0, 255); rgb[20:, 32:] = (255, 255, 0)
    im = Image.fromarray(rgb)
    exif = Image.Exif(); exif[0x0112] = orientation
    path = os.path.join(folder, f"exif{orientation}.jpg")
    im.save(path, quality=95, exif=exif.tobytes())
    return path


def run(path, out, args):
    subprocess.run([binary, "preprocess", path, "--output-tensor", out, *args], check=True, capture_output=True)
    return np.fromfile(out, dtype=np.float32)


def main():
    worst = 0.0
    lowest = 100.0
    count = 0
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "out.f32")
        photos = sorted(str(p) for p in (root.parent / "shared" / "fixtures" / "images").glob("*"))
        cases = [(p, dict()) for p in synthetic_images(folder) + photos]
        cases += [(p, dict(size=s, crop_pct=c, interpolation=i)) for p in photos
                  for (s, c, i) in [(224, 0.95, "bicubic"), (192, 1.0, "bilinear"), (256, 0.9, "bicubic"), (64, 0.875, "bilinear")]]
        cases += [(p, dict(mode="letterbox", interpolation=i)) for p in photos[:4] for i in FILTERS]
        cases += [(exif_image(folder, o), dict(exif=True, size=32, crop_pct=1.0)) for o in range(1, 9)]
        for path, kw in cases:
            args = []
            if "size" in kw: args += ["--size", str(kw["size"])]
            if "crop_pct" in kw: args += ["--crop-pct", repr(kw["crop_pct"])]
            if "interpolation" in kw: args += ["--interpolation", kw["interpolation"]]
            if "mode" in kw: args += ["--resize-mode", kw["mode"]]
            if kw.get("exif"): args += ["--exif-orientation"]
            ours = run(path, out, args)
            ref, _ = reference(path, kw.get("size", 224), kw.get("crop_pct", 0.875), kw.get("interpolation", "bicubic"),
                               kw.get("mode", "crop"), kw.get("exif", False))
            diff = np.abs(ours.reshape(ref.shape) - ref) * 255 * STD[:, None, None]
            within = 100.0 * (diff <= 1.0 + 1e-3).mean()
            worst, lowest, count = max(worst, diff.max()), min(lowest, within), count + 1
            flag = "" if diff.max() < 1e-3 else "   <-- differs"
            print(f"{os.path.basename(path):28s} {' '.join(args):52s} max {diff.max():6.3f}/255  within 1/255 {within:7.3f}%{flag}")
        # NV12 of the crop
        for p in photos[:2]:
            nv = os.path.join(folder, "out.nv12")
            subprocess.run([binary, "preprocess", p, "--output-nv12", nv], check=True, capture_output=True)
            _, rgb = reference(p)
            d = np.abs(np.fromfile(nv, np.uint8).astype(int) - nv12_reference(rgb).astype(int))
            print(f"{os.path.basename(p):28s} NV12 bytes differing: {(d > 0).sum()} max {d.max()}")
    print(f"{count} cases: worst max error {worst:.3f}/255, lowest share within 1/255 {lowest:.3f}%")


if __name__ == "__main__":
    main()
