import Foundation

extension EvalReport {
    /// The report for people: per model top-1/top-5 (and ReaL), agreement, images and failures.
    public func text(workers: Int? = nil) -> String {
        var lines: [String] = []
        for m in models {
            lines.append("\(m.model) (\(m.engine))")
            lines.append(String(format: "  top-1 %.2f%% (%d/%d)   top-5 %.2f%% (%d/%d)", Self.rate(m.correctTop1, images) * 100,
                                m.correctTop1, images, Self.rate(m.correctTop5, images) * 100, m.correctTop5, images))
            if let r = m.real {
                lines.append(String(format: "  ReaL top-1 %.2f%% (%d/%d)   ReaL top-5 %.2f%% (%d/%d)", Self.rate(r.correctTop1, r.images) * 100,
                                    r.correctTop1, r.images, Self.rate(r.correctTop5, r.images) * 100, r.correctTop5, r.images))
            }
        }
        if let agreement, let meanCosine {
            lines.append(String(format: "top-1 agreement %.2f%%   mean output cosine %.6f", agreement * 100, meanCosine))
        }
        if let v = validLabels { lines.append("predictions restricted to the \(v.entries) classes of \(v.path)") }
        if shard.count > 1 {
            let which = shard.indices.count == shard.count ? "all \(shard.count) shards merged"
                : "shard " + shard.indices.map { "\($0)/\(shard.count)" }.joined(separator: ", ")
            lines.append("\(which): \(images + failures.count) of \(dataset.images) images")
        }
        var rate = String(format: "%.1f images/s", seconds > 0 ? Double(images) / seconds : 0)
        if let workers { rate += " with \(workers) worker\(workers == 1 ? "" : "s")" }
        lines.append(String(format: "%d images, %d failed, %@ (%.2f s)", images, failures.count, rate, seconds))
        for f in failures { lines.append("failed: \(f.error)") }
        return lines.joined(separator: "\n")
    }

    /// timm validate.py's result rows, one per model: model, top1, top1_err, top5, top5_err (in
    /// percent, 4 decimals; the ReaL accuracy when ReaL labels were given, as timm does),
    /// param_count (millions), img_size, crop_pct, interpolation.
    public var timmResults: [[(key: String, value: String)]] {
        func percent(_ v: Double) -> String { String(format: "%.4f", (v * 100 * 1e4).rounded() / 1e4) }
        return models.map { m in
            let (top1, top5) = m.real.map { (Self.rate($0.correctTop1, $0.images), Self.rate($0.correctTop5, $0.images)) }
                ?? (Self.rate(m.correctTop1, images), Self.rate(m.correctTop5, images))
            return [("model", m.model), ("top1", percent(top1)), ("top1_err", percent(1 - top1)),
                    ("top5", percent(top5)), ("top5_err", percent(1 - top5)),
                    ("param_count", m.parameters.map { String(format: "%.2f", Double($0) / 1e6) } ?? ""),
                    ("img_size", preprocessing["size"] ?? ""), ("crop_pct", preprocessing["crop_pct"] ?? ""),
                    ("interpolation", preprocessing["interpolation"] ?? "")]
        }
    }

    /// `timmResults` as a CSV file (header + one row per model) or, for a `.json` path, JSON: one
    /// object for one model (timm's form), a list for two.
    public func timmResultsFile(json: Bool) throws -> Data {
        let rows = timmResults
        if json {
            let numeric: Set<String> = ["top1", "top1_err", "top5", "top5_err", "param_count", "img_size", "crop_pct"]
            let objects: [[String: Any]] = rows.map { row in
                var object: [String: Any] = [:]
                for (k, v) in row { object[k] = numeric.contains(k) ? (Double(v) as Any? ?? NSNull()) : v }
                return object
            }
            let value: Any = objects.count == 1 ? objects[0] : objects
            return try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
        }
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = [(rows.first ?? []).map(\.key).joined(separator: ",")]
        lines += rows.map { $0.map { field($0.value) }.joined(separator: ",") }
        return Data((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// One JSON line per sample (`--predictions`): `index` (position in the whole sorted set),
    /// `path`, `label`, `real_labels` (when given), and per model its top-5 classes with softmax
    /// scores; `error` instead of predictions for an image that failed.
    public static func predictionLines(samples: [EvalSample], positions: [Int], records: [EvalRecord], modelNames: [String],
                                       realLabels: [[Int]]?) throws -> Data {
        var out = Data()
        for (i, record) in records.enumerated() {
            var line: [String: Any] = ["index": positions[i], "path": samples[i].path, "label": samples[i].label]
            if let realLabels { line["real_labels"] = realLabels[i] }
            if let failure = record.failure {
                line["error"] = failure
            } else {
                line["models"] = record.predictions.enumerated().map { m, p -> [String: Any] in
                    ["model": m < modelNames.count ? modelNames[m] : "model \(m + 1)",
                     "top5": p.top5.map { ["class": $0.index, "score": $0.probability.isFinite ? Double($0.probability) : NSNull()] as [String: Any] }]
                }
            }
            out += try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes])
            out += Data("\n".utf8)
        }
        return out
    }
}
