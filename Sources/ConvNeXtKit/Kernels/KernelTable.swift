import CConvNeXtKernels
import Foundation

/// An instruction set a kernel may need (the C table's `cnxk_isa`), in the order a cap applies.
public enum ISA: String, CaseIterable, Sendable {
    case portable, avx2, avx512, avx512vnni, avx512bf16, amx, neon, neondot

    /// The C enum value.
    var code: Int32 {
        Int32(cnxk_isa_from_name(rawValue))
    }

    init?(code: Int32) {
        guard let name = cnxk_isa_name(code), let isa = ISA(rawValue: String(cString: name)) else { return nil }
        self = isa
    }
}

/// The CPU this process runs on, as the kernel table sees it: features are read once (CPUID and
/// XGETBV on x86-64, hwcaps on aarch64), and an optional cap (`--isa`, `CONVNEXT_ISA`) limits
/// which ISAs engines built afterwards may use.
public enum CPUFeatures {
    /// The processor's brand string, or "unknown".
    public static var brand: String {
        let text = String(cString: cnxk_cpu_brand()).trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? "unknown" : text
    }

    /// Whether the CPU (and OS) can run kernels of `isa`, whatever the cap.
    public static func has(_ isa: ISA) -> Bool { cnxk_cpu_has(isa.code) != 0 }

    /// Whether kernels of `isa` may run now (the CPU has it and it is within the cap).
    public static func enabled(_ isa: ISA) -> Bool { cnxk_isa_enabled(isa.code) != 0 }

    /// Every ISA this CPU has.
    public static var available: [ISA] { ISA.allCases.filter(has) }

    /// The highest ISA kernels may use now.
    public static var cap: ISA { ISA(code: cnxk_isa_cap()) ?? .portable }

    /// Limits kernels to `isa` and the ISAs before it; throws when the CPU lacks it. Engines choose
    /// their kernels when they are built, so set it first.
    public static func setCap(_ isa: ISA) throws {
        guard cnxk_set_isa_cap(isa.code) == 0 else {
            throw ConvNeXtError.usage(
                "this CPU cannot run \(isa.rawValue) kernels (it has: \(available.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    /// Applies a cap by name (`--isa`, `CONVNEXT_ISA`); throws for unknown names and ISAs the CPU lacks.
    public static func setCap(named name: String) throws {
        guard let isa = ISA(rawValue: name.lowercased()) else {
            throw ConvNeXtError.usage(
                "unknown ISA '\(name)' (expected one of: \(ISA.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        try setCap(isa)
    }

    /// Applies `CONVNEXT_ISA` when it is set.
    public static func applyEnvironment() throws {
        guard let value = getenvString("CONVNEXT_ISA"), !value.isEmpty else { return }
        do { try setCap(named: value) } catch ConvNeXtError.usage(let message) {
            throw ConvNeXtError.usage("CONVNEXT_ISA: \(message)")
        }
    }

    private static func getenvString(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// What a kernel computes (the C table's `cnxk_op`).
public enum KernelOp: Int32, CaseIterable, Sendable {
    case f32GEMM = 0, f32Depthwise7x7, layerNorm, qu8GEMM, qu16GEMM, bf16GEMM

    /// Short name for reports.
    public var label: String {
        switch self {
        case .f32GEMM: "f32 gemm"
        case .f32Depthwise7x7: "f32 dwconv7x7"
        case .layerNorm: "layernorm"
        case .qu8GEMM: "qu8 gemm"
        case .qu16GEMM: "qu16 gemm"
        case .bf16GEMM: "bf16 gemm"
        }
    }
}

/// One entry of the C kernel table (Sources/CConvNeXtKernels/table.c).
public struct Kernel: @unchecked Sendable, CustomStringConvertible {
    /// `op_dtype_tile__isa`, e.g. `f32_gemm_6x16__avx2`.
    public let name: String
    public let op: KernelOp
    public let isa: ISA
    /// Rows per tile (GEMMs) or pixels per step (depthwise).
    public let mr: Int
    /// Columns per tile (GEMMs; the packed panel width for f32) or channels per step (depthwise).
    public let nr: Int
    /// The C entry, with the function pointer of `op` (for tests and benchmarks that call it directly).
    public let entry: cnxk_kernel

    public var description: String { name }
    /// Whether this CPU can run it (whatever the cap).
    public var runnable: Bool { CPUFeatures.has(isa) }
    /// Whether engines built now may choose it.
    public var enabled: Bool { CPUFeatures.enabled(isa) }

    var f32GEMM: cnxk_f32_gemm_fn { entry.f32_gemm! }
    var f32Depthwise: cnxk_f32_dwconv_fn { entry.f32_dwconv! }
    var layerNorm: cnxk_layernorm_fn { entry.layernorm! }
    var quantizedGEMM: cnxq_gemm_fn { entry.q_gemm! }
    var bf16GEMM: cnxk_bf16_gemm_fn { entry.bf16_gemm! }
}

/// The one list of micro-kernels (XNNPACK style): engines pick from it when they are built, the
/// kernel tests run every runnable entry against its reference, and `convnext bench --kernels`
/// times every entry.
public enum KernelTable {
    /// Every entry, fastest first within an op.
    public static let all: [Kernel] = (0..<cnxk_kernel_count()).compactMap { i in
        guard let p = cnxk_kernel_at(i), let name = p.pointee.name, let op = KernelOp(rawValue: p.pointee.op),
              let isa = ISA(code: p.pointee.isa) else { return nil }
        return Kernel(name: String(cString: name), op: op, isa: isa, mr: Int(p.pointee.mr), nr: Int(p.pointee.nr),
                      entry: p.pointee)
    }

    /// The entries of one op.
    public static func entries(_ op: KernelOp) -> [Kernel] { all.filter { $0.op == op } }

    /// The fastest enabled entry of `op` (every op has a portable entry).
    public static func best(_ op: KernelOp) -> Kernel {
        entries(op).first { $0.enabled }!
    }

    /// The enabled entries of `op` of one ISA (the best one's unless given): the tile family a
    /// layer packs for.
    public static func family(_ op: KernelOp, isa: ISA? = nil) -> [Kernel] {
        let isa = isa ?? best(op).isa
        return entries(op).filter { $0.isa == isa }
    }

    /// Panel widths for `paddedColumns` output columns (a multiple of 16) from the tile widths a
    /// family has: panels of the widest, then one panel for the rest when a tile has its width
    /// (AVX-512 48 + 32, AMX 32 + 16), else panels of the narrowest. A rest of 16 after 48s
    /// becomes 32 + 32 instead of 48 + 16 (16-wide panels waste broadcasts; all-32 panels
    /// measured about 5% slower on atto).
    public static func panelWidths(paddedColumns n: Int, available: Set<Int>) -> [Int] {
        let widest = available.max() ?? 16, narrowest = available.min() ?? 16
        var widths = [Int](repeating: widest, count: n / widest)
        let rest = n % widest
        if rest == 16, widest == 48, available.contains(32), !widths.isEmpty {
            widths.removeLast()
            widths += [32, 32]
        } else if available.contains(rest) {
            widths.append(rest)
        } else if rest > 0 {
            widths += [Int](repeating: narrowest, count: (rest + narrowest - 1) / narrowest)
        }
        return widths
    }

    /// Each op with the kernel engines built now would choose, for `convnext cpu`.
    public static var choices: [(op: KernelOp, kernels: [Kernel])] {
        KernelOp.allCases.map { op in (op, family(op)) }
    }
}
