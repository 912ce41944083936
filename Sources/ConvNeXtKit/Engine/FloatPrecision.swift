import CConvNeXtKernels

/// The arithmetic of the float engine's pointwise layers: `f32` everywhere (the default), or
/// `bf16` (weights stored as bf16, activations rounded to bf16 in the GEMM prologue, exact
/// products summed in f32, the bias / GELU / residual epilogue in f32; numerics in `cnxk_bf16.h`).
///
/// bf16 runs on the AMX-BF16 or AVX512-BF16 kernels of the table; the portable bf16 kernel (same
/// numerics, slow) runs only when the caller capped the ISA to `portable` (`--isa portable`), so
/// that nobody gets it by accident on a CPU without bf16 hardware.
public enum FloatPrecision: String, CaseIterable, Sendable {
    case f32
    case bf16

    /// The pointwise layers of the float program, for choosing which run in bf16.
    enum Layer {
        case stem, downsample, block, head
    }

    /// The storage of `layer`'s weights under this precision: bf16 for the block MLPs, the
    /// downsamples and the classifier. The stem conv stays f32: its A rows are the normalised
    /// image itself and it is about 1% of atto's multiply-adds (k = 48), so bf16 there would cost
    /// input precision for no measurable time. Measured on atto: docs/benchmarks.md ("bf16 precision").
    func storage(for layer: Layer) -> FloatPrecision {
        switch (self, layer) {
        case (.f32, _), (.bf16, .stem): .f32
        case (.bf16, _): .bf16
        }
    }

    /// Throws the one-line refusal when this precision cannot run under the current CPU and ISA cap.
    public func checkAvailable() throws {
        guard self == .bf16 else { return }
        let best = KernelTable.best(.bf16GEMM)
        if best.isa != .portable { return }
        if cnxk_isa_cap_is_set() != 0 && CPUFeatures.cap == .portable { return }
        if CPUFeatures.has(.avx512bf16) || CPUFeatures.has(.amx) {
            throw ConvNeXtError.usage(
                "bf16 needs the AVX512-BF16 or AMX-BF16 kernels; the ISA cap \(CPUFeatures.cap.rawValue) (--isa or CONVNEXT_ISA) excludes them (use --isa avx512bf16, amx or portable)")
        }
        throw ConvNeXtError.usage(
            "bf16 needs AVX512-BF16 or AMX-BF16; this CPU (\(CPUFeatures.brand)) has neither (use --isa portable to run the exact but slow portable bf16 kernels)")
    }
}
