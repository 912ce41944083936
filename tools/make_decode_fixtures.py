#!/usr/bin/env python3
"""Writes the small decoder fixtures in Fixtures/images/decode and, in expected/, the RGB bytes
Pillow decodes from each (`Image.open(f).convert("RGB")`; 16-bit grey saturates at 255 there, and
the decoder matches that). Also hostile headers whose dimensions exceed the decoder's limits.

Usage: tools/make_decode_fixtures.py   (needs: pip install pillow numpy)
"""
import pathlib
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps

d = pathlib.Path(__file__).resolve().parent.parent / "Fixtures" / "images" / "decode"
(d / "expected").mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)
rgb = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)


def png(name, w, h, colour_type, depth, rows):
    def chunk(t, x):
        return struct.pack(">I", len(x)) + t + x + struct.pack(">I", zlib.crc32(t + x) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + r for r in rows)
    (d / name).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def expect(name, pixels=None):
    if pixels is None:
        pixels = np.asarray(Image.open(d / name).convert("RGB"))
    (d / "expected" / (name + ".rgb")).write_bytes(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes())
    print(name, pixels.shape)


im = Image.fromarray(rgb)
im.convert("L").save(d / "gray8.png"); expect("gray8.png")
Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(d / "rgba8.png"); expect("rgba8.png")
im.convert("P", palette=Image.ADAPTIVE, colors=5).save(d / "palette.png"); expect("palette.png")
im.convert("LA").save(d / "gray_alpha.png"); expect("gray_alpha.png")
rgb16 = (rgb.astype(np.uint16) * 256 + rng.integers(0, 256, rgb.shape)).astype(">u2")
png("rgb16.png", 4, 3, 2, 16, [rgb16[y].tobytes() for y in range(3)]); expect("rgb16.png")
g16 = (rgb[..., 0].astype(np.uint16) * 256 + 200).astype(">u2")
png("gray16.png", 4, 3, 0, 16, [g16[y].tobytes() for y in range(3)]); expect("gray16.png")
big = Image.fromarray(np.kron(rgb, np.ones((8, 8, 1), np.uint8)))  # 32x24
big.save(d / "rgb420.jpg", quality=90); expect("rgb420.jpg")
big.save(d / "rgb444.jpg", quality=90, subsampling=0); expect("rgb444.jpg")
big.convert("L").save(d / "gray.jpg", quality=90); expect("gray.jpg")
big.save(d / "progressive.jpg", quality=80, progressive=True); expect("progressive.jpg")
# EXIF orientation 6 (display rotated 90 degrees clockwise); quadrants red, green / blue, yellow.
q = np.zeros((16, 32, 3), np.uint8)
q[:8, :16] = (255, 0, 0); q[:8, 16:] = (0, 255, 0); q[8:, :16] = (0, 0, 255); q[8:, 16:] = (255, 255, 0)
exif = Image.Exif(); exif[0x0112] = 6
Image.fromarray(q).save(d / "exif6.jpg", quality=95, exif=exif.tobytes())
expect("exif6.jpg")
(d / "expected" / "exif6.jpg.oriented.rgb").write_bytes(np.asarray(ImageOps.exif_transpose(Image.open(d / "exif6.jpg")).convert("RGB")).tobytes())
# Hostile headers.
png("huge_side.png", 20000, 8, 2, 8, [b"\x00" * 60000])
png("huge_area.png", 12000, 12000, 2, 8, [b"\x00" * 36000])
j = bytearray((d / "rgb420.jpg").read_bytes())
i = j.index(b"\xff\xc0")
j[i + 5:i + 9] = struct.pack(">HH", 60000, 60000)
(d / "huge.jpg").write_bytes(bytes(j))
