import Foundation

/// A minimal PNG reader for test fixtures only (8-bit gray/RGB/RGBA, not interlaced), with its own
/// inflate. The library's image decoding lives elsewhere; this keeps the quantisation tests
/// independent of it.
enum TestPNGDecoder {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Decodes to RGB bytes, row-major HWC.
    static func decodeRGB(_ data: [UInt8]) throws -> (width: Int, height: Int, rgb: [UInt8]) {
        let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]
        guard data.count > 8, Array(data[0..<8]) == signature else { throw Failure(description: "not a PNG") }
        var pos = 8
        var width = 0, height = 0, colorType = 0
        var idat: [UInt8] = []
        func be32(_ p: Int) -> Int { Int(data[p]) << 24 | Int(data[p + 1]) << 16 | Int(data[p + 2]) << 8 | Int(data[p + 3]) }
        while pos + 8 <= data.count {
            let length = be32(pos)
            let type = String(decoding: data[(pos + 4)..<(pos + 8)], as: UTF8.self)
            let body = pos + 8
            guard body + length + 4 <= data.count else { throw Failure(description: "truncated chunk") }
            if type == "IHDR" {
                width = be32(body)
                height = be32(body + 4)
                guard data[body + 8] == 8, data[body + 12] == 0 else { throw Failure(description: "only 8-bit non-interlaced") }
                colorType = Int(data[body + 9])
            } else if type == "IDAT" {
                idat.append(contentsOf: data[body..<(body + length)])
            } else if type == "IEND" {
                break
            }
            pos = body + length + 4
        }
        let channels: Int
        switch colorType {
        case 0: channels = 1
        case 2: channels = 3
        case 6: channels = 4
        default: throw Failure(description: "colour type \(colorType) unsupported")
        }
        guard idat.count > 2 else { throw Failure(description: "no image data") }
        var inflater = Inflater(Array(idat[2...]))
        let raw = try inflater.inflate()
        let stride = width * channels
        guard raw.count >= height * (stride + 1) else { throw Failure(description: "image data too short") }
        var pixels = [UInt8](repeating: 0, count: height * stride)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            for x in 0..<stride {
                let value = Int(raw[y * (stride + 1) + 1 + x])
                let a = x >= channels ? Int(pixels[y * stride + x - channels]) : 0
                let b = y > 0 ? Int(pixels[(y - 1) * stride + x]) : 0
                let c = (x >= channels && y > 0) ? Int(pixels[(y - 1) * stride + x - channels]) : 0
                var predictor = 0
                switch filter {
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                default: predictor = 0
                }
                pixels[y * stride + x] = UInt8((value + predictor) & 255)
            }
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for p in 0..<(width * height) {
            for ch in 0..<3 { rgb[p * 3 + ch] = pixels[p * channels + (channels == 1 ? 0 : ch)] }
        }
        return (width, height, rgb)
    }

    /// DEFLATE (RFC 1951) decoder: stored, fixed and dynamic Huffman blocks.
    struct Inflater {
        let input: [UInt8]
        var pos = 0
        var bitBuffer = 0
        var bitCount = 0
        var output: [UInt8] = []

        init(_ input: [UInt8]) { self.input = input }

        mutating func bits(_ n: Int) throws -> Int {
            while bitCount < n {
                guard pos < input.count else { throw Failure(description: "deflate stream ends early") }
                bitBuffer |= Int(input[pos]) << bitCount
                pos += 1
                bitCount += 8
            }
            let v = bitBuffer & ((1 << n) - 1)
            bitBuffer >>= n
            bitCount -= n
            return v
        }

        /// Canonical Huffman code: count of codes per length and symbols in code order.
        struct Huffman {
            var counts = [Int](repeating: 0, count: 16)
            var symbols: [Int] = []
            init(lengths: [Int]) {
                for l in lengths { counts[l] += 1 }
                counts[0] = 0
                var offsets = [Int](repeating: 0, count: 16)
                for l in 1..<16 { offsets[l] = offsets[l - 1] + counts[l - 1] }
                symbols = [Int](repeating: 0, count: lengths.count)
                for (s, l) in lengths.enumerated() where l > 0 {
                    symbols[offsets[l]] = s
                    offsets[l] += 1
                }
            }
        }

        mutating func decode(_ h: Huffman) throws -> Int {
            var code = 0, first = 0, index = 0
            for length in 1..<16 {
                code |= try bits(1)
                let count = h.counts[length]
                if code - first < count { return h.symbols[index + code - first] }
                index += count
                first = (first + count) << 1
                code <<= 1
            }
            throw Failure(description: "bad Huffman code")
        }

        static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
        static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
        static let distBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                               2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
        static let distExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

        mutating func inflate() throws -> [UInt8] {
            var last = 0
            repeat {
                last = try bits(1)
                let type = try bits(2)
                switch type {
                case 0:
                    bitBuffer = 0
                    bitCount = 0
                    guard pos + 4 <= input.count else { throw Failure(description: "stored block truncated") }
                    let len = Int(input[pos]) | Int(input[pos + 1]) << 8
                    pos += 4
                    guard pos + len <= input.count else { throw Failure(description: "stored block truncated") }
                    output.append(contentsOf: input[pos..<(pos + len)])
                    pos += len
                case 1:
                    let lit = Huffman(lengths: [Int](repeating: 8, count: 144) + [Int](repeating: 9, count: 112)
                                      + [Int](repeating: 7, count: 24) + [Int](repeating: 8, count: 8))
                    try codes(lit, Huffman(lengths: [Int](repeating: 5, count: 30)))
                case 2:
                    let nlen = try bits(5) + 257, ndist = try bits(5) + 1, ncode = try bits(4) + 4
                    let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
                    var codeLengths = [Int](repeating: 0, count: 19)
                    for i in 0..<ncode { codeLengths[order[i]] = try bits(3) }
                    let lencode = Huffman(lengths: codeLengths)
                    var lengths: [Int] = []
                    while lengths.count < nlen + ndist {
                        let sym = try decode(lencode)
                        if sym < 16 {
                            lengths.append(sym)
                        } else if sym == 16 {
                            guard let prev = lengths.last else { throw Failure(description: "repeat with no length") }
                            lengths += [Int](repeating: prev, count: 3 + (try bits(2)))
                        } else if sym == 17 {
                            lengths += [Int](repeating: 0, count: 3 + (try bits(3)))
                        } else {
                            lengths += [Int](repeating: 0, count: 11 + (try bits(7)))
                        }
                    }
                    try codes(Huffman(lengths: Array(lengths[0..<nlen])), Huffman(lengths: Array(lengths[nlen..<(nlen + ndist)])))
                default:
                    throw Failure(description: "bad block type")
                }
            } while last == 0
            return output
        }

        mutating func codes(_ lit: Huffman, _ dist: Huffman) throws {
            while true {
                let sym = try decode(lit)
                if sym < 256 {
                    output.append(UInt8(sym))
                } else if sym == 256 {
                    return
                } else {
                    let li = sym - 257
                    guard li < 29 else { throw Failure(description: "bad length symbol") }
                    let length = Self.lengthBase[li] + (try bits(Self.lengthExtra[li]))
                    let di = try decode(dist)
                    guard di < 30 else { throw Failure(description: "bad distance symbol") }
                    let distance = Self.distBase[di] + (try bits(Self.distExtra[di]))
                    guard distance <= output.count else { throw Failure(description: "distance too far") }
                    let start = output.count - distance
                    for i in 0..<length { output.append(output[start + i]) }
                }
            }
        }
    }
}
