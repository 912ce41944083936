#!/usr/bin/env python3
"""Writes the small hostile inputs of Fixtures/hostile (used by Tests/EndToEndTests/HostileInputTests.swift).

Run from the repository root: python3 tools/make_hostile_fixtures.py  (needs onnx, numpy, Pillow)."""
import io
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper
from PIL import Image

OUT = "Fixtures/hostile/"


def save(model, name):
    with open(OUT + name, "wb") as f:
        f.write(model.SerializeToString())


def graph_model(nodes, inits, inputs, outputs):
    g = helper.make_graph(nodes, "hostile", inputs, outputs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)], producer_name="hostile")


x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 64, 64])
y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 64, 64])

# Valid ONNX that is not a ConvNeXt: one Relu.
save(graph_model([helper.make_node("Relu", ["input"], ["output"])], [], [x], [y]), "relu_not_convnext.onnx")


def stem(weight):
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 8, 16, 16])
    node = helper.make_node("Conv", ["input", "stem.0.weight"], ["output"], kernel_shape=[4, 4], strides=[4, 4])
    return graph_model([node], [weight], [x], [out])


# Lying dims: raw_data holds 16 floats, dims say 8x3x4x4 = 384.
w = helper.make_tensor("stem.0.weight", TensorProto.FLOAT, [8, 3, 4, 4], np.zeros(384, np.float32).tobytes(), raw=True)
w.raw_data = np.zeros(16, np.float32).tobytes()
save(stem(w), "dims_longer_than_data.onnx")
# Negative dim.
w = helper.make_tensor("stem.0.weight", TensorProto.FLOAT, [8, 3, 4, 4], np.zeros(384, np.float32).tobytes(), raw=True)
w.dims[0] = -8
save(stem(w), "negative_dim.onnx")
# Dims whose product overflows 64 bits.
w.dims[:] = [1 << 40, 1 << 40, 1 << 40, 4]
save(stem(w), "overflowing_dims.onnx")
# A node input nothing produces.
save(graph_model([helper.make_node("Relu", ["nowhere"], ["output"])], [], [x], [y]), "dangling_input.onnx")

# Images the decoders do not take, or that are broken.
img = Image.new("RGB", (16, 12), (200, 30, 90))
img.save(OUT + "tiny.gif")
img.save(OUT + "tiny.bmp")
img.convert("CMYK").save(OUT + "cmyk.jpg", quality=90)
buf = io.BytesIO()
img.save(buf, "PNG")
png = buf.getvalue()
open(OUT + "truncated.png", "wb").write(png[: len(png) // 2])
buf = io.BytesIO()
Image.new("RGB", (64, 48), (10, 120, 240)).save(buf, "JPEG", quality=90)
jpg = buf.getvalue()
open(OUT + "truncated.jpg", "wb").write(jpg[: len(jpg) // 2])
open(OUT + "header_only.jpg", "wb").write(jpg[:20])
# PNG whose IHDR claims 100000 x 100000 pixels (CRC kept valid).
import zlib
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
open(OUT + "lying_size.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b""))
