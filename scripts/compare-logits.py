#!/usr/bin/env python3
"""Compares two raw little-endian float32 logit files: max |a - b| <= TOL x max |b| and the same top-5.
Exit 0 when they match (no numpy needed)."""
import struct
import sys

def read(path):
    data = open(path, "rb").read()
    return struct.unpack("<%df" % (len(data) // 4), data)

got, want = read(sys.argv[1]), read(sys.argv[2])
tol = float(sys.argv[3])
scale = max(abs(v) for v in want)
err = max(abs(a - b) for a, b in zip(got, want)) / scale if len(got) == len(want) else float("inf")
top5 = lambda v: sorted(range(len(v)), key=lambda i: -v[i])[:5]
ok = len(got) == len(want) and err <= tol and top5(got) == top5(want)
print("%s: max error / max|logit| = %.3g (tolerance %g), top-5 %s" % (sys.argv[1], err, tol, "same" if top5(got) == top5(want) else "differs"))
sys.exit(0 if ok else 1)
