import ArgumentParser
import ConvNeXtKit
import Foundation

/// What `classify -` reads from standard input besides raw NV12 frames.
enum StdinFormat: String, ExpressibleByArgument, CaseIterable {
    /// JPEG or PNG files back to back, each recognised by its signature.
    case image
    case jpeg
    case png

    /// The encoded formats accepted.
    var formats: Set<FrameStreamReader.ImageFormat> {
        switch self {
        case .image: return Set(FrameStreamReader.ImageFormat.allCases)
        case .jpeg: return [.jpeg]
        case .png: return [.png]
        }
    }
}

/// One line of `classify -` output: the frame's index and its classes, or why it failed.
struct StreamFrameResult: Encodable {
    var frame: Int
    var top: [ImageResult.Entry]?
    var times: ImageResult.Times?
    var error: String?

    enum CodingKeys: String, CodingKey {
        case frame, top, error
        case times = "times_ms"
    }
}

extension ClassifyCommand {
    /// Classifies every frame of `reader` until the stream ends, writing one JSON line per frame
    /// to stdout as soon as it is known. A frame that cannot be decoded gets an `error` line (and
    /// one on stderr) and the stream goes on; a stream that breaks mid-frame stops it.
    ///
    /// - Returns: the number of frames that failed (the stream's own break counts as one).
    func classifyStream(_ reader: FrameStreamReader, with classifier: ImageClassifier) throws -> Int {
        var reader = reader
        var failed = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func emit(_ line: StreamFrameResult) throws {
            var data = try encoder.encode(line)
            data.append(UInt8(ascii: "\n"))
            FileHandle.standardOutput.write(data)
        }
        while true {
            let index = reader.frameIndex
            let frame: FrameStreamReader.Frame
            do {
                guard let next = try reader.next() else { break }
                frame = next
            } catch let error as ConvNeXtError {
                printErrorLine(error.description)
                return failed + 1
            }
            do {
                let result: ClassificationResult
                switch frame {
                case .nv12(let nv12):
                    result = try classifier.classify(nv12: nv12, top: top, threads: threads)
                case .image(let data, let format):
                    result = try classifier.classify(imageData: data, top: top, threads: threads, name: "frame \(index) (\(format.rawValue))")
                }
                let entry = ImageResult(image: "frame \(index)", result: result)
                try emit(StreamFrameResult(frame: index, top: entry.top, times: entry.times))
            } catch let error as ConvNeXtError {
                failed += 1
                printErrorLine(error.description)
                try emit(StreamFrameResult(frame: index, error: error.description))
            }
        }
        return failed
    }
}
