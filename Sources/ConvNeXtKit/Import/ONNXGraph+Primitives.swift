import Foundation

/// A layer recognised in the ONNX graph, before it is placed in the ConvNeXt structure.
enum GraphPrimitive {
    case conv(Conv2D)
    case norm(LayerNorm)
    /// A Linear (MatMul/Gemm) or 1x1 convolution; `fromConv` tells which.
    case linear(Linear, fromConv: Bool)
    case gelu
    /// Per-channel multiply (layer scale).
    case scale([Float])
    /// A residual branch: the body, then the Add of its output and the branch input.
    case residual([RecognisedLayer])
    case globalPool
    case flatten

    var kind: String {
        switch self {
        case .conv(let c): return c.groups > 1 ? "depthwise conv \(c.kernel)x\(c.kernel)" : "conv \(c.kernel)x\(c.kernel)/\(c.stride)"
        case .norm: return "LayerNorm"
        case .linear: return "linear"
        case .gelu: return "GELU"
        case .scale: return "channel scale"
        case .residual: return "residual block"
        case .globalPool: return "global average pool"
        case .flatten: return "flatten"
        }
    }
}

/// A primitive with the ONNX node names it was built from.
struct RecognisedLayer {
    var primitive: GraphPrimitive
    var nodes: [String]
}

/// Walks the graph from the input, recognising timm's ConvNeXt layers one by one.
///
/// Tracks whether the running tensor is NCHW or NHWC (after Transpose nodes) so that a
/// LayerNorm over the last axis of an NHWC tensor and one over axis 1 of an NCHW tensor
/// are both channel norms.
struct ONNXPrimitiveWalker {
    enum Layout { case nchw, nhwc }

    let graph: ONNXGraph
    var path: String { graph.path }
    /// Transposes seen but not yet attributed to a layer.
    private var pendingNodes: [String] = []

    init(graph: ONNXGraph) { self.graph = graph }

    private func fail(_ reason: String) -> ConvNeXtError {
        .unsupportedModel(path: path, reason: reason)
    }

    private func node(_ i: Int) -> Onnx_NodeProto { graph.nodes[i] }

    /// The only node reading `name`, or an error.
    private func soleUse(of name: String) throws -> Int {
        let uses = graph.uses(of: name)
        guard uses.count == 1 else {
            throw fail("tensor '\(name)' is read by \(uses.count) nodes where one was expected")
        }
        return uses[0]
    }

    private func output(_ i: Int) throws -> String {
        guard let out = node(i).output.first, !out.isEmpty else {
            throw ConvNeXtError.invalidModel(path: path, reason: "node '\(node(i).name)' has no output")
        }
        return out
    }

    /// The constant among a binary node's inputs and the other (variable) input. The constant must be
    /// floating point (ONNX Runtime refuses, e.g., a Mul of float activations by int64 weights) unless
    /// `allowInteger` (Pow's exponent may be an integer).
    private func splitConstant(_ i: Int, allowInteger: Bool = false) throws -> (constant: ConstantTensor, other: String)? {
        let n = node(i)
        guard n.input.count == 2 else { return nil }
        var found: (constant: ConstantTensor, other: String)?
        if let c = graph.constant(n.input[1]), graph.constant(n.input[0]) == nil { found = (c, n.input[0]) }
        if let c = graph.constant(n.input[0]), graph.constant(n.input[1]) == nil { found = (c, n.input[1]) }
        if let found, !found.constant.isFloat, !allowInteger {
            throw ConvNeXtError.invalidModel(path: path, reason: "\(n.opType) '\(n.name)' combines float activations with the integer tensor '\(found.constant.name)'; weights must be float")
        }
        return found
    }

    /// The floating-point constant `name` read as a weight by node `i`; nil when `name` is not a constant.
    private func floatConstant(_ name: String, of i: Int) throws -> ConstantTensor? {
        guard let c = graph.constant(name) else { return nil }
        guard c.isFloat else {
            let n = node(i)
            throw ConvNeXtError.invalidModel(path: path, reason: "\(n.opType) '\(n.name)' reads the integer tensor '\(c.name)' as a weight; weights must be float")
        }
        return c
    }

    /// Walks from `start` until `stopNode` reads the running tensor (or the graph output is reached).
    mutating func walk(from start: String, layout startLayout: Layout, stopNode: Int?) throws -> (layers: [RecognisedLayer], end: String, layout: Layout) {
        var x = start
        var layout = startLayout
        var layers: [RecognisedLayer] = []
        var steps = 0
        while true {
            steps += 1
            guard steps < 100_000 else { throw fail("graph walk does not terminate") }
            let uses = graph.uses(of: x)
            if let stop = stopNode, uses.contains(stop) {
                guard uses.count == 1 else { throw fail("tensor '\(x)' feeds the residual Add and other nodes") }
                return (layers, x, layout)
            }
            if uses.isEmpty {
                guard graph.outputNames.contains(x) else { throw fail("tensor '\(x)' is not used and is not the output") }
                guard stopNode == nil else { throw fail("residual branch ends at the graph output") }
                return (layers, x, layout)
            }
            if uses.count >= 2 {
                if let (ln, out, nodes) = try matchDecomposedLayerNorm(x, layout: layout) {
                    layers.append(RecognisedLayer(primitive: .norm(ln), nodes: takePending() + nodes))
                    x = out
                    continue
                }
                if let (out, nodes) = try matchGELU(x) {
                    layers.append(RecognisedLayer(primitive: .gelu, nodes: takePending() + nodes))
                    x = out
                    continue
                }
                if let (body, out, addName) = try matchResidual(x, layout: layout) {
                    layers.append(RecognisedLayer(primitive: .residual(body), nodes: takePending() + [addName]))
                    x = out
                    continue
                }
                let ops = uses.map { node($0).opType }.joined(separator: ", ")
                throw fail("unrecognised branch at '\(x)' (read by \(ops))")
            }
            let i = uses[0]
            let n = node(i)
            switch n.opType {
            case "Transpose":
                let perm = try n.ints("perm", path: path) ?? []
                if perm == [0, 2, 3, 1], layout == .nchw {
                    layout = .nhwc
                } else if perm == [0, 3, 1, 2], layout == .nhwc {
                    layout = .nchw
                } else {
                    throw fail("Transpose '\(n.name)' with perm \(perm) is not an NCHW/NHWC permutation")
                }
                // A transpose back to NCHW closes the layer before it; one to NHWC opens the next.
                if layout == .nchw, !layers.isEmpty {
                    layers[layers.count - 1].nodes.append(n.name)
                } else {
                    pendingNodes.append(n.name)
                }
                x = try output(i)
            case "Conv":
                guard layout == .nchw else { throw fail("Conv '\(n.name)' on an NHWC tensor") }
                let conv = try readConv(i)
                if conv.kernel == 1, conv.stride == 1, conv.groups == 1, conv.padding == 0 {
                    let lin = Linear(outFeatures: conv.outChannels, inFeatures: conv.inChannels, weight: conv.weight, bias: conv.bias)
                    layers.append(RecognisedLayer(primitive: .linear(lin, fromConv: true), nodes: takePending() + [n.name]))
                } else {
                    layers.append(RecognisedLayer(primitive: .conv(conv), nodes: takePending() + [n.name]))
                }
                x = try output(i)
            case "LayerNormalization":
                let (ln, nodes) = try readLayerNormalization(i, layout: layout)
                layers.append(RecognisedLayer(primitive: .norm(ln), nodes: takePending() + nodes))
                x = try output(i)
            case "MatMul", "Gemm":
                let (lin, out, nodes) = try readLinear(i, input: x, layout: layout)
                layers.append(RecognisedLayer(primitive: .linear(lin, fromConv: false), nodes: takePending() + nodes))
                x = out
            case "Mul":
                guard let (c, _) = try splitConstant(i) else { throw fail("Mul '\(n.name)' of two variable tensors") }
                layers.append(RecognisedLayer(primitive: .scale(c.values), nodes: takePending() + [n.name]))
                x = try output(i)
            case "GlobalAveragePool":
                guard layout == .nchw else { throw fail("GlobalAveragePool '\(n.name)' on an NHWC tensor") }
                layers.append(RecognisedLayer(primitive: .globalPool, nodes: takePending() + [n.name]))
                x = try output(i)
            case "ReduceMean":
                let axes = try reduceAxes(i)
                let spatial: Set<Int> = layout == .nchw ? [2, 3, -1, -2] : [1, 2, -2, -3]
                guard axes.count == 2, axes.allSatisfy(spatial.contains) else {
                    throw fail("ReduceMean '\(n.name)' over axes \(axes) is not a spatial pool")
                }
                layers.append(RecognisedLayer(primitive: .globalPool, nodes: takePending() + [n.name]))
                x = try output(i)
            case "Flatten", "Reshape", "Squeeze":
                layers.append(RecognisedLayer(primitive: .flatten, nodes: takePending() + [n.name]))
                x = try output(i)
            case "Gelu":
                layers.append(RecognisedLayer(primitive: .gelu, nodes: takePending() + [n.name]))
                x = try output(i)
            default:
                throw fail("unexpected \(n.opType) node '\(n.name)'")
            }
        }
    }

    private mutating func takePending() -> [String] {
        defer { pendingNodes = [] }
        return pendingNodes
    }

    private func reduceAxes(_ i: Int) throws -> [Int] {
        let n = node(i)
        if let axes = try n.ints("axes", path: path) { return axes }
        if n.input.count > 1, let c = graph.constant(n.input[1]) { return c.values.map { Int($0) } }
        throw fail("ReduceMean '\(n.name)' has no axes")
    }

    private func isChannelAxis(_ axes: [Int], layout: Layout) -> Bool {
        guard axes.count == 1 else { return false }
        return layout == .nhwc ? (axes[0] == -1 || axes[0] == 3) : (axes[0] == 1 || axes[0] == -3)
    }

    private func readConv(_ i: Int) throws -> Conv2D {
        let n = node(i)
        guard n.input.count >= 2, let w = try floatConstant(n.input[1], of: i), w.dims.count == 4 else {
            throw fail("Conv '\(n.name)' has no constant 4-D weight")
        }
        let groups = try n.int("group", default: 1, path: path)
        let kernel = try n.ints("kernel_shape", path: path) ?? [w.dims[2], w.dims[3]]
        let strides = try n.ints("strides", default: [1, 1], path: path) ?? [1, 1]
        let pads = try n.ints("pads", default: [0, 0, 0, 0], path: path) ?? [0, 0, 0, 0]
        let dilations = try n.ints("dilations", default: [1, 1], path: path) ?? [1, 1]
        let (o, ipg, kh, kw) = (w.dims[0], w.dims[1], w.dims[2], w.dims[3])
        guard kh == kw, kernel == [kh, kw], strides.count == 2, strides[0] == strides[1], strides[0] >= 1,
              pads.count == 4, Set(pads).count == 1, pads[0] >= 0, pads[0] < kh, dilations == [1, 1],
              groups >= 1, o % groups == 0, o > 0, ipg > 0 else {
            throw fail("Conv '\(n.name)' has a shape this tool does not run (kernel \(kernel), strides \(strides), pads \(pads), group \(groups))")
        }
        var bias = [Float](repeating: 0, count: o)
        if n.input.count >= 3, !n.input[2].isEmpty {
            guard let b = try floatConstant(n.input[2], of: i), b.values.count == o else {
                throw fail("Conv '\(n.name)' bias is not a constant of \(o) values")
            }
            bias = b.values
        }
        return Conv2D(outChannels: o, inChannels: ipg * groups, kernel: kh, stride: strides[0],
                      padding: pads[0], groups: groups, weight: w.values, bias: bias)
    }

    /// MatMul (+ Add bias) or Gemm, reading the running tensor `input`.
    private func readLinear(_ i: Int, input: String, layout: Layout) throws -> (Linear, String, [String]) {
        let n = node(i)
        guard n.input.count >= 2, n.input[0] == input, let b = try floatConstant(n.input[1], of: i), b.dims.count == 2 else {
            throw fail("\(n.opType) '\(n.name)' does not multiply by a constant 2-D weight")
        }
        var weight: [Float]
        var inF: Int, outF: Int
        let transB = n.opType == "Gemm" ? try n.int("transB", default: 0, path: path) : 0
        if n.opType == "Gemm" {
            let alpha = try n.float("alpha", default: 1, path: path)
            let beta = try n.float("beta", default: 1, path: path)
            let transA = try n.int("transA", default: 0, path: path)
            guard alpha == 1, beta == 1, transA == 0 else { throw fail("Gemm '\(n.name)' with alpha/beta/transA is not supported") }
        }
        if transB == 1 {
            (outF, inF) = (b.dims[0], b.dims[1])
            weight = b.values
        } else {
            (inF, outF) = (b.dims[0], b.dims[1])
            weight = [Float](repeating: 0, count: inF * outF)
            for r in 0..<inF { for c in 0..<outF { weight[c * inF + r] = b.values[r * outF + c] } }
        }
        var bias = [Float](repeating: 0, count: outF)
        var nodes = [n.name]
        var out = try output(i)
        if n.opType == "Gemm", n.input.count >= 3, !n.input[2].isEmpty {
            guard let c = try floatConstant(n.input[2], of: i), c.values.count == outF else { throw fail("Gemm '\(n.name)' bias is not \(outF) constants") }
            bias = c.values
        } else if n.opType == "MatMul" {
            let uses = graph.uses(of: out)
            if uses.count == 1, node(uses[0]).opType == "Add", let (c, _) = try splitConstant(uses[0]), c.values.count == outF {
                bias = c.values
                nodes.append(node(uses[0]).name)
                out = try output(uses[0])
            }
        }
        return (Linear(outFeatures: outF, inFeatures: inF, weight: weight, bias: bias), out, nodes)
    }

    private func readLayerNormalization(_ i: Int, layout: Layout) throws -> (LayerNorm, [String]) {
        let n = node(i)
        let axis = try n.int("axis", default: -1, path: path)
        guard isChannelAxis([axis], layout: layout) else { throw fail("LayerNormalization '\(n.name)' is not over channels (axis \(axis))") }
        let eps = try n.float("epsilon", default: 1e-5, path: path)
        guard n.input.count >= 2, let w = try floatConstant(n.input[1], of: i) else { throw fail("LayerNormalization '\(n.name)' has no constant scale") }
        var bias = [Float](repeating: 0, count: w.values.count)
        if n.input.count >= 3, !n.input[2].isEmpty {
            guard let b = try floatConstant(n.input[2], of: i), b.values.count == w.values.count else { throw fail("LayerNormalization '\(n.name)' bias size") }
            bias = b.values
        }
        return (LayerNorm(weight: w.values, bias: bias, epsilon: eps), [n.name])
    }

    /// ReduceMean -> Sub -> Pow -> ReduceMean -> Add(eps) -> Sqrt -> Div -> Mul(weight) -> Add(bias).
    private func matchDecomposedLayerNorm(_ x: String, layout: Layout) throws -> (LayerNorm, String, [String])? {
        let uses = graph.uses(of: x)
        guard uses.count == 2,
              let meanNode = uses.first(where: { node($0).opType == "ReduceMean" }),
              let subNode = uses.first(where: { node($0).opType == "Sub" }) else { return nil }
        let sub = node(subNode)
        guard isChannelAxis(try reduceAxes(meanNode), layout: layout),
              sub.input.count == 2, sub.input[0] == x, sub.input[1] == (try output(meanNode)) else { return nil }
        let diff = try output(subNode)
        let diffUses = graph.uses(of: diff)
        guard diffUses.count == 2,
              let powNode = diffUses.first(where: { ["Pow", "Mul"].contains(node($0).opType) }),
              let divNode = diffUses.first(where: { node($0).opType == "Div" }) else {
            throw fail("LayerNorm at '\(x)': the centred tensor is not squared and divided")
        }
        if node(powNode).opType == "Pow" {
            guard let (c, _) = try splitConstant(powNode, allowInteger: true), c.scalar == 2 else { throw fail("LayerNorm at '\(x)': Pow exponent is not 2") }
        } else {
            guard node(powNode).input.allSatisfy({ $0 == diff }) else { throw fail("LayerNorm at '\(x)': square is not x*x") }
        }
        let varMean = try soleUse(of: try output(powNode))
        guard node(varMean).opType == "ReduceMean", isChannelAxis(try reduceAxes(varMean), layout: layout) else {
            throw fail("LayerNorm at '\(x)': variance is not a channel mean")
        }
        let addEps = try soleUse(of: try output(varMean))
        guard node(addEps).opType == "Add", let (epsTensor, _) = try splitConstant(addEps), let eps = epsTensor.scalar else {
            throw fail("LayerNorm at '\(x)': no constant epsilon")
        }
        let sqrt = try soleUse(of: try output(addEps))
        guard node(sqrt).opType == "Sqrt", node(divNode).input.count == 2, node(divNode).input[1] == (try output(sqrt)) else {
            throw fail("LayerNorm at '\(x)': no Sqrt feeding the Div")
        }
        var nodes = [meanNode, subNode, powNode, varMean, addEps, sqrt, divNode].map { node($0).name }
        var out = try output(divNode)
        var weight: [Float]? = nil
        var bias: [Float]? = nil
        var channels: Int? = nil
        let mulUses = graph.uses(of: out)
        if mulUses.count == 1, node(mulUses[0]).opType == "Mul", let (w, _) = try splitConstant(mulUses[0]) {
            weight = w.values
            channels = w.values.count
            nodes.append(node(mulUses[0]).name)
            out = try output(mulUses[0])
            let addUses = graph.uses(of: out)
            if addUses.count == 1, node(addUses[0]).opType == "Add", let (b, _) = try splitConstant(addUses[0]), b.values.count == w.values.count {
                bias = b.values
                nodes.append(node(addUses[0]).name)
                out = try output(addUses[0])
            }
        }
        guard let c = channels, let w = weight else {
            throw fail("LayerNorm at '\(x)' has no affine weight; its channel count cannot be known")
        }
        return (LayerNorm(weight: w, bias: bias ?? [Float](repeating: 0, count: c), epsilon: eps), out, nodes)
    }

    /// x * 0.5 * (1 + erf(x / sqrt 2)) in the node orders exporters write.
    private func matchGELU(_ x: String) throws -> (String, [String])? {
        let uses = graph.uses(of: x)
        guard uses.count == 2 else { return nil }
        // The branch into erf: Div(x, sqrt2) or Mul(x, 1/sqrt2).
        guard let scaleNode = try uses.first(where: {
            let n = node($0)
            guard let (c, other) = try splitConstant($0), other == x, let v = c.scalar else { return false }
            return (n.opType == "Div" && abs(v - 1.4142135) < 1e-4) || (n.opType == "Mul" && abs(v - 0.70710677) < 1e-4)
        }) else { return nil }
        guard let otherNode = uses.first(where: { $0 != scaleNode }), node(otherNode).opType == "Mul" else { return nil }
        let erf = try soleUse(of: try output(scaleNode))
        guard node(erf).opType == "Erf" else { return nil }
        let addOne = try soleUse(of: try output(erf))
        guard node(addOne).opType == "Add", let (one, _) = try splitConstant(addOne), one.scalar == 1 else {
            throw fail("GELU at '\(x)': erf is not followed by + 1")
        }
        let onePlusErf = try output(addOne)
        var names = [scaleNode, erf, addOne, otherNode].map { node($0).name }
        let other = node(otherNode)
        if let (half, _) = try splitConstant(otherNode) {
            // x * 0.5 first, then * (1 + erf).
            guard half.scalar == 0.5 else { return nil }
            let final = try soleUse(of: try output(otherNode))
            guard node(final).opType == "Mul", Set(node(final).input) == [try output(otherNode), onePlusErf] else {
                throw fail("GELU at '\(x)': unexpected product")
            }
            names.append(node(final).name)
            return (try output(final), names)
        }
        guard Set(other.input) == [x, onePlusErf] else { throw fail("GELU at '\(x)': unexpected product") }
        let halfNode = try soleUse(of: try output(otherNode))
        guard node(halfNode).opType == "Mul", let (half, _) = try splitConstant(halfNode), half.scalar == 0.5 else {
            throw fail("GELU at '\(x)': missing * 0.5")
        }
        names.append(node(halfNode).name)
        return (try output(halfNode), names)
    }

    /// A branch that ends in an Add with its own input: x + f(x).
    private mutating func matchResidual(_ x: String, layout: Layout) throws -> ([RecognisedLayer], String, String)? {
        let uses = graph.uses(of: x)
        guard uses.count == 2 else { return nil }
        guard let addNode = uses.first(where: { node($0).opType == "Add" && node($0).input.contains(x) }),
              let branch = uses.first(where: { $0 != addNode }) else { return nil }
        _ = branch
        let saved = takePending()
        let (body, end, endLayout) = try walkBranch(from: x, layout: layout, stopNode: addNode)
        pendingNodes = saved
        guard endLayout == layout else { throw fail("residual branch at '\(x)' changes the layout") }
        let add = node(addNode)
        guard add.input.count == 2, Set(add.input) == [x, end] else { throw fail("residual Add '\(add.name)' does not add the branch to its input") }
        return (body, try output(addNode), add.name)
    }

    private mutating func walkBranch(from x: String, layout: Layout, stopNode: Int) throws -> ([RecognisedLayer], String, Layout) {
        // The branch starts at the non-Add consumer of x: walk from x but skip the Add use.
        var sub = ONNXPrimitiveWalker(graph: graph.withoutUse(of: x, by: stopNode))
        let result = try sub.walk(from: x, layout: layout, stopNode: stopNode)
        // Any trailing transposes belong to the last layer of the branch.
        var layers = result.layers
        if !sub.pendingNodes.isEmpty, !layers.isEmpty { layers[layers.count - 1].nodes += sub.pendingNodes }
        return (layers, result.end, result.layout)
    }
}

extension ONNXGraph {
    /// The same graph with one use of `name` by `node` hidden, to walk a residual branch.
    func withoutUse(of name: String, by node: Int) -> ONNXGraph {
        var copy = self
        copy.hiddenUses.insert(HiddenUse(tensor: name, node: node))
        return copy
    }
}
