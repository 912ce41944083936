import ArgumentParser
import ConvNeXtKit
import Foundation

/// Parsing and range checks for the numeric and list flags of every subcommand, in one place.
///
/// Every failure is an ArgumentParser `ValidationError`: exit 64, the message and the usage, the
/// same for every flag. Problems found while working (files, models, downloads) stay one `error:`
/// line and exit 1. Commands call these from `validate()` and may parse the same text again in
/// `run()` with the same functions, which then cannot fail.
enum OptionValidation {
    /// Thread counts of one inference.
    static let threads = 1...FastEngine.maxThreads
    /// Concurrent workers (each runs its own inferences); more than this only thrashes.
    static let workers = 1...1024
    /// Timed runs of a benchmark.
    static let runs = 1...10_000_000
    /// Untimed runs before timing.
    static let warmup = 0...1_000_000
    /// Images evaluated (`--limit`).
    static let limit = 1...Int(Int32.max)
    /// Classes printed per image.
    static let top = 1...100_000
    /// Side of the model input, as `PreprocessOptions` allows.
    static let side = 1...4096

    /// Refuses a model input size (`--size` of `infer`/`info`) that is not a multiple of 32 in 32...8192,
    /// the sizes `ModelLoader` builds a ConvNeXt for.
    static func modelSize(_ value: Int?, _ flag: String) throws {
        guard let value else { return }
        guard (32...8192).contains(value), value % 32 == 0 else {
            throw ValidationError("\(flag) must be a multiple of 32 from 32 to 8192, got \(value)")
        }
    }

    /// Refuses an integer flag outside `range`.
    static func check(_ value: Int?, _ flag: String, in range: ClosedRange<Int>) throws {
        guard let value else { return }
        guard range.contains(value) else { throw outside(flag, "\(value)", range) }
    }

    /// Refuses a non-finite number, or one outside `range` (or at its lower end when `lowerOpen`).
    static func check(_ value: Double?, _ flag: String, in range: ClosedRange<Double>, lowerOpen: Bool = false) throws {
        guard let value else { return }
        let low = lowerOpen ? "above \(format(range.lowerBound))" : "from \(format(range.lowerBound))"
        guard value.isFinite, range.contains(value), !(lowerOpen && value == range.lowerBound) else {
            throw ValidationError("\(flag) expects a number \(low) to \(format(range.upperBound)), got \(value)")
        }
    }

    /// Parses `1,2,4`: counts in `range`, no empty items, no repeats (each names one configuration).
    static func counts(_ list: String, _ flag: String, in range: ClosedRange<Int>) throws -> [Int] {
        let items = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let expected = "comma-separated counts from \(range.lowerBound) to \(range.upperBound)"
        var values: [Int] = []
        for item in items {
            guard !item.isEmpty else { throw ValidationError("\(flag) expects \(expected), got '\(list)' (an empty item)") }
            guard let value = Int(item), range.contains(value) else {
                throw ValidationError("\(flag) expects \(expected), got '\(item)' in '\(list)'")
            }
            guard !values.contains(value) else { throw ValidationError("\(flag) lists \(value) twice in '\(list)'") }
            values.append(value)
        }
        return values
    }

    /// Parses seconds above 0 and at most a day (`--duration`).
    static func seconds(_ text: String, _ flag: String) throws -> Double {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, value > 0, value <= 86_400 else {
            throw ValidationError("\(flag) expects seconds above 0 and at most 86400, got '\(text)'")
        }
        return value
    }

    /// Parses `a,b,c` or one value for all three channels: finite, and positive when `positive`.
    static func channels(_ text: String, _ flag: String, positive: Bool) throws -> [Float] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
        let values = items.compactMap { $0 }
        guard values.count == items.count, values.count == 1 || values.count == 3 else {
            throw ValidationError("\(flag) '\(text)' must be 1 or 3 comma-separated numbers")
        }
        guard values.allSatisfy({ $0.isFinite && (!positive || $0 > 0) }) else {
            throw ValidationError("\(flag) '\(text)' must be \(positive ? "positive" : "finite") numbers")
        }
        return values.count == 1 ? [values[0], values[0], values[0]] : values
    }

    /// Parses an NV12 frame size `WIDTHxHEIGHT` (even sides within the decoder's limits).
    static func frameSize(_ text: String, _ flag: String) throws -> (width: Int, height: Int) {
        try asValidationError(flag) { try NV12Frame.parseSize(text) }
    }

    /// Checks the form of `--shard I/N` or `/N`. For `/N` the index comes from `$JOB_COMPLETION_INDEX`
    /// when the command runs: a missing or bad variable is an environment problem (exit 1), not an argument one.
    static func shard(_ text: String) throws {
        _ = try asValidationError("--shard") { try EvalShard.parse(text, environment: ["JOB_COMPLETION_INDEX": "0"]) }
    }

    /// Refuses an output name without one of `suffixes` (the suffix picks the file format).
    static func suffix(_ path: String?, _ flag: String, _ suffixes: [String]) throws {
        guard let path else { return }
        guard suffixes.contains(where: { path.lowercased().hasSuffix($0) }) else {
            throw ValidationError("\(flag) \(path): the name must end in \(suffixes.joined(separator: " or "))")
        }
    }

    /// Refuses a value that is not one of `choices`.
    static func choice(_ value: String?, _ flag: String, _ choices: [String]) throws {
        guard let value else { return }
        guard choices.contains(value) else {
            throw ValidationError("\(flag) expects \(choices.joined(separator: " or ")), got '\(value)'")
        }
    }

    /// Runs a library parser, turning its one-line error into a `ValidationError`.
    private static func asValidationError<T>(_ flag: String, _ parse: () throws -> T) throws -> T {
        do {
            return try parse()
        } catch let error as ConvNeXtError {
            let message = error.description
            throw ValidationError(message.contains(flag) ? message : "\(flag): \(message)")
        }
    }

    private static func outside(_ flag: String, _ value: String, _ range: ClosedRange<Int>) -> ValidationError {
        ValidationError(range.upperBound == Int(Int32.max) || range.upperBound == Int.max
            ? "\(flag) must be at least \(range.lowerBound), got \(value)"
            : "\(flag) must be from \(range.lowerBound) to \(range.upperBound), got \(value)")
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// `--concurrency` for `eval` and `table`, as `bench` names it; `--workers` stays as a hidden alias.
struct ConcurrencyOptions: ParsableArguments {
    @Option(name: .customLong("concurrency"), help: "Concurrent workers (default: all cores).")
    var concurrency: Int?

    @Option(name: .customLong("workers"), help: .private)
    var workersAlias: Int?

    /// The worker count asked for, else one per core.
    var count: Int { concurrency ?? workersAlias ?? ProcessInfo.processInfo.activeProcessorCount }

    func validate() throws {
        if concurrency != nil, workersAlias != nil {
            throw ValidationError("give --concurrency or its old name --workers, not both")
        }
        try OptionValidation.check(concurrency, "--concurrency", in: OptionValidation.workers)
        try OptionValidation.check(workersAlias, "--workers", in: OptionValidation.workers)
    }
}
