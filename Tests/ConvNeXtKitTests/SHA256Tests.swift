import ConvNeXtKit
import Foundation
import XCTest

/// SHA-256 against the FIPS 180-4 examples, padding edge cases (digests from Python's hashlib)
/// and files hashed by sha256sum.
final class SHA256Tests: XCTestCase {
    func testFIPSVectors() {
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Lengths around the 55/56/64-byte padding boundaries, fed whole and in odd chunks.
    func testPaddingBoundariesAndChunking() {
        let expected: [Int: String] = [
            55: "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b",
            56: "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27",
            63: "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055",
            64: "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241",
            65: "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e",
            119: "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e",
            120: "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5",
            127: "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07",
            128: "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6",
            1000: "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371",
        ]
        for (n, digest) in expected {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
            XCTAssertEqual(SHA256.hex(Data(bytes)), digest, "length \(n), whole")
            for chunk in [1, 3, 63, 64, 65] {
                var hasher = SHA256()
                var i = 0
                while i < n {
                    hasher.update(Array(bytes[i..<min(n, i + chunk)]))
                    i += chunk
                }
                XCTAssertEqual(hasher.hexDigest(), digest, "length \(n), chunks of \(chunk)")
                XCTAssertEqual(hasher.byteCount, UInt64(n))
            }
        }
    }

    /// Finalizing does not disturb the running hash.
    func testFinalizeIsNonDestructive() {
        var hasher = SHA256()
        hasher.update(Data("ab".utf8))
        _ = hasher.hexDigest()
        hasher.update(Data("c".utf8))
        XCTAssertEqual(hasher.hexDigest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// Files, streamed in chunks; digests by sha256sum.
    func testFileDigests() throws {
        XCTAssertEqual(try SHA256.hex(file: Fixtures.path("checkpoints/tiny_opset11.safetensors")),
                       "b8c41999b9f6e648c0f5e1c4c0d7d1ad5cd6f231c20df8736e233a6d6a4a353e")
        XCTAssertEqual(try SHA256.hex(file: Fixtures.path("checkpoints/tiny_opset11.pth")),
                       "2b1237003fc552d92693f8423711a0f93411e8df9607dbc6731ef6d8eda9a64c")
        XCTAssertThrowsError(try SHA256.hex(file: "/nonexistent/file")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/file"), "\(error)")
        }
    }

    /// The shared digits model against the digest the fixture manifest publishes.
    func testManifestDigest() throws {
        let path = try Fixtures.shared("digits/convnext_digits.onnx")
        XCTAssertEqual(try SHA256.hex(file: path), "accd61b0c9271b6893b61c6ba539a683a8aad326b10191e2431b39b3e50f569a")
    }

    /// The atto checkpoint spans many 1 MiB read chunks; digest by sha256sum.
    func testMultiChunkFile() throws {
        let path = try Fixtures.shared("checkpoints/convnext_atto.safetensors")
        XCTAssertEqual(try SHA256.hex(file: path), "018852a44133bb1a830054db9b56f09605443d4bc2c726d66610bbc8296bde2e")
    }

    func testPrefixMatching() {
        let digest = "01bb0f51aabbccdd00000000000000000000000000000000000000000000ffff"
        XCTAssertTrue(SHA256.matches(digest: digest, expected: "01bb0f51"))
        XCTAssertTrue(SHA256.matches(digest: digest, expected: "01BB0F51"))
        XCTAssertTrue(SHA256.matches(digest: digest, expected: digest))
        XCTAssertFalse(SHA256.matches(digest: digest, expected: "01bb0f52"))
        XCTAssertFalse(SHA256.matches(digest: digest, expected: ""))
        XCTAssertTrue(SHA256.isValidExpectation("01bb0f51"))
        XCTAssertFalse(SHA256.isValidExpectation("01bb0f5"))
        XCTAssertFalse(SHA256.isValidExpectation("01bb0f5g"))
        XCTAssertFalse(SHA256.isValidExpectation(String(repeating: "a", count: 65)))
    }
}
