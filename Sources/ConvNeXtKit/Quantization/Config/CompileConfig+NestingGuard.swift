/// The bound on YAML nesting checked before composing: Yams' composer recurses once per level, so
/// deeply nested input would overflow the stack (found by libFuzzer; see docs/robustness.md).
extension CompileConfig {
    /// Deepest nesting accepted, as bounded by `nestingLimitExceeded` (configs use about 4 levels;
    /// the bound counts block indentation generously, so it needs the headroom).
    static let maxNestingDepth = 200

    /// The 1-based line where an upper bound on the YAML nesting depth first exceeds `limit`, or nil.
    ///
    /// The bound adds the open flow brackets (`[`, `{` outside quotes and comments) to twice the
    /// width of the line's block prefix (spaces and `-`, `?`, `:` indicators): each block level
    /// needs at least one more column than its parent, bar a sequence sharing its key's column.
    /// It over-counts, never under-counts, so the composer never meets deeper input.
    /// (Quote state resets at each line end: a quoted scalar spanning lines only makes it count more.)
    static func nestingLimitExceeded(_ yaml: String, limit: Int) -> Int? {
        var flowDepth = 0
        var line = 1
        var atLineStart = true
        var blockPrefix = 0
        var quote: UInt8? = nil
        var escaped = false
        var inComment = false
        var previous: UInt8 = 0x0A
        for byte in yaml.utf8 {
            if byte == 0x0A || byte == 0x0D {
                if byte == 0x0D || previous != 0x0D { line += 1 }
                atLineStart = true
                blockPrefix = 0
                quote = nil
                escaped = false
                inComment = false
                previous = byte
                continue
            }
            if atLineStart {
                if byte == 0x20 || byte == 0x2D || byte == 0x3F || byte == 0x3A || byte == 0x09 {
                    blockPrefix += 1
                } else {
                    atLineStart = false
                }
            }
            if inComment {
                previous = byte
                continue
            }
            if let open = quote {
                if escaped {
                    escaped = false
                } else if open == 0x22, byte == 0x5C {
                    escaped = true
                } else if byte == open {
                    quote = nil
                }
            } else {
                switch byte {
                // A quote opens a quoted scalar only where a scalar can start (`don't` is plain text).
                case 0x22 where scalarCanStart(after: previous), 0x27 where scalarCanStart(after: previous):
                    quote = byte
                case 0x23 where previous == 0x20 || previous == 0x09 || previous == 0x0A || previous == 0x0D: inComment = true
                case 0x5B, 0x7B: flowDepth += 1
                case 0x5D, 0x7D: flowDepth = max(0, flowDepth - 1)
                default: break
                }
            }
            if flowDepth + 2 * (blockPrefix + 2) > limit { return line }
            previous = byte
        }
        return nil
    }

    /// Whether a quoted scalar can open after `byte` (line start, blank, flow or block indicator).
    private static func scalarCanStart(after byte: UInt8) -> Bool {
        [0x20, 0x09, 0x0A, 0x0D, 0x5B, 0x7B, 0x2C, 0x3A, 0x2D, 0x3F].contains(byte)
    }
}
