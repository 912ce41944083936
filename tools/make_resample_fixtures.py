#!/usr/bin/env python3
"""Writes Fixtures/resample: a 13x9 and a 7x40 RGB source and Pillow's resizes of them (raw RGB
bytes), named [tall_]<filter>_<width>x<height>.rgb, for the resampling unit tests. The sizes cover
both of Pillow's pass orders (vertical first when the height shrinks by more than twice as many
pixels as the width).

Usage: tools/make_resample_fixtures.py   (needs: pip install pillow numpy)
"""
import pathlib

import numpy as np
from PIL import Image

d = pathlib.Path(__file__).resolve().parent.parent / "Fixtures" / "resample"
d.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(3)
# Hard edges (0 / 255 blocks) plus noise: exercises negative lobes and 8-bit clipping.
src = np.where(rng.random((9, 13, 3)) < 0.3, 255, 0).astype(np.uint8)
src[::2] = rng.integers(0, 256, src[::2].shape, dtype=np.uint8)
(d / "source_13x9.rgb").write_bytes(src.tobytes())
im = Image.fromarray(src, "RGB")
for name, f in [("bicubic", Image.BICUBIC), ("bilinear", Image.BILINEAR)]:
    for (w, h) in [(5, 7), (29, 3), (40, 30), (13, 4), (6, 9), (1, 1)]:
        (d / f"{name}_{w}x{h}.rgb").write_bytes(np.asarray(im.resize((w, h), f)).tobytes())
tall = rng.integers(0, 256, (40, 7, 3), dtype=np.uint8)
tall[:, 3] = 255
(d / "source_7x40.rgb").write_bytes(tall.tobytes())
im = Image.fromarray(tall, "RGB")
for name, f in [("bicubic", Image.BICUBIC), ("bilinear", Image.BILINEAR)]:
    for (w, h) in [(5, 11), (9, 13), (3, 39), (7, 20), (6, 35)]:
        (d / f"tall_{name}_{w}x{h}.rgb").write_bytes(np.asarray(im.resize((w, h), f)).tobytes())
print(sorted(p.name for p in d.iterdir()))
