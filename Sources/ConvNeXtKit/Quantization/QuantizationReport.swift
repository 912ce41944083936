import Foundation

/// Float vs quantised similarity per layer, like the vendor toolchain's table, plus the output cosine.
public struct QuantizationReport: Sendable, Codable {
    /// One layer of the typed model.
    public struct Row: Sendable, Codable {
        /// LayerID description, e.g. `stages.2.blocks.1.fc1`.
        public var layer: String
        /// ONNX nodes fused into this layer (from `ConvNeXtModel.sourceNodes`).
        public var nodes: [String]
        /// `int` (integer GEMM) or `float`.
        public var computesOn: String
        /// Precision of the quantised tensor this layer produces or consumes (`float` if none).
        public var precision: String
        /// Cosine similarity of the layer's float and quantised outputs on the report samples.
        public var cosine: Double
        /// Clipping threshold max(|lower|, |upper|) of that tensor.
        public var threshold: Float?
        public var lower: Float?
        public var upper: Float?
        public var scale: Float?
        public var zeroPoint: Int32?
    }

    public var rows: [Row]
    /// Mean cosine similarity of quantised vs float logits over the calibration set.
    public var outputCosine: Double
    /// The calibration method used (`max`, `percentile`, `kl`, `mix`, `skip`).
    public var method: String
    /// Output cosine of each method tried (for `default` and `mix`).
    public var methodScores: [String: Double]
    public var sampleCount: Int
    /// Tensors raised above int8 by the precision search (their precision is in the rows).
    public var raisedPoints: [String]

    /// The vendor-style table: Node, ON, Type, Cosine Similarity, Threshold.
    ///
    /// hb_mapper's ON column says BPU or CPU; here both run on the host CPU, so ON says which kernels:
    /// `int` (integer GEMMs, the nodes the vendor puts on the BPU) or `float` (float32, its CPU nodes).
    public var text: String {
        var lines: [String] = ["ON: int = integer kernels (hb_mapper: BPU), float = float32 kernels (hb_mapper: CPU); both run on this CPU"]
        let nodeWidth = max(40, rows.map { nodeLabel($0).count }.max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        lines.append(pad("Node", nodeWidth) + "  " + pad("ON", 5) + "  " + pad("Type", 6) + "  " + pad("Cosine Similarity", 17) + "  Threshold")
        lines.append(String(repeating: "-", count: nodeWidth + 50))
        for r in rows {
            let cos = r.cosine.isNaN ? "n/a" : String(format: "%.6f", r.cosine)
            let thr = r.threshold.map { String(format: "%.6f", $0) } ?? "--"
            lines.append(pad(nodeLabel(r), nodeWidth) + "  " + pad(r.computesOn, 5) + "  " + pad(r.precision, 6) + "  "
                         + pad(cos, 17) + "  " + thr)
        }
        var summary = "calibration: \(method) on \(sampleCount) samples; output cosine similarity \(String(format: "%.6f", outputCosine))"
        if !methodScores.isEmpty {
            summary += " (" + methodScores.keys.sorted().map { "\($0) \(String(format: "%.6f", methodScores[$0]!))" }.joined(separator: ", ") + ")"
        }
        lines.append(summary)
        if !raisedPoints.isEmpty { lines.append("raised by the precision search: " + raisedPoints.joined(separator: ", ")) }
        return lines.joined(separator: "\n") + "\n"
    }

    private func nodeLabel(_ r: Row) -> String {
        guard let first = r.nodes.first else { return r.layer }
        return r.nodes.count > 1 ? "\(r.layer) (\(first) +\(r.nodes.count - 1))" : "\(r.layer) (\(first))"
    }

    /// The report as pretty-printed JSON (cosines that were not measured are written as -1).
    public func json() throws -> Data {
        var copy = self
        if copy.outputCosine.isNaN { copy.outputCosine = -1 }
        for i in copy.rows.indices where copy.rows[i].cosine.isNaN { copy.rows[i].cosine = -1 }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(copy)
    }
}

extension QuantizationReport {
    /// The per-layer cosine chart `convnext compile` writes beside the text report: every row in
    /// forward order, coloured by precision, with the config's per-layer overrides
    /// (`CompilePlan.layerOverrideNames`: layer name -> precision) marked.
    public func cosineChart(title: String, overrides: [String: String]) -> SVGDocument {
        let layers = rows.map {
            SVGPlots.LayerCosine(layer: $0.layer, precision: $0.precision, cosine: $0.cosine.isNaN || $0.cosine < -0.5 ? nil : $0.cosine,
                                 override: overrides[$0.layer])
        }
        let subtitle = String(format: "per-layer cosine, %@ calibration on %d samples; output cosine %.6f; %d of %d layers not int8",
                              method, sampleCount, outputCosine, rows.filter { $0.precision != "int8" }.count, rows.count)
        return SVGPlots.layerCosineChart(title: title, subtitle: subtitle, layers: layers)
    }

    /// Reads the `quantization` part of a `PREFIX_quant_report.json` that `convnext compile` wrote
    /// (cosines written as -1 come back as -1; `cosineChart` leaves them unmeasured).
    public static func read(compileReportJSON data: Data) throws -> QuantizationReport {
        struct File: Decodable { var quantization: QuantizationReport }
        return try JSONDecoder().decode(File.self, from: data).quantization
    }
}
