import CConvNeXtKitAPI
import ConvNeXtKit
import Foundation

// The model's life: open, describe, close. The functions are `public` so that the dynamic library
// exports them; C callers see them through convnextkit.h.

/// `convnextkit_last_error`: the last failure's message on this thread.
@_cdecl("convnextkit_last_error")
public func convnextkitLastError() -> UnsafePointer<CChar> {
    LastError.current
}

/// `convnextkit_max_threads`: the largest thread count one inference takes.
@_cdecl("convnextkit_max_threads")
public func convnextkitMaxThreads() -> Int32 {
    Int32(ImageClassifier.maxThreads)
}

/// `convnextkit_open`: opens a model file or registry name into a new handle.
@_cdecl("convnextkit_open")
public func convnextkitOpen(_ path: UnsafePointer<CChar>?, _ options: UnsafePointer<convnextkit_options>?,
                            _ model: UnsafeMutablePointer<OpaquePointer?>?) -> convnextkit_status {
    reportingFailures {
        let out = try CArguments.required(model, "model (the output pointer)")
        out.pointee = nil
        guard let path = try CArguments.string(path, "path") else { throw CAPIFailure.invalidArgument("path is NULL") }
        let (classifierOptions, threads) = try OpenOptions.read(options)
        // As the CLI: CONVNEXT_ISA caps the kernels of the models opened from now on.
        try CPUFeatures.applyEnvironment()
        let classifier = try ImageClassifier(path: path, options: classifierOptions)
        out.pointee = ModelHandleRegistry.shared.insert(ModelHandle(classifier: classifier, defaultThreads: threads))
    }
}

/// `convnextkit_close`: forgets a handle; NULL and unknown handles are ignored.
@_cdecl("convnextkit_close")
public func convnextkitClose(_ model: OpaquePointer?) {
    guard let model else { return }
    ModelHandleRegistry.shared.remove(model)
}

/// `convnextkit_get_input`: fills the caller's `convnextkit_input`.
@_cdecl("convnextkit_get_input")
public func convnextkitGetInput(_ model: OpaquePointer?, _ input: UnsafeMutablePointer<convnextkit_input>?) -> convnextkit_status {
    reportingFailures {
        let handle = try ModelHandleRegistry.shared.handle(model)
        let out = try CArguments.required(input, "input")
        let size = UnsafeRawPointer(out).load(as: UInt32.self)
        guard Int(size) >= MemoryLayout<convnextkit_input>.size else {
            throw CAPIFailure.invalidArgument("input->struct_size is \(size), expected sizeof(convnextkit_input) = \(MemoryLayout<convnextkit_input>.size)")
        }
        let d = handle.classifier.input
        let strings = handle.descriptionStrings
        func text(_ key: String) -> UnsafePointer<CChar>? { strings[key].map { UnsafePointer($0.pointer) } }
        var desc = convnextkit_input()
        desc.struct_size = UInt32(MemoryLayout<convnextkit_input>.size)
        desc.channels = Int32(d.shape[1])
        desc.height = Int32(d.shape[2])
        desc.width = Int32(d.shape[3])
        desc.element_count = Int64(d.elementCount)
        desc.classes = Int32(d.classes)
        desc.has_labels = handle.labelStrings.isEmpty ? 0 : 1
        desc.parameters = d.parameters.map(Int64.init) ?? -1
        desc.precision = text("precision")
        desc.format = text("format")
        desc.engine = text("engine")
        desc.variant = text("variant")
        desc.size = Int32(d.size)
        desc.crop_pct = d.cropPct
        desc.interpolation = text("interpolation")
        desc.resize_mode = text("resize_mode")
        desc.mean = (d.mean[0], d.mean[1], d.mean[2])
        desc.std = (d.std[0], d.std[1], d.std[2])
        out.pointee = desc
    }
}

/// `convnextkit_label`: the name of one class, or NULL.
@_cdecl("convnextkit_label")
public func convnextkitLabel(_ model: OpaquePointer?, _ index: Int32) -> UnsafePointer<CChar>? {
    var name: UnsafePointer<CChar>?
    let status = reportingFailures {
        let labels = try ModelHandleRegistry.shared.handle(model).labelStrings
        guard labels.indices.contains(Int(index)) else {
            throw CAPIFailure.invalidArgument(labels.isEmpty ? "the model has no labels" : "label index \(index) is outside 0..<\(labels.count)")
        }
        name = UnsafePointer(labels[Int(index)].pointer)
    }
    return status == convnextkit_status(CONVNEXTKIT_OK) ? name : nil
}

/// Reads a `convnextkit_options` into ``ImageClassifier/Options`` and the default thread count.
enum OpenOptions {
    static func read(_ pointer: UnsafePointer<convnextkit_options>?) throws -> (ImageClassifier.Options, threads: Int) {
        guard let pointer else { return (ImageClassifier.Options(), 1) }
        // Only the first field is read before its value says how large the caller's struct is;
        // then only that many bytes (fields added since the caller's header stay zero / NULL).
        let size = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
        let full = MemoryLayout<convnextkit_options>.size
        guard size >= firstReleaseSize else {
            throw CAPIFailure.invalidArgument("options->struct_size is \(size), expected sizeof(convnextkit_options) = \(full) (call convnextkit_options_init)")
        }
        var o = convnextkit_options()
        withUnsafeMutableBytes(of: &o) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: min(size, full))) }
        var options = ImageClassifier.Options()
        guard o.input_size >= 0 else { throw CAPIFailure.invalidArgument("options->input_size \(o.input_size) is negative") }
        options.inputSize = o.input_size == 0 ? nil : Int(o.input_size)
        guard (0...Int32(ImageClassifier.maxThreads)).contains(o.threads) else {
            throw CAPIFailure.invalidArgument("options->threads \(o.threads) is outside 0...\(ImageClassifier.maxThreads)")
        }
        guard o.crop_pct == 0 || (o.crop_pct > 0 && o.crop_pct <= 1) else {
            throw CAPIFailure.invalidArgument("options->crop_pct \(o.crop_pct) is outside (0, 1] (0 keeps the model's)")
        }
        var changes = ImageClassifier.PreprocessingChanges()
        changes.cropPct = o.crop_pct == 0 ? nil : o.crop_pct
        changes.applyExifOrientation = o.apply_exif_orientation != 0 ? true : nil
        if o.std.0 > 0 {
            changes.mean = [o.mean.0, o.mean.1, o.mean.2]
            changes.std = [o.std.0, o.std.1, o.std.2]
        }
        changes.interpolation = try CArguments.choice(o.interpolation, "options->interpolation", as: Interpolation.self)
        changes.resizeMode = try CArguments.choice(o.resize_mode, "options->resize_mode", as: ResizeMode.self)
        options.preprocessingChanges = changes
        options.engine = try CArguments.choice(o.engine, "options->engine", as: EngineKind.self) ?? .fast
        options.nv12Range = try CArguments.choice(o.nv12_range, "options->nv12_range", as: YUVRange.self) ?? .full
        options.labelsPath = try CArguments.string(o.labels_path, "options->labels_path")
        options.precision = try CArguments.choice(o.precision, "options->precision", as: FloatPrecision.self)
        return (options, o.threads == 0 ? 1 : Int(o.threads))
    }

    /// sizeof(convnextkit_options) in the 1.0 header: every field before `precision`.
    static let firstReleaseSize = MemoryLayout<convnextkit_options>.offset(of: \convnextkit_options.precision)!
}
