"""Median latency of `Model.infer(x)` timed the way `convnext bench` times the engine: `--warmup`
untimed calls, then `--runs` timed ones on one normally distributed input, batch 1, the median
being the middle of the sorted times. Prints one JSON line.

With `--wrapper-overhead`, instead alternates `Model.infer(x)` with the bare ctypes call
`convnextkit_infer` on prepared pointers, call by call, and reports the median of each: their
difference is what the Python layer adds (load on the machine hits both alike). Prints one line."""

import argparse
import json
import time

import numpy as np

import convnextkit
from convnextkit import model as model_module


def timed(call):
    start = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - start) / 1e6


def median(times):
    return sorted(times)[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--wrapper-overhead", action="store_true")
    args = parser.parse_args()
    model = convnextkit.Model(args.model)
    x = np.random.default_rng(0).standard_normal(model.input.shape).astype(np.float32)
    infer = lambda: model.infer(x, threads=args.threads)  # noqa: E731
    for _ in range(args.warmup):
        infer()
    if not args.wrapper_overhead:
        times = [timed(infer) for _ in range(args.runs)]
        print(json.dumps({"median_ms": median(times), "min_ms": min(times), "runs": args.runs}))
        return
    lib, handle = model_module._lib(), model._handle
    logits = np.empty((1, model.input.classes), np.float32)
    x_p, out_p = x.ctypes.data, logits.ctypes.data
    n, k = model.input.element_count, model.input.classes
    raw = lambda: lib.convnextkit_infer(handle, x_p, n, out_p, k, args.threads)  # noqa: E731
    wrapped, bare = [], []
    for _ in range(args.runs):
        wrapped.append(timed(infer))
        bare.append(timed(raw))
    print(f"wrapper: Model.infer median {median(wrapped):.4f} ms, bare ctypes call {median(bare):.4f} ms: "
          f"{(median(wrapped) - median(bare)) * 1000:.1f} us per call ({args.runs} calls each, interleaved)")


if __name__ == "__main__":
    main()
