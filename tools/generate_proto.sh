#!/usr/bin/env bash
# Regenerates the committed Swift code for Protos/onnx_subset.proto.
# Needs Debian's protobuf-compiler and protoc-gen-swift built from swift-protobuf 1.39.0:
#   git clone https://github.com/apple/swift-protobuf -b 1.39.0 /tmp/sp && (cd /tmp/sp && swift build --product protoc-gen-swift)
#   PROTOC_GEN_SWIFT=/tmp/sp/.build/debug/protoc-gen-swift tools/generate_proto.sh
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift)}
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Internal \
  --swift_out=Sources/ConvNeXtKit/Import -I Protos Protos/onnx_subset.proto
echo "wrote Sources/ConvNeXtKit/Import/onnx_subset.pb.swift"
