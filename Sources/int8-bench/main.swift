// Benchmark of the int8 engine: median latency of one inference (batch 1) at 1 and 2 threads,
// and the float-mode engine for comparison. Release build only:
//   swift run -c release int8-bench [model.onnx | atto] [--runs N] [--engine int8|int16|float [--threads N]] [--portable]
import ConvNeXtKit
import Foundation

let args = CommandLine.arguments.dropFirst()
let modelArg = args.first { !$0.hasPrefix("--") } ?? "atto"
var runs = 50
var only = "all"
var onlyThreads = 1
if let i = args.firstIndex(of: "--threads"), args.index(after: i) < args.endIndex, let n = Int(args[args.index(after: i)]) { onlyThreads = n }
if let i = args.firstIndex(of: "--engine"), args.index(after: i) < args.endIndex { only = args[args.index(after: i)] }
if let i = args.firstIndex(of: "--runs"), args.index(after: i) < args.endIndex, let n = Int(args[args.index(after: i)]) { runs = n }

do {
    let model = try ModelLoader.load(path: modelArg, allowRandomVariants: true)
    var rng = SeededGenerator(seed: 1)
    let image = Tensor(shape: model.config.inputShape, data: (0..<model.config.inputCount).map { _ in rng.normal() })
    let ranges = Dictionary(uniqueKeysWithValues: QuantizedModel.points(of: model).map { p -> (QuantPoint, ActivationQuantization) in
        switch p {
        case .gelu: return (p, .range(lower: -0.17, upper: 4, precision: .int8, method: "skip"))
        default: return (p, .range(lower: -4, upper: 4, precision: .int8, method: "skip"))
        }
    })
    func median(_ engine: some InferenceEngine, threads: Int) -> (median: Double, min: Double) {
        var logits = [Float](repeating: 0, count: model.config.numClasses)
        var times: [Double] = []
        image.data.withUnsafeBufferPointer { inp in
            logits.withUnsafeMutableBufferPointer { out in
                for i in 0..<(runs + 5) {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    engine.infer(inp, logits: out, threads: threads)
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    if i >= 5 { times.append(Double(t1 - t0) / 1e6) }
                }
            }
        }
        times.sort()
        return (times[times.count / 2], times[0])
    }
    let choice: Int8KernelChoice = args.contains("--portable") ? .portable : .automatic
    let int8 = try Int8Engine(model: QuantizedModel(model: model, activations: ranges), kernels: choice)
    let int16 = try Int8Engine(model: QuantizedModel(model: model, activations: ranges.mapValues { $0.with(precision: .int16) }), kernels: choice)
    let float = try Int8Engine(model: QuantizedModel(floatModel: model))
    print("model \(model.source.path) (\(model.config.variantName)), \(runs) runs, kernels \(int8.kernelNames)")
    if only != "all" {
        let e = only == "int16" ? int16 : only == "float" ? float : int8
        let r = median(e, threads: onlyThreads)
        print(String(format: "%@ threads=%d median %.2f ms (min %.2f)", only, onlyThreads, r.median, r.min))
        exit(0)
    }
    for threads in [1, 2] {
        let a = median(int8, threads: threads), b = median(int16, threads: threads), c = median(float, threads: threads)
        print(String(format: "threads=%d  int8 median %.2f ms (min %.2f)  all-int16 median %.2f ms (min %.2f)  float-mode median %.2f ms (min %.2f)",
                     threads, a.median, a.min, b.median, b.min, c.median, c.min))
    }
} catch {
    FileHandle.standardError.write(Data("int8-bench: \(error)\n".utf8))
    exit(1)
}
