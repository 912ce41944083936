import Foundation

/// Builds a typed ``ConvNeXtModel`` from a timm ConvNeXt state dict (`.safetensors` or `.pth`).
///
/// Depths, dims, block form and class count come from the tensor names and shapes
/// (`stem.0/1`, `stages.N.downsample.0/1`, `stages.N.blocks.M.{conv_dw,norm,mlp.fc1,mlp.fc2,gamma}`,
/// `head.norm`, `head.fc`); a `module.` prefix (DataParallel) is dropped, and the original
/// release's names (`downsample_layers`, `dwconv`, `pwconv1/2`, `norm`, `head`) are renamed to
/// timm's as timm does. Every tensor of the
/// state dict must be used: a key the model has no place for (ConvNeXt-V2's GRN, a pre-logits
/// head) is an error rather than silently ignored. Preprocessing is timm's ConvNeXt default
/// (crop 0.875, bicubic, ImageNet mean/std), LayerNorm epsilon 1e-6.
public enum CheckpointImporter {
    /// Input size used when none is given: timm's ConvNeXt ImageNet resolution.
    public static let defaultInputSize = 224

    /// timm's ConvNeXt LayerNorm epsilon.
    static let layerNormEpsilon: Float = 1e-6

    /// Reads a `.safetensors` or `.pth` file (recognised by content) into a model for
    /// `inputSize` x `inputSize` images.
    public static func load(data: Data, path: String, inputSize: Int = defaultInputSize) throws -> ConvNeXtModel {
        if ZipArchive.looksLikeZip(data) {
            return try load(source: PyTorchCheckpointReader(data: data, path: path), inputSize: inputSize)
        }
        // A broken header length still gets the safetensors reader's message when the name or the JSON
        // header's first byte says safetensors.
        let jsonAtHeader = data.count > 8 && data[data.startIndex + 8] == UInt8(ascii: "{")
        if SafetensorsReader.looksLikeSafetensors(data) || jsonAtHeader || path.lowercased().hasSuffix(".safetensors") {
            return try load(source: SafetensorsReader(data: data, path: path), inputSize: inputSize)
        }
        throw ConvNeXtError.invalidModel(path: path, reason: "neither a safetensors file nor a PyTorch zip checkpoint")
    }

    /// Builds the model from any tensor source.
    public static func load(source: CheckpointTensorSource, inputSize: Int = defaultInputSize) throws -> ConvNeXtModel {
        var builder = try ModelBuilder(source: source)
        return try builder.build(inputSize: inputSize)
    }
}

/// Assembles the model while recording which checkpoint keys went where.
private struct ModelBuilder {
    let source: CheckpointTensorSource
    /// Model key (prefix removed) -> key in the file.
    let keys: [String: String]
    var used: Set<String> = []
    var nodes: [LayerID: [String]] = [:]

    init(source: CheckpointTensorSource) throws {
        self.source = source
        var keys: [String: String] = [:]
        let original = source.tensors.keys.contains { $0.hasPrefix("downsample_layers.") || $0.hasPrefix("module.downsample_layers.") }
        for name in source.tensors.keys {
            var key = name.hasPrefix("module.") ? String(name.dropFirst("module.".count)) : name
            if original { key = Self.timmKey(original: key) }
            if let other = keys[key] {
                throw ConvNeXtError.invalidModel(path: source.path, reason: "tensors '\(other)' and '\(name)' both name '\(key)'")
            }
            keys[key] = name
        }
        self.keys = keys
    }

    /// The timm name of a key of the original ConvNeXt release (`downsample_layers`, `dwconv`,
    /// `pwconv1/2`, `norm`, `head`), as timm's own checkpoint filter renames them.
    static func timmKey(original key: String) -> String {
        var parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 4, parts[0] == "downsample_layers", let s = Int(parts[1]) {
            // downsample_layers.0 is the stem (conv, norm); the others are norm, conv.
            return s == 0 ? "stem.\(parts[2]).\(parts[3])" : "stages.\(s).downsample.\(parts[2]).\(parts[3])"
        }
        if parts.count == 5, parts[0] == "stages", Int(parts[1]) != nil, Int(parts[2]) != nil {
            let renamed = ["dwconv": "conv_dw", "pwconv1": "mlp.fc1", "pwconv2": "mlp.fc2", "norm": "norm"][parts[3]]
            if let renamed {
                parts[3] = renamed
                return "stages.\(parts[1]).blocks.\(parts[2]).\(parts[3]).\(parts[4])"
            }
        }
        if parts.count == 4, parts[0] == "stages", Int(parts[1]) != nil, Int(parts[2]) != nil, parts[3] == "gamma" {
            return "stages.\(parts[1]).blocks.\(parts[2]).gamma"
        }
        if parts.count == 2, parts[0] == "norm" { return "head.norm.\(parts[1])" }
        if parts.count == 2, parts[0] == "head" { return "head.fc.\(parts[1])" }
        return key
    }

    private func fail(_ reason: String) -> ConvNeXtError { .unsupportedModel(path: source.path, reason: reason) }

    func has(_ key: String) -> Bool { keys[key] != nil }

    func shape(_ key: String) throws -> [Int] {
        guard let name = keys[key], let info = source.tensors[name] else { throw fail("missing tensor '\(key)'") }
        return info.shape
    }

    /// The values of `key`, which must have one of the `shapes`; records it for `layer`.
    mutating func take(_ key: String, shapes: [[Int]], for layer: LayerID) throws -> [Float] {
        let actual = try shape(key)
        guard shapes.contains(actual) else {
            throw fail("tensor '\(key)' has shape \(actual), expected \(shapes.map { "\($0)" }.joined(separator: " or "))")
        }
        let name = keys[key] ?? key
        used.insert(key)
        nodes[layer, default: []].append(name)
        return try source.floats(name)
    }

    mutating func norm(_ prefix: String, channels: Int, for layer: LayerID) throws -> LayerNorm {
        LayerNorm(weight: try take(prefix + ".weight", shapes: [[channels]], for: layer),
                  bias: try take(prefix + ".bias", shapes: [[channels]], for: layer),
                  epsilon: CheckpointImporter.layerNormEpsilon)
    }

    /// `[out, in]` or `[out, in, 1, 1]` (a 1x1 convolution) as a Linear; tells which form it was.
    mutating func linear(_ prefix: String, inFeatures: Int, outFeatures: Int? = nil, for layer: LayerID) throws -> (Linear, Bool) {
        let weightShape = try shape(prefix + ".weight")
        guard weightShape.count == 2 || (weightShape.count == 4 && weightShape[2] == 1 && weightShape[3] == 1),
              weightShape[1] == inFeatures, outFeatures.map({ $0 == weightShape[0] }) ?? true, weightShape[0] > 0 else {
            throw fail("tensor '\(prefix).weight' has shape \(weightShape), expected [\(outFeatures.map(String.init) ?? "out"), \(inFeatures)] or [out, \(inFeatures), 1, 1]")
        }
        let out = weightShape[0]
        let weight = try take(prefix + ".weight", shapes: [weightShape], for: layer)
        let bias = try take(prefix + ".bias", shapes: [[out]], for: layer)
        return (Linear(outFeatures: out, inFeatures: inFeatures, weight: weight, bias: bias), weightShape.count == 4)
    }

    mutating func build(inputSize: Int) throws -> ConvNeXtModel {
        guard inputSize >= 32, inputSize % 32 == 0, inputSize <= 8192 else {
            throw ConvNeXtError.usage("input size \(inputSize) must be a multiple of 32 between 32 and 8192")
        }
        guard has("stem.0.weight") else {
            let sample = keys.keys.sorted().prefix(5).joined(separator: ", ")
            throw fail("no 'stem.0.weight': not a timm ConvNeXt state dict (first keys: \(sample))")
        }

        // Stem: conv 4x4 stride 4, then a channel LayerNorm.
        let stemShape = try shape("stem.0.weight")
        guard stemShape.count == 4, stemShape[2] == 4, stemShape[3] == 4, stemShape[0] > 0, stemShape[1] > 0 else {
            throw fail("stem.0.weight has shape \(stemShape), expected [dim, channels, 4, 4] (patchify stem)")
        }
        let dim0 = stemShape[0], inChannels = stemShape[1]
        let stemConv = Conv2D(outChannels: dim0, inChannels: inChannels, kernel: 4, stride: 4, padding: 0, groups: 1,
                              weight: try take("stem.0.weight", shapes: [stemShape], for: .stemConv),
                              bias: try take("stem.0.bias", shapes: [[dim0]], for: .stemConv))
        let stemNorm = try norm("stem.1", channels: dim0, for: .stemNorm)

        var stageCount = 0
        while has("stages.\(stageCount).blocks.0.conv_dw.weight") { stageCount += 1 }
        guard stageCount == 4, !keys.keys.contains(where: { $0.hasPrefix("stages.4.") }) else {
            throw fail("found \(stageCount) stages with blocks, ConvNeXt has 4")
        }

        var stages: [Stage] = []
        var dims: [Int] = []
        var channels = dim0
        var blockForm: BlockForm?
        for s in 0..<stageCount {
            var downsample: Downsample?
            if s > 0 {
                let convShape = try shape("stages.\(s).downsample.1.weight")
                guard convShape.count == 4, convShape[1] == channels, convShape[2] == 2, convShape[3] == 2, convShape[0] > 0 else {
                    throw fail("stages.\(s).downsample.1.weight has shape \(convShape), expected [dim, \(channels), 2, 2]")
                }
                let dnorm = try norm("stages.\(s).downsample.0", channels: channels, for: .downsampleNorm(stage: s))
                let out = convShape[0]
                let conv = Conv2D(outChannels: out, inChannels: channels, kernel: 2, stride: 2, padding: 0, groups: 1,
                                  weight: try take("stages.\(s).downsample.1.weight", shapes: [convShape], for: .downsampleConv(stage: s)),
                                  bias: try take("stages.\(s).downsample.1.bias", shapes: [[out]], for: .downsampleConv(stage: s)))
                downsample = Downsample(norm: dnorm, conv: conv)
                channels = out
            }
            var blocks: [ConvNeXtBlock] = []
            while has("stages.\(s).blocks.\(blocks.count).conv_dw.weight") {
                let (block, convForm) = try self.block(stage: s, index: blocks.count, channels: channels)
                let form: BlockForm = convForm ? .convMLP : .linearMLP
                if let known = blockForm, known != form { throw fail("blocks mix the 1x1-conv and Linear MLP forms") }
                blockForm = form
                blocks.append(block)
            }
            stages.append(Stage(downsample: downsample, blocks: blocks))
            dims.append(channels)
        }

        let headNorm = try norm("head.norm", channels: channels, for: .headNorm)
        let fcShape = try shape("head.fc.weight")
        guard fcShape.count == 2 else { throw fail("head.fc.weight has shape \(fcShape), expected [classes, \(channels)]") }
        let (fc, _) = try linear("head.fc", inFeatures: channels, for: .headFC)

        let unused = keys.keys.filter { !used.contains($0) }.sorted()
        guard unused.isEmpty else {
            throw fail("\(unused.count) tensor\(unused.count == 1 ? "" : "s") with no place in a timm ConvNeXt (e.g. \(unused.prefix(3).joined(separator: ", ")))")
        }

        let config = ConvNeXtConfig(depths: stages.map { $0.blocks.count }, dims: dims, blockForm: blockForm ?? .convMLP,
                                    numClasses: fc.outFeatures, inputHeight: inputSize, inputWidth: inputSize,
                                    inputChannels: inChannels)
        return ConvNeXtModel(config: config, stem: Stem(conv: stemConv, norm: stemNorm), stages: stages,
                             head: Head(norm: headNorm, fc: fc), sourceNodes: nodes, preprocessing: .imagenet,
                             source: ModelSource(path: source.path, format: source.format))
    }

    /// One block; the Bool tells whether its MLP is the 1x1-conv form.
    mutating func block(stage s: Int, index b: Int, channels c: Int) throws -> (ConvNeXtBlock, Bool) {
        let p = "stages.\(s).blocks.\(b)"
        let dwShape = try shape(p + ".conv_dw.weight")
        guard dwShape.count == 4, dwShape[0] == c, dwShape[1] == 1, dwShape[2] == dwShape[3], dwShape[2] % 2 == 1 else {
            throw fail("\(p).conv_dw.weight has shape \(dwShape), expected [\(c), 1, k, k] with k odd (depthwise)")
        }
        let k = dwShape[2]
        let dw = Conv2D(outChannels: c, inChannels: c, kernel: k, stride: 1, padding: k / 2, groups: c,
                        weight: try take(p + ".conv_dw.weight", shapes: [dwShape], for: .dwConv(stage: s, block: b)),
                        bias: try take(p + ".conv_dw.bias", shapes: [[c]], for: .dwConv(stage: s, block: b)))
        let norm = try self.norm(p + ".norm", channels: c, for: .norm(stage: s, block: b))
        let (fc1, conv1) = try linear(p + ".mlp.fc1", inFeatures: c, for: .fc1(stage: s, block: b))
        let (fc2, conv2) = try linear(p + ".mlp.fc2", inFeatures: fc1.outFeatures, outFeatures: c, for: .fc2(stage: s, block: b))
        guard conv1 == conv2 else { throw fail("\(p).mlp.fc1 and fc2 mix the 1x1-conv and Linear forms") }
        var gamma: [Float]?
        if has(p + ".gamma") {
            gamma = try take(p + ".gamma", shapes: [[c]], for: .layerScale(stage: s, block: b))
        }
        return (ConvNeXtBlock(dwConv: dw, norm: norm, fc1: fc1, fc2: fc2, layerScale: gamma), conv1)
    }
}
