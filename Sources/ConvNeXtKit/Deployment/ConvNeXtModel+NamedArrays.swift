import Foundation

extension ConvNeXtModel {
    /// Every weight as a named f32 array, named as timm's state_dict names them
    /// (`stem.0.weight`, `stages.1.downsample.1.weight`, `stages.0.blocks.0.mlp.fc1.weight`, ...).
    /// Convolutions are OIHW; fc1/fc2 are `[out, in, 1, 1]` in the conv-MLP form, `[out, in]` otherwise.
    public func namedArrays() throws -> [NamedArray] {
        var out: [NamedArray] = []
        func conv(_ prefix: String, _ c: Conv2D) throws {
            out.append(try NamedArray(name: prefix + ".weight", shape: [c.outChannels, c.inChannels / max(c.groups, 1), c.kernel, c.kernel], floats: c.weight))
            out.append(try NamedArray(name: prefix + ".bias", shape: [c.outChannels], floats: c.bias))
        }
        func norm(_ prefix: String, _ n: LayerNorm) throws {
            out.append(try NamedArray(name: prefix + ".weight", shape: [n.channels], floats: n.weight))
            out.append(try NamedArray(name: prefix + ".bias", shape: [n.bias.count], floats: n.bias))
        }
        func linear(_ prefix: String, _ l: Linear, asConv: Bool) throws {
            let shape = asConv ? [l.outFeatures, l.inFeatures, 1, 1] : [l.outFeatures, l.inFeatures]
            out.append(try NamedArray(name: prefix + ".weight", shape: shape, floats: l.weight))
            out.append(try NamedArray(name: prefix + ".bias", shape: [l.outFeatures], floats: l.bias))
        }
        let asConv = config.blockForm == .convMLP
        try conv("stem.0", stem.conv)
        try norm("stem.1", stem.norm)
        for (s, stage) in stages.enumerated() {
            if let down = stage.downsample {
                try norm("stages.\(s).downsample.0", down.norm)
                try conv("stages.\(s).downsample.1", down.conv)
            }
            for (b, block) in stage.blocks.enumerated() {
                let p = "stages.\(s).blocks.\(b)"
                try conv(p + ".conv_dw", block.dwConv)
                try norm(p + ".norm", block.norm)
                try linear(p + ".mlp.fc1", block.fc1, asConv: asConv)
                try linear(p + ".mlp.fc2", block.fc2, asConv: asConv)
                if let gamma = block.layerScale {
                    out.append(try NamedArray(name: p + ".gamma", shape: [gamma.count], floats: gamma))
                }
            }
        }
        try norm("head.norm", head.norm)
        try linear("head.fc", head.fc, asConv: false)
        return out
    }

    /// LayerNorm epsilons keyed by `LayerID.description` (they are not arrays).
    public var layerNormEpsilons: [String: Float] {
        var eps: [String: Float] = [LayerID.stemNorm.description: stem.norm.epsilon, LayerID.headNorm.description: head.norm.epsilon]
        for (s, stage) in stages.enumerated() {
            if let down = stage.downsample { eps[LayerID.downsampleNorm(stage: s).description] = down.norm.epsilon }
            for (b, block) in stage.blocks.enumerated() { eps[LayerID.norm(stage: s, block: b).description] = block.norm.epsilon }
        }
        return eps
    }

    /// Rebuilds a model from `namedArrays()` output, checking every name and shape against `config`.
    /// Errors are `invalidModel` naming `path`; arrays the architecture does not use are refused.
    public init(config: ConvNeXtConfig, arrays: [NamedArray], epsilons: [String: Float], path: String) throws {
        func fail(_ reason: String) -> ConvNeXtError { .invalidModel(path: path, reason: reason) }
        try Self.validate(config, fail: fail)
        var byName: [String: NamedArray] = [:]
        for a in arrays { byName[a.name] = a }
        func take(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let a = byName.removeValue(forKey: name) else { throw fail("array '\(name)' is missing") }
            guard a.shape == shape else {
                throw fail("array '\(name)' has shape \(a.shape.map(String.init).joined(separator: "x")), expected \(shape.map(String.init).joined(separator: "x"))")
            }
            guard let values = a.floats else { throw fail("array '\(name)' is \(a.elementType), expected f32") }
            return values
        }
        func epsilon(_ id: LayerID) throws -> Float {
            guard let e = epsilons[id.description], e.isFinite, e > 0 else { throw fail("LayerNorm epsilon of \(id) is missing or invalid") }
            return e
        }
        func conv(_ prefix: String, out o: Int, in i: Int, kernel k: Int, stride: Int, padding: Int, groups: Int) throws -> Conv2D {
            let w = try take(prefix + ".weight", [o, i / groups, k, k])
            return Conv2D(outChannels: o, inChannels: i, kernel: k, stride: stride, padding: padding, groups: groups,
                          weight: w, bias: try take(prefix + ".bias", [o]))
        }
        func norm(_ prefix: String, _ c: Int, _ id: LayerID) throws -> LayerNorm {
            LayerNorm(weight: try take(prefix + ".weight", [c]), bias: try take(prefix + ".bias", [c]), epsilon: try epsilon(id))
        }
        func linear(_ prefix: String, out o: Int, in i: Int, asConv: Bool) throws -> Linear {
            Linear(outFeatures: o, inFeatures: i, weight: try take(prefix + ".weight", asConv ? [o, i, 1, 1] : [o, i]),
                   bias: try take(prefix + ".bias", [o]))
        }
        let dims = config.dims
        let asConv = config.blockForm == .convMLP
        // The stem is k x k stride k; its kernel is read from the stored shape (4 for ConvNeXt).
        guard let stemWeight = byName["stem.0.weight"], stemWeight.shape.count == 4 else { throw fail("array 'stem.0.weight' is missing or not 4-D") }
        let k = stemWeight.shape[2]
        guard k >= 1, k <= 64 else { throw fail("stem kernel \(k) is invalid") }
        let stem = Stem(conv: try conv("stem.0", out: dims[0], in: config.inputChannels, kernel: k, stride: k, padding: 0, groups: 1),
                        norm: try norm("stem.1", dims[0], .stemNorm))
        var stages: [Stage] = []
        for (s, depth) in config.depths.enumerated() {
            let c = dims[s]
            var down: Downsample?
            if s > 0 {
                down = Downsample(norm: try norm("stages.\(s).downsample.0", dims[s - 1], .downsampleNorm(stage: s)),
                                  conv: try conv("stages.\(s).downsample.1", out: c, in: dims[s - 1], kernel: 2, stride: 2, padding: 0, groups: 1))
            }
            var blocks: [ConvNeXtBlock] = []
            for b in 0..<depth {
                let p = "stages.\(s).blocks.\(b)"
                guard let dwWeight = byName[p + ".conv_dw.weight"], dwWeight.shape.count == 4 else { throw fail("array '\(p).conv_dw.weight' is missing or not 4-D") }
                let dk = dwWeight.shape[2]
                guard dk % 2 == 1, dk <= 31 else { throw fail("depthwise kernel \(dk) of \(p) is invalid") }
                let dw = try conv(p + ".conv_dw", out: c, in: c, kernel: dk, stride: 1, padding: dk / 2, groups: c)
                let n = try norm(p + ".norm", c, .norm(stage: s, block: b))
                guard let fc1Weight = byName[p + ".mlp.fc1.weight"], fc1Weight.shape.count >= 1 else { throw fail("array '\(p).mlp.fc1.weight' is missing") }
                let hidden = fc1Weight.shape[0]
                guard hidden >= 1, hidden <= 1 << 20 else { throw fail("\(p) MLP width \(hidden) is invalid") }
                let fc1 = try linear(p + ".mlp.fc1", out: hidden, in: c, asConv: asConv)
                let fc2 = try linear(p + ".mlp.fc2", out: c, in: hidden, asConv: asConv)
                let gamma = byName[p + ".gamma"] != nil ? try take(p + ".gamma", [c]) : nil
                blocks.append(ConvNeXtBlock(dwConv: dw, norm: n, fc1: fc1, fc2: fc2, layerScale: gamma))
            }
            stages.append(Stage(downsample: down, blocks: blocks))
        }
        let last = dims[dims.count - 1]
        let head = Head(norm: try norm("head.norm", last, .headNorm),
                        fc: try linear("head.fc", out: config.numClasses, in: last, asConv: false))
        if let extra = byName.keys.sorted().first {
            throw fail("array '\(extra)' is not part of a \(config.variantName) ConvNeXt\(byName.count > 1 ? " (and \(byName.count - 1) more)" : "")")
        }
        self.init(config: config, stem: stem, stages: stages, head: head)
    }

    /// Refuses architectures no file should describe, before anything is built from them.
    static func validate(_ config: ConvNeXtConfig, fail: (String) -> ConvNeXtError) throws {
        guard config.depths.count == 4, config.dims.count == 4 else { throw fail("a ConvNeXt has 4 stages, the metadata describes \(config.depths.count)") }
        guard config.depths.allSatisfy({ (1...1024).contains($0) }) else { throw fail("stage depths \(config.depths) are invalid") }
        guard config.dims.allSatisfy({ (1...1 << 16).contains($0) }) else { throw fail("stage widths \(config.dims) are invalid") }
        guard (1...1 << 20).contains(config.numClasses) else { throw fail("class count \(config.numClasses) is invalid") }
        guard (1...64).contains(config.inputChannels) else { throw fail("input channel count \(config.inputChannels) is invalid") }
        guard (32...16384).contains(config.inputHeight), (32...16384).contains(config.inputWidth),
              config.inputHeight % 32 == 0, config.inputWidth % 32 == 0 else {
            throw fail("input size \(config.inputHeight)x\(config.inputWidth) is not a multiple of 32")
        }
    }
}
