import Foundation

/// The compile pipeline's quantizer: `Quantizer.quantize` with the YAML's settings, serialised
/// for the deployable file.
public struct Int8Quantizer: ModelQuantizing {
    /// Threads used to observe calibration data (default: all cores).
    public var threads: Int

    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.threads = max(1, threads)
    }

    public func quantize(model: ConvNeXtModel, calibration: [Tensor], request: QuantizationRequest,
                         progress: @escaping @Sendable (String) -> Void) throws -> QuantizationOutcome {
        var options = QuantizationOptions()
        switch request.calibrationType {
        case .default: options.calibrationType = .default
        case .max:
            // hb_mapper: `max` with max_percentile < 1 clips at that quantile.
            if let p = request.maxPercentile, p < 1 {
                options.calibrationType = .percentile
                options.maxPercentile = p
            } else {
                options.calibrationType = .max
            }
        case .kl: options.calibrationType = .kl
        case .mix: options.calibrationType = .mix
        case .skip: options.calibrationType = .skip
        case .load:
            throw ConvNeXtError.usage("calibration_type load is not supported")
        }
        if let p = request.maxPercentile, request.calibrationType != .max { options.maxPercentile = p }
        options.precisionOverrides = request.layerOverrides.mapValues { precision -> Precision in
            switch precision {
            case .int8: return .int8
            case .int16: return .int16
            case .float: return .float
            }
        }
        options.threads = threads
        options.progress = { p in
            if p.completed == p.total || p.completed % 10 == 0 { progress("quantize: \(p.phase) \(p.completed)/\(p.total) \(p.message)") }
        }
        let (quantized, report) = try Quantizer.quantize(model: model, calibration: calibration, options: options)
        let serialized = quantized.serialize()
        let arrays = try serialized.arrays.map { a -> NamedArray in
            switch a.data {
            case .f32(let v): return try NamedArray(name: a.name, shape: [v.count], values: .float32(v))
            case .i8(let v): return try NamedArray(name: a.name, shape: [v.count], values: .int8(v))
            case .i16(let v): return try NamedArray(name: a.name, shape: [v.count], values: .int16(v))
            case .i32(let v): return try NamedArray(name: a.name, shape: [v.count], values: .int32(v))
            }
        }
        var dumps: [LayerOutputDump] = []
        if request.dumpLayerOutputs, let sample = calibration.first {
            var floatOutputs: [(LayerID, Tensor)] = []
            _ = ReferenceForward(model: model).run(sample) { id, t in floatOutputs.append((id, t)) }
            var quantOutputs: [LayerID: Tensor] = [:]
            _ = try Int8Engine(model: quantized).run(sample) { id, t in quantOutputs[id] = t }
            for (id, f) in floatOutputs {
                if let q = quantOutputs[id], q.count == f.count { dumps.append(LayerOutputDump(layer: id, float: f, quantized: q)) }
            }
        }
        let reportJSON = try JSONDecoder().decode(JSONValue.self, from: report.json())
        return QuantizationOutcome(arrays: arrays, metadata: try JSONValue(encoding: serialized.metadata),
                                   reportText: report.text, reportJSON: reportJSON,
                                   calibrationMethodUsed: report.method, layerDumps: dumps)
    }
}

extension DeployableModel {
    /// The quantized model stored in this file, ready for `Int8Engine`.
    public func quantizedModel(path: String) throws -> QuantizedModel {
        guard case .quantized(let arrays) = payload, let meta = metadata.quantization else {
            throw ConvNeXtError.invalidModel(path: path, reason: "holds a float model, not a quantized one")
        }
        do {
            let metadata = try meta.decode(QuantizedModelMetadata.self)
            let parts = arrays.map { a -> SerializedArray in
                switch a.values {
                case .float32(let v): return SerializedArray(name: a.name, data: .f32(v))
                case .int8(let v): return SerializedArray(name: a.name, data: .i8(v))
                case .int16(let v): return SerializedArray(name: a.name, data: .i16(v))
                case .int32(let v): return SerializedArray(name: a.name, data: .i32(v))
                case .uint8(let v): return SerializedArray(name: a.name, data: .i8(v.map { Int8(bitPattern: $0) }))
                }
            }
            let model = try QuantizedModel(deserializing: SerializedQuantizedModel(metadata: metadata, arrays: parts))
            // `info` prints the deployable metadata's architecture: it must be the one that runs.
            let described = self.metadata.model.config
            guard model.config == described else {
                throw ConvNeXtError.invalidModel(path: path, reason: "metadata model (dims \(described.dims), depths \(described.depths), \(described.numClasses) classes, input \(described.inputWidth)x\(described.inputHeight)) differs from the quantized model it holds (dims \(model.config.dims), depths \(model.config.depths), \(model.config.numClasses) classes, input \(model.config.inputWidth)x\(model.config.inputHeight))")
            }
            return model
        } catch ConvNeXtError.invalidModel(_, let reason) {
            // The deserializer does not know the file: name it here.
            throw ConvNeXtError.invalidModel(path: path, reason: reason)
        } catch let error as ConvNeXtError {
            throw error
        } catch {
            throw ConvNeXtError.invalidModel(path: path, reason: "quantization metadata does not decode (\(DeployableModel.describe(error)))")
        }
    }
}
