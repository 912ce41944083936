import ConvNeXtKit
import Foundation
import XCTest

final class LabelsTests: XCTestCase {
    func testBuiltInImageNetMatchesTheTSV() throws {
        let set = LabelSet.imagenet1k
        XCTAssertEqual(set.count, 1000)
        let tsv = try String(contentsOfFile: ImageTestFixtures.repo("imagenet1k_labels.tsv"), encoding: .utf8)
        let fromFile = try LabelSet.parse(tsv, path: "imagenet1k_labels.tsv")
        XCTAssertEqual(set, fromFile)
        XCTAssertEqual(set.names[0], "tench, Tinca tinca")
        XCTAssertEqual(set.ids[0], "n01440764")
        XCTAssertEqual(set.names[281], "tabby, tabby cat")
        XCTAssertEqual(set.shortName(281), "tabby")
        XCTAssertEqual(set.names[999], "toilet tissue, toilet paper, bathroom tissue")
    }

    func testReadsOneNamePerLine() throws {
        let set = try LabelSet.parse("zero\none\r\ntwo, deux\n\n", path: "l.txt")
        XCTAssertEqual(set.names, ["zero", "one", "two, deux"])
        XCTAssertEqual(set.ids, ["", "", ""])
    }

    func testReadsIndexIdNameInAnyOrder() throws {
        let set = try LabelSet.parse("1\tb\tbee\n0\ta\tant\n2\tc\tcat\n", path: "l.tsv")
        XCTAssertEqual(set.names, ["ant", "bee", "cat"])
        XCTAssertEqual(set.ids, ["a", "b", "c"])
    }

    func testBadLabelFilesAreErrors() {
        for (text, word) in [("", "no labels"), ("0\ta\tant\n0\tb\tbee\n", "twice"), ("0\ta\tant\n5\tb\tbee\n", "outside"),
                             ("a\n\nb\n", "empty")] {
            XCTAssertThrowsError(try LabelSet.parse(text, path: "bad.txt")) { error in
                let d = (error as? ConvNeXtError)?.description ?? ""
                XCTAssertTrue(d.hasPrefix("bad.txt:") && d.contains(word), d)
            }
        }
        XCTAssertThrowsError(try LabelSet.read(path: "/nonexistent/labels.txt"))
    }

    func testSoftmaxIsStableAndSumsToOne() {
        let p = Classification.softmax([1000, 1001, 999, -1e30])
        XCTAssertTrue(p.allSatisfy(\.isFinite))
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(p[1] / p[0], Float(M_E), accuracy: 1e-4)
        XCTAssertEqual(p[3], 0)
        let uniform = Classification.softmax([Float](repeating: 3, count: 4))
        XCTAssertEqual(uniform, [0.25, 0.25, 0.25, 0.25])
        XCTAssertTrue(Classification.softmax([1, .nan]).allSatisfy(\.isNaN))
    }

    func testTopKIsHighestFirstWithTiesByIndex() {
        let top = Classification.topK([0.1, 0.4, 0.2, 0.4, 0.3], k: 3)
        XCTAssertEqual(top.map(\.index), [1, 3, 4])
        XCTAssertEqual(top.map(\.probability), [0.4, 0.4, 0.3])
        XCTAssertEqual(Classification.topK([0.5, 0.5], k: 10).count, 2)
        XCTAssertEqual(Classification.topK([.nan, 0.1], k: 2).map(\.index), [1, 0])
    }
}
