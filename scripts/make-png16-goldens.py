#!/usr/bin/env python3
"""Writes 16-bit PNGs and the RGB bytes Pillow decodes from each (`Image.open(f).convert("RGB")`).

Pillow 13 opens 16-bit grey as mode I;16, and its conversion to RGB saturates: 0...255 stay,
256...65535 become 255 (no scaling by 257, no high byte). 16-bit grey + alpha, RGB and RGBA are
opened as LA/RGBA/RGB with the high byte of each sample. The sample values below cover both
sides of every boundary (255/256, 32767/32768, 65535) so the decoder must match either rule
exactly. Grey with a tRNS chunk checks that transparency changes nothing, as in Pillow.

Usage: python3 scripts/make-png16-goldens.py   (needs numpy and Pillow; checked with Pillow 13.0.0)
Writes Fixtures/images/decode/png16/<name>.png and <name>.png.rgb (height x width x 3 bytes).
"""
import pathlib
import struct
import zlib

import numpy as np
import PIL
from PIL import Image

OUT = pathlib.Path(__file__).resolve().parent.parent / "Fixtures" / "images" / "decode" / "png16"
EDGES = [0, 1, 127, 200, 255, 256, 257, 300, 511, 4095, 32767, 32768, 51400, 65279, 65280, 65535]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(name, samples, colour_type, extra=b""):
    """`samples`: uint16 array of shape (height, width, channels)."""
    h, w = samples.shape[:2]
    rows = b"".join(b"\x00" + samples[y].astype(">u2").tobytes() for y in range(h))
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))
            + extra + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    path = OUT / (name + ".png")
    path.write_bytes(data)
    with Image.open(path) as im:
        mode = im.mode
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    (OUT / (name + ".png.rgb")).write_bytes(np.ascontiguousarray(rgb).tobytes())
    print(f"{name}.png: Pillow mode {mode}, {w}x{h}")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(16)
    edges = np.array(EDGES, np.uint16)
    grey = np.stack([edges, edges[::-1], rng.integers(0, 65536, edges.size).astype(np.uint16)])[..., None]
    write_png("gray16", grey, 0)
    write_png("gray16_trns", grey, 0, extra=chunk(b"tRNS", struct.pack(">H", 256)))
    alpha = rng.integers(0, 65536, grey.shape).astype(np.uint16)
    write_png("gray_alpha16", np.concatenate([grey, alpha], axis=2), 4)
    colour = np.stack([grey[..., 0], np.roll(grey[..., 0], 5, axis=1), rng.integers(0, 65536, grey.shape[:2])], axis=2).astype(np.uint16)
    write_png("rgb16", colour, 2)
    write_png("rgba16", np.concatenate([colour, alpha], axis=2), 6)
    print(f"Pillow {PIL.__version__}")


if __name__ == "__main__":
    main()
