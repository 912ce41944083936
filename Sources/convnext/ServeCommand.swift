import ArgumentParser
import ConvNeXtKit
import ConvNeXtServer
import Dispatch
import Foundation

/// `convnext serve`: an HTTP inference service (Open Inference Protocol v2, /v1/classify,
/// Prometheus metrics, a web page) over one or more models loaded once.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over HTTP: Open Inference Protocol v2, /v1/classify, /metrics, a web page.",
        discussion: """
            Every model is loaded once and served under its file stem (models/convnext_atto.onnx \
            -> convnext_atto), or under NAME with NAME=PATH. When the server listens it prints one \
            line on stdout, `listening on http://HOST:PORT` (with --port 0, the port it picked).

            Routes: GET / (web page), GET /openapi.json, GET /metrics, GET /v1/models, \
            POST /v1/classify?model=NAME&top=5 (image/jpeg, image/png, or application/octet-stream \
            with &nv12=WxH), and the Open Inference Protocol v2: GET /v2, /v2/health/live, \
            /v2/health/ready, /v2/models/NAME, /v2/models/NAME/ready, POST /v2/models/NAME/infer.

            --workers threads each run one single-threaded inference at a time; up to --queue \
            requests wait for them, and beyond that (or after --timeout seconds of waiting) the \
            answer is 503 with Retry-After. SIGTERM or SIGINT stops accepting connections, lets the \
            requests in flight finish, and exits 0. docs/serving.md has curl examples for every route.

            Examples:
              convnext serve convnext_atto.onnx
              convnext serve f32=convnext_atto.onnx int8=convnext_atto_int8.cnxk --port 9000 --workers 2
              convnext serve digits.onnx --labels digits.txt --crop-pct 1 --host 0.0.0.0 --token "$TOKEN"
            """
    )

    @Argument(help: "Models to serve: PATH (served under its file stem) or NAME=PATH; files (.onnx, .pth, .safetensors, .cnxk) or registry names.")
    var models: [String] = []

    @Option(help: "Address to listen on (0.0.0.0 for every interface).")
    var host = "127.0.0.1"

    @Option(help: "TCP port; 0 picks a free one.")
    var port = 8080

    @Option(help: "Inference worker threads (default: one per core).")
    var workers = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Requests that may wait for a worker before the answer is 503.")
    var queue = 64

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body; larger ones get 413 before they are read.")
    var maxBodyBytes = ServerConfiguration.defaultMaxBodyBytes

    @Option(help: "Seconds a request may wait for a worker before the answer is 503.")
    var timeout: Double = 30

    @Option(help: "Require 'Authorization: Bearer TOKEN' on every route but the health checks and the page (default: $CONVNEXT_SERVE_TOKEN when set).")
    var token: String?

    @Option(help: "Labels file for the models whose class count it matches (others keep ImageNet-1k or indices).")
    var labels: String?

    @Option(help: "Engine for float models: fast (default) or reference (the plain oracle, slow).")
    var engine: EngineKind = .fast

    @OptionGroup var preprocess: PreprocessFlags

    @OptionGroup var lookup: ModelLookupOptions

    @OptionGroup var isaOptions: ISAOptions

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one model to serve") }
        try OptionValidation.check(timeout, "--timeout", in: 0...86_400, lowerOpen: true)
        try OptionValidation.check(port, "--port", in: 0...65_535)
        // The ranges ServerConfiguration.validate() checks again in the library.
        try OptionValidation.check(workers, "--workers", in: 1...256)
        try OptionValidation.check(queue, "--queue", in: 0...100_000)
        try OptionValidation.check(maxBodyBytes, "--max-body-bytes", in: 1024...Int.max)
    }

    func run() throws {
        let server: InferenceServer
        do {
            try isaOptions.apply()
            let configuration = ServerConfiguration(
                host: host, port: port, workers: workers, queueCapacity: queue, maxBodyBytes: maxBodyBytes,
                timeout: .milliseconds(Int64(timeout * 1000)),
                token: token ?? ProcessInfo.processInfo.environment["CONVNEXT_SERVE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
            try configuration.validate()
            let served = try models.map(openServedModel)
            server = InferenceServer(service: try InferenceService(models: served, configuration: configuration))
            for model in served {
                let input = model.classifier.input
                printNote("serving \(model.name): \(input.variant), \(input.precision), \(input.format) \(input.shape.map(String.init).joined(separator: "x")), \(input.classes) classes (\(model.source))")
            }
        } catch let error as ConvNeXtError {
            printErrorLine(error.description)
            throw ExitCode(1)
        }
        let outcome = ServeOutcome()
        let finished = DispatchSemaphore(value: 0)
        // The command runs synchronously; the server runs on Swift concurrency and this thread waits.
        Task.detached {
            do {
                try await server.run { url in
                    // Unbuffered, so a script reading the pipe sees the line at once.
                    FileHandle.standardOutput.write(Data("listening on \(url)\n".utf8))
                }
            } catch {
                outcome.set(error)
            }
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error {
            printErrorLine("could not serve on \(host):\(port): \(error)")
            throw ExitCode(1)
        }
        printNote("stopped: the requests in flight were answered")
    }

    /// Opens one model argument (`PATH` or `NAME=PATH`) with the command's engine, preprocessing and labels.
    private func openServedModel(_ argument: String) throws -> ServedModel {
        let (name, path) = try ServedModel.parseArgument(argument)
        let loaded = try openModel(path, lookup: lookup, inputSize: preprocess.size, kind: engine)
        let preprocessing = try preprocess.options(defaults: loaded.preprocessDefaults)
        func classifier(labels: String?) throws -> ImageClassifier {
            try ImageClassifier(loaded: loaded, options: .init(labelsPath: labels, preprocessing: preprocessing,
                                                               nv12Range: preprocess.nv12Range, nv12Upsampling: preprocess.nv12Upsampling))
        }
        var chosen = try classifier(labels: labels)
        if labels != nil, chosen.labels == nil {
            // The labels file is for another model: this one keeps the built-in names (or indices).
            chosen = try classifier(labels: nil)
        }
        return ServedModel(name: name, source: path, classifier: chosen)
    }

    private func printNote(_ message: String) {
        FileHandle.standardError.write(Data("convnext serve: \(message)\n".utf8))
    }
}

/// The error the server task ended with, handed to the waiting command thread.
private final class ServeOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?

    var error: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func set(_ error: any Error) {
        lock.lock()
        stored = error
        lock.unlock()
    }
}
