import ConvNeXtKit
import Foundation
import XCTest

/// Every route of `convnext serve` against the real binary on a free loopback port, with a real
/// HTTP client: the digits model in float and compiled to int8 with NV12 input, side by side.
/// Results are compared with what `convnext infer` and `convnext classify` print for the same input.
final class ServeRoutesTests: XCTestCase {
    /// The server and the files shared by the tests of this class (started once).
    final class Fixture {
        let dir: URL
        let int8Model: String
        let server: ServeProcess

        init() throws {
            dir = try ConvNeXtTool.tempDir()
            int8Model = try ConvNeXtTool.compileDigitsInt8NV12(into: dir)
            server = try ServeProcess(["digits=\(ConvNeXtTool.digitsModel)", "digits_int8=\(int8Model)", "--workers", "2"] + ConvNeXtTool.digitsFlags)
        }

        deinit {
            server.stop()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    nonisolated(unsafe) private static var shared: Result<Fixture, any Error>?

    private func fixture() throws -> Fixture {
        if Self.shared == nil { Self.shared = Result { try Fixture() } }
        return try Self.shared!.get()
    }

    override class func tearDown() {
        shared = nil
        super.tearDown()
    }

    // MARK: - Health and metadata

    func testHealthAndServerMetadata() throws {
        let f = try fixture()
        for path in ["/v2/health/live", "/v2/health/ready", "/v2/models/digits/ready", "/v2/models/digits_int8/ready"] {
            let r = try HTTP.get(f.server.url(path))
            XCTAssertEqual(r.status, 200, path)
            XCTAssertTrue(r.body.isEmpty, "\(path): the protocol's health answers have no body")
        }
        let server = try HTTP.get(f.server.url("/v2")).object()
        XCTAssertEqual(server["name"] as? String, "convnext")
        XCTAssertEqual(server["extensions"] as? [String], ["classification"])
    }

    func testModelMetadataListsInputsOutputsDatatypesAndShapes() throws {
        let f = try fixture()
        let float = try HTTP.get(f.server.url("/v2/models/digits")).object()
        XCTAssertEqual(float["name"] as? String, "digits")
        let inputs = try XCTUnwrap(float["inputs"] as? [[String: Any]])
        XCTAssertEqual(inputs.count, 1)
        XCTAssertEqual(inputs[0]["name"] as? String, "input")
        XCTAssertEqual(inputs[0]["datatype"] as? String, "FP32")
        XCTAssertEqual(inputs[0]["shape"] as? [Int], [1, 3, 64, 64])
        let outputs = try XCTUnwrap(float["outputs"] as? [[String: Any]])
        XCTAssertEqual(outputs[0]["name"] as? String, "logits")
        XCTAssertEqual(outputs[0]["shape"] as? [Int], [1, 10])
        XCTAssertEqual((float["parameters"] as? [String: Any])?["precision"] as? String, "f32")

        let int8 = try HTTP.get(f.server.url("/v2/models/digits_int8")).object()
        let int8Inputs = try XCTUnwrap(int8["inputs"] as? [[String: Any]])
        XCTAssertEqual(int8Inputs[0]["name"] as? String, "nv12")
        XCTAssertEqual(int8Inputs[0]["datatype"] as? String, "UINT8")
        XCTAssertEqual(int8Inputs[0]["shape"] as? [Int], [96, 64], "NV12 [H*3/2, W]")
        let parameters = try XCTUnwrap(int8["parameters"] as? [String: Any])
        XCTAssertEqual(parameters["precision"] as? String, "int8")
        XCTAssertEqual(parameters["format"] as? String, "nv12")
    }

    // MARK: - v2 infer

    /// The logits of a random tensor equal `convnext infer`'s bit for bit, float and int8.
    func testInferLogitsEqualConvnextInferBitForBit() throws {
        let f = try fixture()
        for (name, path, range) in [("digits", ConvNeXtTool.digitsModel, Float(-2.5)...2.5), ("digits_int8", f.int8Model, 0...255)] {
            var numbers = SeededNumbers(seed: 0x5EED + UInt64(name.count))
            let tensor = (0..<(3 * 64 * 64)).map { _ in numbers.float(in: range) }
            let input = f.dir.appendingPathComponent("\(name).f32"), output = f.dir.appendingPathComponent("\(name).logits")
            try RawFloats.write(tensor, to: input)
            let cli = try ConvNeXtTool.run(["infer", path, "--input-tensor", input.path, "--output-tensor", output.path])
            XCTAssertEqual(cli.status, 0, cli.stderr)
            let expected = try RawFloats.read(output)
            XCTAssertEqual(expected.count, 10)

            let body = #"{"id":"t1","inputs":[{"name":"input","shape":[1,3,64,64],"datatype":"FP32","data":["#
                + tensor.map { "\($0)" }.joined(separator: ",") + "]}]}"
            let r = try HTTP.post(f.server.url("/v2/models/\(name)/infer"), contentType: "application/json", body: Data(body.utf8))
            XCTAssertEqual(r.status, 200, r.text)
            let answer = try r.body.decoded(InferAnswer.self)
            XCTAssertEqual(answer.model_name, name)
            XCTAssertEqual(answer.id, "t1")
            XCTAssertEqual(answer.outputs.count, 1)
            XCTAssertEqual(answer.outputs[0].datatype, "FP32")
            XCTAssertEqual(answer.outputs[0].shape, [1, 10])
            XCTAssertEqual(answer.outputs[0].floats.map(\.bitPattern), expected.map(\.bitPattern), "\(name): logits differ from convnext infer")
        }
    }

    /// Nested `data` arrays are read in row-major order: the same logits as the flat form.
    func testInferAcceptsNestedData() throws {
        let f = try fixture()
        var numbers = SeededNumbers(seed: 7)
        let tensor = (0..<(3 * 64 * 64)).map { _ in numbers.float(in: -1...1) }
        func request(_ data: String) throws -> [Float] {
            let body = #"{"inputs":[{"name":"input","shape":[1,3,64,64],"datatype":"FP32","data":"# + data + "}]}"
            let r = try HTTP.post(f.server.url("/v2/models/digits/infer"), contentType: "application/json", body: Data(body.utf8))
            XCTAssertEqual(r.status, 200, r.text)
            return try r.body.decoded(InferAnswer.self).outputs[0].floats
        }
        let flat = "[" + tensor.map { "\($0)" }.joined(separator: ",") + "]"
        let rows = stride(from: 0, to: tensor.count, by: 64).map { "[" + tensor[$0..<$0 + 64].map { "\($0)" }.joined(separator: ",") + "]" }
        let planes = stride(from: 0, to: rows.count, by: 64).map { "[" + rows[$0..<$0 + 64].joined(separator: ",") + "]" }
        let nested = "[[" + planes.joined(separator: ",") + "]]"
        XCTAssertEqual(try request(nested).map(\.bitPattern), try request(flat).map(\.bitPattern))
    }

    /// A UINT8 NV12 frame on the int8 NV12 model, with the classification extension: the top-3
    /// strings name the same classes, in the same order, as `convnext classify` of the frame.
    func testInferNV12FrameWithClassificationStrings() throws {
        let f = try fixture()
        let image = try ConvNeXtTool.digitImages(perClass: 1)[7]
        let frame = try NV12Frame(rgb: ImageDecoder.decode(path: image))
        let framePath = f.dir.appendingPathComponent("seven.nv12")
        try frame.write(path: framePath.path)
        let cli = try ConvNeXtTool.run(["classify", f.int8Model, framePath.path, "--nv12", "64x64", "--top", "3", "--json"] + ConvNeXtTool.digitsFlags)
        XCTAssertEqual(cli.status, 0, cli.stderr)
        let expected = try XCTUnwrap(try cli.stdout.decoded(ClassifyCLIReport.self).results.first?.top)

        let body = #"{"inputs":[{"name":"nv12","shape":[96,64],"datatype":"UINT8","data":["#
            + frame.bytes.map(String.init).joined(separator: ",") + #"]}],"outputs":[{"name":"logits","parameters":{"classification":3}}]}"#
        let r = try HTTP.post(f.server.url("/v2/models/digits_int8/infer"), contentType: "application/json", body: Data(body.utf8))
        XCTAssertEqual(r.status, 200, r.text)
        let output = try XCTUnwrap(try r.body.decoded(InferAnswer.self).outputs.first)
        XCTAssertEqual(output.datatype, "BYTES")
        XCTAssertEqual(output.shape, [1, 3])
        let strings = output.strings
        XCTAssertEqual(strings.count, 3)
        let fields = strings.map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(fields.map { Int($0[1]) }, expected.map(\.index), "value:index:label, best first: \(strings)")
        XCTAssertEqual(fields.map { $0[2] }, expected.map { $0.label ?? "" })
        let values = fields.compactMap { Float($0[0]) }
        XCTAssertEqual(values.count, 3)
        XCTAssertEqual(values, values.sorted(by: >), "logit values fall")
    }

    // MARK: - v1 classify

    /// JPEG, PNG and NV12 bodies give the same top-5 and probabilities as `convnext classify`,
    /// for the float and the int8 model.
    func testClassifyMatchesConvnextClassify() throws {
        let f = try fixture()
        let png = try ConvNeXtTool.digitImages(perClass: 1)[3]
        let jpeg = ConvNeXtTool.fixture("images/chelsea.jpg")
        let frame = try NV12Frame(rgb: ImageDecoder.decode(path: try ConvNeXtTool.digitImages(perClass: 1)[5]))
        let frame64 = f.dir.appendingPathComponent("five.nv12")
        try frame.write(path: frame64.path)
        // A frame of another size is converted to RGB and preprocessed like a photo.
        var numbers = SeededNumbers(seed: 99)
        let wide = try NV12Frame(width: 96, height: 80, bytes: (0..<(96 * 80 * 3 / 2)).map { _ in UInt8(truncatingIfNeeded: numbers.next() >> 56) })
        let frameWide = f.dir.appendingPathComponent("wide.nv12")
        try wide.write(path: frameWide.path)

        let cases: [(file: String, type: String, query: String, cliFlags: [String])] = [
            (png, "image/png", "", []),
            (jpeg, "image/jpeg", "", []),
            (frame64.path, "application/octet-stream", "&nv12=64x64", ["--nv12", "64x64"]),
            (frameWide.path, "application/octet-stream", "&nv12=96x80", ["--nv12", "96x80"]),
        ]
        for (name, path) in [("digits", ConvNeXtTool.digitsModel), ("digits_int8", f.int8Model)] {
            for c in cases {
                let cli = try ConvNeXtTool.run(["classify", path, c.file, "--top", "5", "--json"] + c.cliFlags + ConvNeXtTool.digitsFlags)
                XCTAssertEqual(cli.status, 0, cli.stderr)
                let expected = try XCTUnwrap(try cli.stdout.decoded(ClassifyCLIReport.self).results.first?.top)
                let r = try HTTP.post(f.server.url("/v1/classify?model=\(name)&top=5" + c.query), contentType: c.type,
                                      body: try Data(contentsOf: URL(fileURLWithPath: c.file)))
                XCTAssertEqual(r.status, 200, "\(name) \(c.type): \(r.text)")
                let answer = try r.body.decoded(ClassifyServiceAnswer.self)
                XCTAssertEqual(answer.model, name)
                XCTAssertEqual(answer.top.count, 5)
                XCTAssertEqual(answer.top, expected, "\(name) \(c.file): top-5 differs from convnext classify")
                let times = try XCTUnwrap(try r.object()["times_ms"] as? [String: Double])
                XCTAssertEqual(Set(times.keys), ["queue", "decode", "preprocess", "inference", "postprocess"])
                XCTAssertGreaterThan(times["inference"] ?? 0, 0)
            }
        }
    }

    // MARK: - Metrics, page, documents

    func testMetricsCountRequestsAndInferences() throws {
        let f = try fixture()
        let route = #"convnext_http_requests_total{route="/v1/classify",method="POST",status="200"}"#
        let inferences = #"convnext_inferences_total{model="digits"}"#
        let before = try Self.metrics(f.server)
        let png = try Data(contentsOf: URL(fileURLWithPath: try ConvNeXtTool.digitImages(perClass: 1)[1]))
        for _ in 0..<3 {
            XCTAssertEqual(try HTTP.post(f.server.url("/v1/classify?model=digits"), contentType: "image/png", body: png).status, 200)
        }
        let after = try Self.metrics(f.server)
        XCTAssertEqual(after[route, default: 0] - before[route, default: 0], 3, "requests by route and status")
        XCTAssertEqual(after[inferences, default: 0] - before[inferences, default: 0], 3, "inferences of the model")
        XCTAssertEqual(after[#"convnext_inference_duration_seconds_count{model="digits"}"#, default: 0]
                       - before[#"convnext_inference_duration_seconds_count{model="digits"}"#, default: 0], 3, "latency histogram")
        XCTAssertNotNil(after["convnext_queue_depth"])
        XCTAssertEqual(after["convnext_workers_total"], 2)
        XCTAssertEqual(after["convnext_workers_busy"], 0)
        let text = try HTTP.get(f.server.url("/metrics"))
        XCTAssertTrue(text.headers["content-type"]?.hasPrefix("text/plain") ?? false)
        XCTAssertTrue(text.text.contains("# TYPE convnext_inference_duration_seconds histogram"))
    }

    func testWebPageOpenAPIAndModelsTable() throws {
        let f = try fixture()
        let page = try HTTP.get(f.server.url("/"))
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.headers["content-type"]?.hasPrefix("text/html") ?? false)
        XCTAssertTrue(page.text.contains("<title>convnext serve</title>"))
        XCTAssertTrue(page.text.contains("/v1/classify"), "the page classifies through the API")
        XCTAssertFalse(page.text.contains("http://") || page.text.contains("https://") || page.text.contains("src=\"//"),
                       "the page loads nothing from elsewhere")

        let document = try HTTP.get(f.server.url("/openapi.json")).object()
        XCTAssertEqual(document["openapi"] as? String, "3.0.3")
        let paths = try XCTUnwrap(document["paths"] as? [String: Any])
        XCTAssertEqual(Set(paths.keys), ["/", "/openapi.json", "/metrics", "/v1/models", "/v1/classify", "/v2", "/v2/health/live",
                                         "/v2/health/ready", "/v2/models/{name}", "/v2/models/{name}/ready", "/v2/models/{name}/infer"])

        let models = try XCTUnwrap(try HTTP.get(f.server.url("/v1/models")).object()["models"] as? [[String: Any]])
        XCTAssertEqual(models.map { $0["name"] as? String }, ["digits", "digits_int8"])
        XCTAssertEqual(models.map { $0["precision"] as? String }, ["f32", "int8"])
        XCTAssertEqual(models[0]["parameters"] as? Int, 494_778)
        XCTAssertEqual(models[1]["format"] as? String, "nv12")
    }

    // MARK: - Bad requests

    /// Each kind of bad request gets its 4xx with a JSON error naming the problem, and the
    /// service keeps answering.
    func testBadRequestsGetJSONErrors() throws {
        let f = try fixture()
        let frame = Data(repeating: 128, count: 64 * 64 * 3 / 2)
        func infer(_ json: String) -> (String, String, String?, Data) { ("POST", "/v2/models/digits/infer", "application/json", Data(json.utf8)) }
        let zeros = Array(repeating: "0", count: 3 * 64 * 64).joined(separator: ",")
        let cases: [(request: (String, String, String?, Data), status: Int, mentions: String)] = [
            (infer("{\"inputs\": ["), 400, "invalid JSON"),
            (infer("{\"outputs\": []}"), 400, "inputs"),
            (infer(#"{"inputs":[{"name":"input","shape":[1,3,64,64],"datatype":"FP32","data":["a"]}]}"#), 400, "data"),
            (("POST", "/v1/classify?model=digits&top=many", "image/png", frame), 400, "top=many"),
            (("POST", "/v1/classify?model=digits&nv12=64by64", "application/octet-stream", frame), 400, "nv12=64by64"),
            (("POST", "/v1/classify?model=digits", "application/octet-stream", frame), 400, "?nv12="),
            (("POST", "/v1/classify", "image/png", frame), 400, "?model=NAME"),
            (("GET", "/v2/models/nope", nil, Data()), 404, "no model named 'nope'"),
            (("GET", "/v2/models/nope/ready", nil, Data()), 404, "nope"),
            (("POST", "/v2/models/nope/infer", "application/json", Data("{}".utf8)), 404, "nope"),
            (("POST", "/v1/classify?model=nope", "image/png", frame), 404, "nope"),
            (("GET", "/v3/anything", nil, Data()), 404, "no route GET /v3/anything"),
            (("POST", "/v1/classify?model=digits", "text/plain", frame), 415, "text/plain"),
            (("POST", "/v1/classify?model=digits", nil, frame), 415, "Content-Type"),
            (("POST", "/v2/models/digits/infer", "text/csv", Data("1,2".utf8)), 415, "application/json"),
            (infer(#"{"inputs":[{"name":"input","shape":[1,3,32,32],"datatype":"FP32","data":[0]}]}"#), 422, "shape [1, 3, 32, 32]"),
            (infer(#"{"inputs":[{"name":"input","shape":[1,3,64,64],"datatype":"INT64","data":[0]}]}"#), 422, "INT64"),
            (infer(#"{"inputs":[{"name":"input","shape":[1,3,64,64],"datatype":"FP32","data":[0,1]}]}"#), 422, "2 values"),
            (infer(#"{"inputs":[{"name":"nv12","shape":[1,3,64,64],"datatype":"FP32","data":[0]}]}"#), 422, "this model takes"),
            (infer(#"{"inputs":[]}"#), 422, "0 inputs"),
            (infer(#"{"inputs":[{"name":"input","shape":[1,3,64,64],"datatype":"FP32","data":["# + zeros + #"]}],"outputs":[{"name":"probs"}]}"#), 422, "unknown output 'probs'"),
            (infer(#"{"inputs":[{"name":"input","shape":[1,3,64,64],"datatype":"FP32","data":["# + zeros + #"]}],"outputs":[{"name":"logits","parameters":{"classification":11}}]}"#), 422, "between 1 and 10"),
            (("POST", "/v1/classify?model=digits", "image/jpeg", Data("not a jpeg at all".utf8)), 422, "request body"),
            (("POST", "/v1/classify?model=digits", "image/png", Data()), 422, "empty"),
            (("POST", "/v1/classify?model=digits&nv12=64x64", "application/octet-stream", frame.prefix(1000)), 422, "1000 bytes"),
            (("POST", "/v1/classify?model=digits&nv12=63x64", "application/octet-stream", frame), 400, "63"),
        ]
        for c in cases {
            let (method, path, type, body) = c.request
            let r = try HTTP.send(method, f.server.url(path), headers: type.map { ["Content-Type": $0] } ?? [:], body: method == "POST" ? body : nil)
            XCTAssertEqual(r.status, c.status, "\(method) \(path): \(r.text)")
            XCTAssertTrue(r.headers["content-type"]?.hasPrefix("application/json") ?? false, "\(path): JSON error")
            let message = try XCTUnwrap(r.errorMessage, "\(method) \(path): {\"error\": ...} expected, got \(r.text)")
            XCTAssertTrue(message.contains(c.mentions), "\(method) \(path): '\(message)' should mention '\(c.mentions)'")
        }
        XCTAssertEqual(try HTTP.get(f.server.url("/v2/health/ready")).status, 200, "still serving")
        XCTAssertEqual(try HTTP.get(f.server.url("/v2/models/digits")).status, 200)
    }

    // MARK: - Helpers

    /// The metrics text as sample name (with labels) -> value.
    static func metrics(_ server: ServeProcess) throws -> [String: Double] {
        let text = try HTTP.get(server.url("/metrics")).text
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }
}

/// The v2 infer answer; `data` is kept as raw JSON numbers or strings.
struct InferAnswer: Decodable {
    struct Output: Decodable {
        var name: String
        var datatype: String
        var shape: [Int]
        var floats: [Float] = []
        var strings: [String] = []

        enum CodingKeys: String, CodingKey { case name, datatype, shape, data }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            datatype = try c.decode(String.self, forKey: .datatype)
            shape = try c.decode([Int].self, forKey: .shape)
            if datatype == "BYTES" { strings = try c.decode([String].self, forKey: .data) } else { floats = try c.decode([Float].self, forKey: .data) }
        }
    }
    var model_name: String
    var id: String?
    var outputs: [Output]
}
