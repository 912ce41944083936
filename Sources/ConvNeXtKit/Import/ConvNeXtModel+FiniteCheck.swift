import Foundation

extension ConvNeXtModel {
    /// Every weight array with its timm state_dict name (the names `namedArrays` uses); the arrays are
    /// shared, not copied.
    func parameterArrays() -> [(name: String, values: [Float])] {
        var out: [(name: String, values: [Float])] = []
        func body(_ name: String, _ values: [Float]) { out.append((name, values)) }
        func conv(_ prefix: String, _ c: Conv2D) {
            body(prefix + ".weight", c.weight)
            body(prefix + ".bias", c.bias)
        }
        func norm(_ prefix: String, _ n: LayerNorm) {
            body(prefix + ".weight", n.weight)
            body(prefix + ".bias", n.bias)
        }
        func linear(_ prefix: String, _ l: Linear) {
            body(prefix + ".weight", l.weight)
            body(prefix + ".bias", l.bias)
        }
        conv("stem.0", stem.conv)
        norm("stem.1", stem.norm)
        for (s, stage) in stages.enumerated() {
            if let down = stage.downsample {
                norm("stages.\(s).downsample.0", down.norm)
                conv("stages.\(s).downsample.1", down.conv)
            }
            for (b, block) in stage.blocks.enumerated() {
                let p = "stages.\(s).blocks.\(b)"
                conv(p + ".conv_dw", block.dwConv)
                norm(p + ".norm", block.norm)
                linear(p + ".mlp.fc1", block.fc1)
                linear(p + ".mlp.fc2", block.fc2)
                if let gamma = block.layerScale { body(p + ".gamma", gamma) }
            }
        }
        norm("head.norm", head.norm)
        linear("head.fc", head.fc)
        return out
    }

    /// Refuses a model with a NaN or infinite weight, naming the tensor (timm's name) and the first bad
    /// element. Such a model gives NaN logits in float, and int8 quantisation would hide that (the
    /// weight's scale becomes meaningless), so every loader refuses it rather than run it.
    public func checkWeightsAreFinite(path: String) throws {
        for (name, values) in parameterArrays() {
            if let index = values.firstIndex(where: { !$0.isFinite }) {
                throw ConvNeXtError.invalidModel(path: path, reason: "weight '\(name)' holds \(values[index]) at element \(index); weights must be finite")
            }
        }
        var epsilons: [(String, Float)] = [("stem.1", stem.norm.epsilon), ("head.norm", head.norm.epsilon)]
        for (s, stage) in stages.enumerated() {
            if let down = stage.downsample { epsilons.append(("stages.\(s).downsample.0", down.norm.epsilon)) }
            for (b, block) in stage.blocks.enumerated() { epsilons.append(("stages.\(s).blocks.\(b).norm", block.norm.epsilon)) }
        }
        for (name, epsilon) in epsilons where !(epsilon.isFinite && epsilon >= 0) {
            throw ConvNeXtError.invalidModel(path: path, reason: "LayerNorm '\(name)' has epsilon \(epsilon); it must be finite and not negative")
        }
    }
}
