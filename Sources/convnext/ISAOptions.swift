import ArgumentParser
import ConvNeXtKit

/// `--isa`: caps the instruction sets kernels may use (for tests and benchmarks); without it,
/// `CONVNEXT_ISA` does the same. Both refuse an ISA this CPU lacks.
struct ISAOptions: ParsableArguments {
    @Option(name: .customLong("isa"),
            help: "Highest instruction set kernels may use: portable, avx2, avx512, avx512vnni, avx512bf16, amx, neon, neondot (default: the best this CPU has, or CONVNEXT_ISA). See `convnext cpu`.")
    var isa: String?

    /// Applies the cap before any engine is built.
    func apply() throws {
        if let isa { try CPUFeatures.setCap(named: isa) } else { try CPUFeatures.applyEnvironment() }
    }
}

/// `convnext cpu`: what the kernel table finds on this CPU and which kernel each op would use.
struct CPUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpu",
        abstract: "Show the CPU's features and the kernel chosen for each op (under --isa or CONVNEXT_ISA).",
        discussion: """
            Kernels are chosen at run time from the CPU's features (CPUID and XGETBV on x86-64, \
            hwcaps on aarch64). --isa (or CONVNEXT_ISA) caps the choice, e.g. to compare AVX2 with \
            AVX-512 kernels on one machine; an ISA the CPU lacks is refused.
            """)

    @OptionGroup var isaOptions: ISAOptions

    @Flag(help: "List every kernel of the table, runnable here or not.")
    var all = false

    func run() throws {
        try reportingErrors {
            try isaOptions.apply()
            var lines = ["cpu:      \(CPUFeatures.brand)",
                         "features: " + ISA.allCases.filter(CPUFeatures.has).map(\.rawValue).joined(separator: " "),
                         "cap:      \(CPUFeatures.cap.rawValue)" + (isaOptions.isa == nil && CPUFeatures.cap == ISA.allCases.last(where: CPUFeatures.has)
                            ? " (the best this CPU has)" : ""),
                         "", "op               kernels chosen"]
            for (op, kernels) in KernelTable.choices {
                lines.append(op.label.padding(toLength: 17, withPad: " ", startingAt: 0)
                             + kernels.map(\.name).joined(separator: ", "))
            }
            if all {
                lines += ["", "kernel table (fastest first within an op):"]
                for kernel in KernelTable.all {
                    let state = kernel.enabled ? "enabled" : kernel.runnable ? "runnable, above the cap" : "needs \(kernel.isa.rawValue)"
                    lines.append("  " + kernel.name.padding(toLength: 34, withPad: " ", startingAt: 0) + state)
                }
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
