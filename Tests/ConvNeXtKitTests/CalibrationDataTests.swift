import ConvNeXtKit
import Foundation
import XCTest

/// The calibration loader: sizes checked per file, pixels normalised, folders read recursively in order.
final class CalibrationDataTests: XCTestCase {
    private var scratch = ""
    override func setUpWithError() throws { scratch = try DeploymentTestSupport.scratchDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }

    private let shape = [1, 3, 4, 2]
    private let pixels = DeployedPreprocessing(inputTypeRT: .nv12, inputTypeTrain: .rgb, normType: .dataMeanAndScale,
                                               mean: [10, 20, 30], scale: [0.5, 2, -1], inputHeight: 4, inputWidth: 2)

    private func write(_ relative: String, _ data: Data) throws {
        let url = URL(fileURLWithPath: scratch + "/" + relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    func testFloat32PixelsAreNormalisedPerChannelInSortedRecursiveOrder() throws {
        let values = (0..<24).map { Float($0 * 10) }
        try write("b/z.f32", littleEndianBytes(values))
        try write("a.f32", littleEndianBytes(values.map { $0 + 1 }))
        try write("b/.hidden", Data([1, 2, 3]))
        let set = try CalibrationData.load(.rawTensors(directory: scratch, dataType: .float32), inputShape: shape, preprocessing: pixels)
        XCTAssertEqual(set.files, [scratch + "/a.f32", scratch + "/b/z.f32"])
        XCTAssertEqual(set.tensors.count, 2)
        XCTAssertEqual(set.tensors[1].shape, shape)
        // Channel planes of 8 values: (x - mean[c]) * scale[c].
        XCTAssertEqual(set.tensors[1].data[0], (0 - 10) * 0.5)
        XCTAssertEqual(set.tensors[1].data[8], (80 - 20) * 2)
        XCTAssertEqual(set.tensors[1].data[23], (230 - 30) * -1)
        XCTAssertEqual(set.tensors[0].data[0], (1 - 10) * 0.5)
        XCTAssertEqual(set.warnings, [])
    }

    func testUint8AndNoPreprocess() throws {
        try write("x.u8", Data((0..<24).map { UInt8($0 * 10) }))
        let set = try CalibrationData.load(.rawTensors(directory: scratch, dataType: .uint8), inputShape: shape, preprocessing: pixels)
        XCTAssertEqual(set.tensors[0].data[9], (90 - 20) * 2)
        var raw = pixels
        raw.normType = .noPreprocess
        let same = try CalibrationData.load(.rawTensors(directory: scratch, dataType: .uint8), inputShape: shape, preprocessing: raw)
        XCTAssertEqual(same.tensors[0].data, (0..<24).map { Float($0 * 10) })
        var meanOnly = pixels
        meanOnly.normType = .dataMean
        XCTAssertEqual(try CalibrationData.load(.rawTensors(directory: scratch, dataType: .uint8), inputShape: shape,
                                                preprocessing: meanOnly).tensors[0].data[9], 90 - 20)
    }

    func testWrongSizeFileIsAnErrorNamingTheFile() throws {
        try write("good.f32", littleEndianBytes([Float](repeating: 100, count: 24)))
        try write("sub/bad.f32", littleEndianBytes([Float](repeating: 100, count: 23)))
        let text = DeploymentTestSupport.errorText {
            _ = try CalibrationData.load(.rawTensors(directory: scratch, dataType: .float32), inputShape: shape, preprocessing: pixels)
        }
        XCTAssertEqual(text, "\(scratch)/sub/bad.f32: calibration file holds 92 bytes, expected 96 (float32 NCHW 1x3x4x2)")
        // A uint8 file read as float32 says what it looks like.
        try FileManager.default.removeItem(atPath: scratch + "/sub")
        try write("u.bin", Data(count: 24))
        let hint = DeploymentTestSupport.errorText {
            _ = try CalibrationData.load(.rawTensors(directory: scratch, dataType: .float32), inputShape: shape, preprocessing: pixels)
        }
        XCTAssertEqual(hint, "\(scratch)/u.bin: calibration file holds 24 bytes, expected 96 (float32 NCHW 1x3x4x2); it has the size of uint8 data: set cal_data_type: uint8")
    }

    func testNonFiniteValuesAndNormalisedLookingDataAreReported() throws {
        try write("a.f32", littleEndianBytes([Float](repeating: 0.5, count: 24)))
        let set = try CalibrationData.load(.rawTensors(directory: scratch, dataType: .float32), inputShape: shape, preprocessing: pixels)
        XCTAssertEqual(set.warnings.count, 1)
        XCTAssertTrue(set.warnings[0].contains("not the 0...255 pixel domain"), set.warnings[0])
        var values = [Float](repeating: 1, count: 24)
        values[5] = .nan
        try write("b.f32", littleEndianBytes(values))
        let text = DeploymentTestSupport.errorText {
            _ = try CalibrationData.load(.rawTensors(directory: scratch, dataType: .float32), inputShape: shape, preprocessing: pixels)
        }
        XCTAssertEqual(text, "\(scratch)/b.f32: value 5 is nan; calibration data must be finite")
    }

    func testEmptyAndOversizedFoldersAreRefused() throws {
        XCTAssertEqual(DeploymentTestSupport.errorText {
            _ = try CalibrationData.load(.rawTensors(directory: scratch, dataType: .float32), inputShape: shape, preprocessing: pixels)
        }, "\(scratch): the calibration folder holds no files")
        for i in 0..<3 { try write("\(i).f32", littleEndianBytes([Float](repeating: 1, count: 24))) }
        let text = DeploymentTestSupport.errorText {
            _ = try CalibrationData.load(.rawTensors(directory: scratch, dataType: .float32), inputShape: shape, preprocessing: pixels, maxSamples: 2)
        }
        XCTAssertTrue(text.contains("holds 3 files, more than the 2"), text)
    }

    func testImageFoldersAreDetectedAndNeedALoader() throws {
        try write("cat/1.JPG", Data([0xFF, 0xD8]))
        try write("dog/2.png", Data([0x89]))
        let yaml = "model_parameters: {onnx_model: m.onnx}\ncalibration_parameters: {cal_data_dir: '.'}\n"
        let config = try CompileConfig.parse(yaml: yaml, path: scratch + "/c.yaml")
        let source = try CalibrationSource.detect(config)
        XCTAssertEqual(source, .images(directory: scratch))
        let text = DeploymentTestSupport.errorText { _ = try CalibrationData.load(source, inputShape: shape, preprocessing: pixels) }
        XCTAssertTrue(text.contains("calibration from image files is not supported in this build yet"), text)
        // With a loader (the image helper's decoder), every image becomes one tensor.
        let set = try CalibrationData.load(source, inputShape: shape, preprocessing: pixels, imageLoader: { path, shape, _ in
            Tensor(shape: shape, data: [Float](repeating: path.hasSuffix("png") ? 2 : 1, count: shape.reduce(1, *)))
        })
        XCTAssertEqual(set.tensors.map { $0.data[0] }, [1, 2])
        // Mixed folders are refused, naming an image.
        try write("x.f32", Data(count: 96))
        let mixed = DeploymentTestSupport.errorText { _ = try CalibrationSource.detect(config) }
        XCTAssertTrue(mixed.hasPrefix("\(scratch)/cat/1.JPG: calibration folder"), mixed)
    }

    func testRandomSamplesForSkip() throws {
        let set = try CalibrationData.load(.random(count: 3, seed: 5), inputShape: shape, preprocessing: pixels)
        XCTAssertEqual(set.tensors.count, 3)
        XCTAssertNotEqual(set.tensors[0].data, set.tensors[1].data)
        // Pixels 0...255 normalised: channel 0 lies in (0 - 10) * 0.5 ... (255 - 10) * 0.5.
        XCTAssertTrue(set.tensors[0].data[0..<8].allSatisfy { $0 >= -5 && $0 <= 122.5 })
        XCTAssertEqual(try CalibrationData.load(.random(count: 3, seed: 5), inputShape: shape, preprocessing: pixels).tensors, set.tensors)
    }
}
