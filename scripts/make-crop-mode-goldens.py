#!/usr/bin/env python3
"""Writes the goldens of timm's eval transform with crop_mode squash and border.

timm (1.0) builds, for `crop_mode='squash'`: Resize((S, S)) -> CenterCrop(size); for
`crop_mode='border'`: ResizeKeepRatio(S, longest=1) -> CenterCropOrPad(size, fill=round(255*mean));
then ToTensor -> Normalize, with S = floor(size / crop_pct). torch and timm are not needed: this
script performs the same steps with Pillow and numpy, in the same order and with the same
rounding (Python's round, half to even), the way torchvision does for PIL images.

Usage: python3 scripts/make-crop-mode-goldens.py   (needs numpy and Pillow)
Writes Fixtures/golden/crop-mode/<image>.<mode>.<size>.f32: float32 NCHW [1, 3, size, size].
"""
import math
import os

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
SIZE = 64
CROP_PCT = 0.875
IMAGES = ["chelsea.jpg", "rocket.jpg"]


def center_crop_origin(width, height, size):
    # torchvision CenterCrop / timm center_crop_or_pad: int(round((h - size) / 2.0)).
    return int(round((width - size) / 2.0)), int(round((height - size) / 2.0))


def squash(img, scale, size):
    img = img.resize((scale, scale), Image.BICUBIC)
    left, top = center_crop_origin(scale, scale, size)
    return img.crop((left, top, left + size, top + size))


def border(img, scale, size, fill):
    w, h = img.size
    # ResizeKeepRatio.get_params with longest=1.0 and no random factors.
    ratio = max(h / scale, w / scale) * 1.0 + min(h / scale, w / scale) * 0.0
    new_h, new_w = round(h / ratio), round(w / ratio)
    img = img.resize((new_w, new_h), Image.BICUBIC)
    # center_crop_or_pad: pad the sides that are short, then crop when still larger.
    if size > new_w or size > new_h:
        left = (size - new_w) // 2 if size > new_w else 0
        top = (size - new_h) // 2 if size > new_h else 0
        right = (size - new_w + 1) // 2 if size > new_w else 0
        bottom = (size - new_h + 1) // 2 if size > new_h else 0
        canvas = Image.new("RGB", (new_w + left + right, new_h + top + bottom), fill)
        canvas.paste(img, (left, top))
        img = canvas
        if img.size == (size, size):
            return img
    left, top = center_crop_origin(img.size[0], img.size[1], size)
    return img.crop((left, top, left + size, top + size))


def to_tensor(img):
    a = np.asarray(img, dtype=np.uint8).astype(np.float32) / np.float32(255)
    a = (a - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return np.ascontiguousarray(a.transpose(2, 0, 1)[None], dtype="<f4")


def main():
    scale = math.floor(SIZE / CROP_PCT)
    fill = tuple(round(255 * v) for v in MEAN)
    out_dir = os.path.join(ROOT, "Fixtures", "golden", "crop-mode")
    os.makedirs(out_dir, exist_ok=True)
    for name in IMAGES:
        img = Image.open(os.path.join(ROOT, "Fixtures", "images", name)).convert("RGB")
        for mode, out in (("squash", squash(img, scale, SIZE)), ("border", border(img, scale, SIZE, fill))):
            path = os.path.join(out_dir, f"{name}.{mode}.{SIZE}.f32")
            to_tensor(out).tofile(path)
            print(f"wrote {os.path.relpath(path, ROOT)} ({img.size[0]}x{img.size[1]} -> {mode} {SIZE}, S={scale})")


if __name__ == "__main__":
    main()
