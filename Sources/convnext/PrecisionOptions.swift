import ArgumentParser
import ConvNeXtKit

/// `--precision f32|bf16`: the arithmetic of a float model's pointwise layers (default: the
/// model's own, f32 unless a `.cnxk` file was packed with `--precision bf16`).
struct PrecisionOptions: ParsableArguments {
    @Option(help: "Float precision of the pointwise layers: f32 or bf16 (bf16 weights and activations, f32 sums; needs AVX512-BF16 or AMX-BF16, or --isa portable for the slow exact portable kernels). Default: the model's own (f32 unless packed with --precision bf16).")
    var precision: FloatPrecision?
}

extension FloatPrecision: ExpressibleByArgument {}
