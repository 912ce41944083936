#!/usr/bin/env python3
"""Export a pretrained timm ConvNeXt to ONNX exactly as the model zoo does.

Needs a machine with internet and `pip install torch timm onnx`:
    python3 tools/export_timm.py convnext_atto            # -> convnext_atto.onnx (opset 11, 224x224)
    python3 tools/export_timm.py convnext_nano --opset 17 --size 288 --output nano288.onnx

Input is named `data`, output `output`, as in the zoo's recipe; prints the parameter count.
"""
import argparse

import torch
import timm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="timm model name, e.g. convnext_atto or convnext_atto.d2_in1k")
    ap.add_argument("--opset", type=int, default=11, help="ONNX opset (default 11, as the zoo)")
    ap.add_argument("--size", type=int, default=224, help="input height and width (multiple of 32)")
    ap.add_argument("--output", help="output file (default MODEL.onnx)")
    ap.add_argument("--no-pretrained", action="store_true", help="random weights (no download)")
    args = ap.parse_args()
    if args.size % 32:
        ap.error("--size must be a multiple of 32")
    model = timm.create_model(args.model, pretrained=not args.no_pretrained).eval()
    params = sum(p.numel() for p in model.state_dict().values())
    out = args.output or args.model.split(".")[0] + ".onnx"
    x = torch.randn(1, 3, args.size, args.size)
    torch.onnx.export(model, x, out, opset_version=args.opset, input_names=["data"], output_names=["output"], dynamo=False)
    print(f"{out}: {args.model}, {params:,} parameters, opset {args.opset}, input 1x3x{args.size}x{args.size}")


if __name__ == "__main__":
    main()
