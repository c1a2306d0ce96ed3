import XCTest
import PersonalizerModel

final class FeaturesTests: XCTestCase {
    func testBuildsSpansWithKeysAndHashes() {
        var f = HashedFeatures()
        f.beginNamespace(name: "user")
        f.addText(name: "segment", value: "s1")
        f.addNumber(name: "age", value: 31)
        f.beginNamespace(name: "used") // same first byte: a separate span with the same key
        f.addText(name: "x", value: "y")
        XCTAssertEqual(f.count, 3)
        XCTAssertEqual(f.spans.map(\.interactionKey), [UInt8(ascii: "u"), UInt8(ascii: "u")])
        XCTAssertEqual(f.spans.map(\.start), [0, 2])
        XCTAssertEqual(f.spans.map(\.count), [2, 1])
        let user = FeatureHashing.namespaceHash("user")
        XCTAssertEqual(f.spans[0].namespaceHash, user)
        XCTAssertEqual(f.indices[0], FeatureHashing.textFeatureHash(name: "segment", value: "s1", namespaceHash: user))
        XCTAssertEqual(f.indices[1], FeatureHashing.numberFeatureHash(name: "age", namespaceHash: user))
        XCTAssertEqual(f.values, [1, 31, 1])
        XCTAssertEqual(f.indices[2], FeatureHashing.textFeatureHash(
            name: "x", value: "y", namespaceHash: FeatureHashing.namespaceHash("used")))
    }

    func testZeroNumbersAreDropped() {
        var f = HashedFeatures()
        f.beginNamespace(name: "n")
        f.addNumber(name: "zero", value: 0)
        f.addNumber(name: "negative zero", value: -0.0)
        f.addNumber(name: "tiny", value: 1e-300) // zero in single precision
        f.addNumber(name: "one", value: -1)
        XCTAssertEqual(f.values, [-1])
        XCTAssertEqual(f.spans[0].count, 1)
    }

    func testDefaultNamespace() {
        var f = HashedFeatures()
        f.addText(name: "a", value: "b") // no namespace begun: VW's default namespace ' '
        f.beginNamespace(name: "")
        f.addText(name: "a", value: "b")
        XCTAssertEqual(f.spans.map(\.interactionKey), [0x20, 0x20])
        XCTAssertEqual(f.spans.map(\.namespaceHash), [0, 0])
        XCTAssertEqual(f.indices[0], f.indices[1])
    }

    func testBytesAndStringOverloadsAgree() {
        var a = HashedFeatures()
        a.beginNamespace(name: "ctx")
        a.addText(name: "k", value: "v")
        a.addNumber(name: "n", value: 2.5)
        var b = HashedFeatures()
        Array("ctx".utf8).withUnsafeBytes { b.beginNamespace(name: $0) }
        Array("k".utf8).withUnsafeBytes { k in Array("v".utf8).withUnsafeBytes { v in b.addText(name: k, value: v) } }
        Array("n".utf8).withUnsafeBytes { b.addNumber(name: $0, value: 2.5) }
        XCTAssertEqual(a, b)
    }

    func testRemoveAllKeepsCapacityAndResets() {
        var f = HashedFeatures()
        f.beginNamespace(name: "a")
        for i in 0..<100 { f.addNumber(name: "f\(i)", value: Double(i + 1)) }
        let capacity = f.capacity
        XCTAssertGreaterThanOrEqual(capacity, 100)
        f.removeAll(keepingCapacity: true)
        XCTAssertTrue(f.isEmpty)
        XCTAssertTrue(f.spans.isEmpty)
        XCTAssertEqual(f.capacity, capacity)
        XCTAssertEqual(f, HashedFeatures())
    }

    func testCopiesAreIndependent() {
        var a = features([("u", [("x", "1"), ("y", 2.0)])])
        let b = a
        a.addNumber(name: "z", value: 3)
        a.beginNamespace(name: "v")
        XCTAssertEqual(b.count, 2)
        XCTAssertEqual(b.spans.count, 1)
        XCTAssertEqual(a.count, 3)
        XCTAssertEqual(a.spans.count, 2)
        var c = b
        c.removeAll()
        XCTAssertEqual(b.count, 2, "emptying a copy leaves the original")
        XCTAssertEqual(b, features([("u", [("x", "1"), ("y", 2.0)])]))
    }
}
