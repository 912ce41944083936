"""Median latency of `Model.infer(x)` timed the way `convnext bench` times the engine: `--warmup`
untimed calls, then `--runs` timed ones on one normally distributed input, batch 1, the median
being the middle of the sorted times. Prints one JSON line."""

import argparse
import json
import time

import numpy as np

import convnextkit


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    model = convnextkit.Model(args.model)
    x = np.random.default_rng(0).standard_normal(model.input.shape).astype(np.float32)
    for _ in range(args.warmup):
        model.infer(x, threads=args.threads)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter_ns()
        model.infer(x, threads=args.threads)
        times.append((time.perf_counter_ns() - start) / 1e6)
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2], "min_ms": times[0], "runs": args.runs}))


if __name__ == "__main__":
    main()
