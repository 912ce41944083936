import Foundation

/// The published ConvNeXt variants, and models built from a config with seeded random weights.
public struct ConvNeXtSpec: Sendable, Equatable {
    public var name: String
    public var depths: [Int]
    public var dims: [Int]
    public var blockForm: BlockForm

    public init(name: String, depths: [Int], dims: [Int], blockForm: BlockForm) {
        self.name = name
        self.depths = depths
        self.dims = dims
        self.blockForm = blockForm
    }

    /// timm's ConvNeXt family; atto..nano use the conv MLP, tiny and larger the Linear MLP.
    public static let all: [ConvNeXtSpec] = [
        ConvNeXtSpec(name: "atto", depths: [2, 2, 6, 2], dims: [40, 80, 160, 320], blockForm: .convMLP),
        ConvNeXtSpec(name: "femto", depths: [2, 2, 6, 2], dims: [48, 96, 192, 384], blockForm: .convMLP),
        ConvNeXtSpec(name: "pico", depths: [2, 2, 6, 2], dims: [64, 128, 256, 512], blockForm: .convMLP),
        ConvNeXtSpec(name: "nano", depths: [2, 2, 8, 2], dims: [80, 160, 320, 640], blockForm: .convMLP),
        ConvNeXtSpec(name: "tiny", depths: [3, 3, 9, 3], dims: [96, 192, 384, 768], blockForm: .linearMLP),
        ConvNeXtSpec(name: "small", depths: [3, 3, 27, 3], dims: [96, 192, 384, 768], blockForm: .linearMLP),
        ConvNeXtSpec(name: "base", depths: [3, 3, 27, 3], dims: [128, 256, 512, 1024], blockForm: .linearMLP),
        ConvNeXtSpec(name: "large", depths: [3, 3, 27, 3], dims: [192, 384, 768, 1536], blockForm: .linearMLP),
    ]

    /// The spec with this name (`atto`, `convnext_atto`), if any.
    public static func named(_ name: String) -> ConvNeXtSpec? {
        let short = name.hasPrefix("convnext_") ? String(name.dropFirst("convnext_".count)) : name
        return all.first { $0.name == short }
    }

    /// Variant name for depths and dims, or `custom`.
    public static func variantName(depths: [Int], dims: [Int]) -> String {
        all.first { $0.depths == depths && $0.dims == dims }?.name ?? "custom"
    }

    /// The config of this variant at a given input size and class count.
    public func config(numClasses: Int = 1000, inputSize: Int = 224) -> ConvNeXtConfig {
        ConvNeXtConfig(depths: depths, dims: dims, blockForm: blockForm, numClasses: numClasses,
                       inputHeight: inputSize, inputWidth: inputSize)
    }
}

/// SplitMix64: a small deterministic generator, so random models are identical everywhere.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A normally distributed value (Box-Muller).
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }
}

@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }

extension ConvNeXtModel {
    /// A model of this config with deterministic random weights shaped like a trained one
    /// (fan-in scaled weights, perturbed norms, small layer scale), for tests and benchmarks.
    public static func random(config: ConvNeXtConfig, seed: UInt64 = 0) -> ConvNeXtModel {
        var rng = SeededGenerator(seed: seed)
        func values(_ n: Int, scale: Float, offset: Float = 0) -> [Float] {
            (0..<n).map { _ in offset + scale * rng.normal() }
        }
        func conv(_ o: Int, _ i: Int, k: Int, s: Int, p: Int, g: Int) -> Conv2D {
            let fanIn = (i / g) * k * k
            return Conv2D(outChannels: o, inChannels: i, kernel: k, stride: s, padding: p, groups: g,
                          weight: values(o * (i / g) * k * k, scale: 1 / Float(fanIn).squareRoot()),
                          bias: values(o, scale: 0.05))
        }
        func linear(_ o: Int, _ i: Int) -> Linear {
            Linear(outFeatures: o, inFeatures: i, weight: values(o * i, scale: 1 / Float(i).squareRoot()),
                   bias: values(o, scale: 0.05))
        }
        func norm(_ c: Int) -> LayerNorm {
            LayerNorm(weight: values(c, scale: 0.2, offset: 1), bias: values(c, scale: 0.05), epsilon: 1e-6)
        }
        let dims = config.dims
        let stem = Stem(conv: conv(dims[0], config.inputChannels, k: 4, s: 4, p: 0, g: 1), norm: norm(dims[0]))
        var stages: [Stage] = []
        for (s, depth) in config.depths.enumerated() {
            let c = dims[s]
            let down = s == 0 ? nil : Downsample(norm: norm(dims[s - 1]), conv: conv(c, dims[s - 1], k: 2, s: 2, p: 0, g: 1))
            let blocks = (0..<depth).map { _ in
                ConvNeXtBlock(dwConv: conv(c, c, k: 7, s: 1, p: 3, g: c), norm: norm(c),
                              fc1: linear(4 * c, c), fc2: linear(c, 4 * c), layerScale: values(c, scale: 0.3))
            }
            stages.append(Stage(downsample: down, blocks: blocks))
        }
        let head = Head(norm: norm(dims[dims.count - 1]), fc: linear(config.numClasses, dims[dims.count - 1]))
        return ConvNeXtModel(config: config, stem: stem, stages: stages, head: head,
                             source: ModelSource(path: "random:\(config.variantName):seed\(seed)", format: "memory"))
    }
}
