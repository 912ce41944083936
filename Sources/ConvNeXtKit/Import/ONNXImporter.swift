import Foundation

/// Reads an ONNX file exported from timm and recognises the ConvNeXt in it.
public enum ONNXImporter {
    /// Loads and recognises `path`; errors name the file and what is wrong.
    public static func load(path: String) throws -> ConvNeXtModel {
        let data = try FileIO.read(path: path, maxBytes: 2 << 30)
        return try load(data: data, path: path)
    }

    /// Recognises a ConvNeXt in serialized ONNX bytes; `path` is used in messages.
    public static func load(data: Data, path: String) throws -> ConvNeXtModel {
        let graph = try ONNXGraph(path: path, data: data)
        var walker = ONNXPrimitiveWalker(graph: graph)
        let (layers, end, _) = try walker.walk(from: graph.inputName, layout: .nchw, stopNode: nil)
        guard graph.outputNames.contains(end) else {
            throw ConvNeXtError.unsupportedModel(path: path, reason: "the recognised layers do not end at the graph output")
        }
        var model = try ConvNeXtAssembler(path: path, layers: layers, inputShape: graph.inputShape).assemble()
        model.source = ModelSource(path: path, format: "onnx", opset: graph.opset)
        return model
    }
}

/// Places recognised layers into stem, stages and head, checking every shape.
struct ConvNeXtAssembler {
    let path: String
    let layers: [RecognisedLayer]
    let inputShape: [Int?]

    private func fail(_ reason: String) -> ConvNeXtError { .unsupportedModel(path: path, reason: reason) }

    func assemble() throws -> ConvNeXtModel {
        var nodes: [LayerID: [String]] = [:]
        var i = 0
        func next(_ what: String) throws -> RecognisedLayer {
            guard i < layers.count else { throw fail("graph ends where \(what) was expected") }
            defer { i += 1 }
            return layers[i]
        }
        func expectNorm(_ what: String, channels: Int, id: LayerID) throws -> LayerNorm {
            let layer = try next(what)
            guard case .norm(let ln) = layer.primitive else { throw fail("expected \(what) (LayerNorm), found \(layer.primitive.kind) at \(layer.nodes.first ?? "?")") }
            guard ln.channels == channels else { throw fail("\(what) has \(ln.channels) channels, expected \(channels)") }
            nodes[id] = layer.nodes
            return ln
        }

        // Stem: conv k x k stride k, then a channel LayerNorm.
        let stemLayer = try next("the stem convolution")
        guard case .conv(let stemConv) = stemLayer.primitive, stemConv.groups == 1, stemConv.kernel == stemConv.stride, stemConv.padding == 0 else {
            throw fail("the graph does not start with a ConvNeXt patchify stem (conv k x k, stride k); found \(stemLayer.primitive.kind)")
        }
        guard stemConv.stride == 4 else { throw fail("stem stride is \(stemConv.stride), ConvNeXt uses 4") }
        nodes[.stemConv] = stemLayer.nodes
        let stemNorm = try expectNorm("the stem norm", channels: stemConv.outChannels, id: .stemNorm)

        var stages: [Stage] = []
        var dims: [Int] = []
        var channels = stemConv.outChannels
        var blockForm: BlockForm?
        while i < layers.count {
            let s = stages.count
            var downsample: Downsample?
            if case .norm = layers[i].primitive, s > 0 || !stages.isEmpty {
                // Downsample: LayerNorm then conv 2x2 stride 2.
                let norm = try expectNorm("the stage \(s) downsample norm", channels: channels, id: .downsampleNorm(stage: s))
                let convLayer = try next("the stage \(s) downsample conv")
                guard case .conv(let conv) = convLayer.primitive, conv.groups == 1, conv.kernel == 2, conv.stride == 2,
                      conv.padding == 0, conv.inChannels == channels else {
                    throw fail("stage \(s) downsample is not a 2x2 stride-2 conv from \(channels) channels")
                }
                nodes[.downsampleConv(stage: s)] = convLayer.nodes
                downsample = Downsample(norm: norm, conv: conv)
                channels = conv.outChannels
            } else if !stages.isEmpty {
                break
            }
            var blocks: [ConvNeXtBlock] = []
            while i < layers.count, case .residual(let body) = layers[i].primitive {
                let b = blocks.count
                let (block, form) = try assembleBlock(body, channels: channels, stage: s, block: b, nodes: &nodes)
                if let known = blockForm, known != form { throw fail("blocks mix the conv-MLP and Linear-MLP forms") }
                blockForm = form
                nodes[.residual(stage: s, block: b)] = layers[i].nodes
                blocks.append(block)
                i += 1
            }
            guard !blocks.isEmpty else { throw fail("stage \(s) has no ConvNeXt blocks") }
            stages.append(Stage(downsample: downsample, blocks: blocks))
            dims.append(channels)
            if i < layers.count, case .norm = layers[i].primitive { continue }
            break
        }
        guard stages.count == 4 else { throw fail("found \(stages.count) stages, ConvNeXt has 4") }

        // Head: pool, norm, (flatten), linear.
        let pool = try next("the head pool")
        guard case .globalPool = pool.primitive else { throw fail("expected the head's global average pool, found \(pool.primitive.kind)") }
        nodes[.headPool] = pool.nodes
        let headNorm = try expectNorm("the head norm", channels: channels, id: .headNorm)
        var fcLayer = try next("the classifier")
        var flattenNodes: [String] = []
        while case .flatten = fcLayer.primitive {
            flattenNodes += fcLayer.nodes
            fcLayer = try next("the classifier")
        }
        guard case .linear(let fc, _) = fcLayer.primitive, fc.inFeatures == channels else {
            throw fail("expected the classifier Linear from \(channels) features, found \(fcLayer.primitive.kind)")
        }
        while i < layers.count, case .flatten = layers[i].primitive { flattenNodes += layers[i].nodes; i += 1 }
        guard i == layers.count else { throw fail("unexpected \(layers[i].primitive.kind) after the classifier") }
        nodes[.headNorm, default: []] += flattenNodes
        nodes[.headFC] = fcLayer.nodes

        let inChannels = stemConv.inChannels
        var height = 224, width = 224
        if inputShape.count == 4 {
            if let c = inputShape[1], c != inChannels { throw fail("input has \(c) channels, the stem expects \(inChannels)") }
            if let h = inputShape[2], let w = inputShape[3] { (height, width) = (h, w) }
        }
        guard height % 32 == 0, width % 32 == 0, height >= 32, width >= 32 else {
            throw fail("input size \(height)x\(width) is not a multiple of 32")
        }
        let config = ConvNeXtConfig(depths: stages.map { $0.blocks.count }, dims: dims, blockForm: blockForm ?? .convMLP,
                                    numClasses: fc.outFeatures, inputHeight: height, inputWidth: width, inputChannels: inChannels)
        return ConvNeXtModel(config: config, stem: Stem(conv: stemConv, norm: stemNorm), stages: stages,
                             head: Head(norm: headNorm, fc: fc), sourceNodes: nodes)
    }

    private func assembleBlock(_ body: [RecognisedLayer], channels c: Int, stage s: Int, block b: Int,
                               nodes: inout [LayerID: [String]]) throws -> (ConvNeXtBlock, BlockForm) {
        let name = "stage \(s) block \(b)"
        guard body.count == 5 || body.count == 6 else {
            throw fail("\(name) has \(body.count) layers (\(body.map { $0.primitive.kind }.joined(separator: ", "))), expected dwconv, norm, fc1, GELU, fc2 and layer scale")
        }
        guard case .conv(let dw) = body[0].primitive, dw.groups == c, dw.inChannels == c, dw.outChannels == c,
              dw.stride == 1, dw.padding * 2 + 1 == dw.kernel else {
            throw fail("\(name) does not start with a same-padded depthwise conv over \(c) channels")
        }
        guard case .norm(let norm) = body[1].primitive, norm.channels == c else { throw fail("\(name): expected a LayerNorm over \(c) channels") }
        guard case .linear(let fc1, let conv1) = body[2].primitive, fc1.inFeatures == c else { throw fail("\(name): expected fc1 from \(c) channels") }
        guard case .gelu = body[3].primitive else { throw fail("\(name): expected GELU after fc1, found \(body[3].primitive.kind)") }
        guard case .linear(let fc2, let conv2) = body[4].primitive, fc2.inFeatures == fc1.outFeatures, fc2.outFeatures == c, conv1 == conv2 else {
            throw fail("\(name): expected fc2 from \(fc1.outFeatures) to \(c) channels")
        }
        var scale: [Float]?
        if body.count == 6 {
            guard case .scale(let g) = body[5].primitive, g.count == c else { throw fail("\(name): expected a layer scale of \(c) values") }
            scale = g
            nodes[.layerScale(stage: s, block: b)] = body[5].nodes
        }
        nodes[.dwConv(stage: s, block: b)] = body[0].nodes
        nodes[.norm(stage: s, block: b)] = body[1].nodes
        nodes[.fc1(stage: s, block: b)] = body[2].nodes
        nodes[.gelu(stage: s, block: b)] = body[3].nodes
        nodes[.fc2(stage: s, block: b)] = body[4].nodes
        return (ConvNeXtBlock(dwConv: dw, norm: norm, fc1: fc1, fc2: fc2, layerScale: scale), conv1 ? .convMLP : .linearMLP)
    }
}
