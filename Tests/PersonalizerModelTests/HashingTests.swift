import XCTest
import PersonalizerModel

final class HashingTests: XCTestCase {
    private func murmur(_ bytes: [UInt8], _ seed: UInt32) -> UInt32 {
        bytes.withUnsafeBytes { Murmur3Hasher.hash($0, seed: seed) }
    }

    private func murmur(_ text: String, _ seed: UInt32) -> UInt32 { murmur(Array(text.utf8), seed) }

    func testMurmur3KnownVectors() {
        // Published MurmurHash3_x86_32 test vectors.
        XCTAssertEqual(murmur("", 0), 0)
        XCTAssertEqual(murmur("", 1), 0x514E_28B7)
        XCTAssertEqual(murmur("", 0xFFFF_FFFF), 0x81F1_6F39)
        XCTAssertEqual(murmur([0xFF, 0xFF, 0xFF, 0xFF], 0), 0x7629_3B50)
        XCTAssertEqual(murmur([0x21, 0x43, 0x65, 0x87], 0), 0xF55B_516B)
        XCTAssertEqual(murmur([0x21, 0x43, 0x65, 0x87], 0x5082_EDEE), 0x2362_F9DE)
        XCTAssertEqual(murmur([0x21, 0x43, 0x65], 0), 0x7E4A_8634)
        XCTAssertEqual(murmur([0x21, 0x43], 0), 0xA0F7_B07A)
        XCTAssertEqual(murmur([0x21], 0), 0x7266_1CF4)
        XCTAssertEqual(murmur([0, 0, 0, 0], 0), 0x2362_F9DE)
        XCTAssertEqual(murmur([0, 0, 0], 0), 0x85F0_B427)
        XCTAssertEqual(murmur([0, 0], 0), 0x30F4_C306)
        XCTAssertEqual(murmur([0], 0), 0x514E_28B7)
        XCTAssertEqual(murmur("hello", 0), 0x248B_FA47)
        XCTAssertEqual(murmur("Hello, world!", 1234), 0xFAF6_CDB3)
        XCTAssertEqual(murmur("The quick brown fox jumps over the lazy dog", 0x9747_B28C), 0x2FA8_26CD)
    }

    func testStreamingEqualsOneShotAtEverySplit() {
        let text = Array("name_of_feature=some value with spaces".utf8)
        let whole = murmur(text, 77)
        for a in 0...text.count {
            for b in a...text.count {
                var hasher = Murmur3Hasher(seed: 77)
                text.withUnsafeBytes { all in
                    hasher.combine(UnsafeRawBufferPointer(rebasing: all[0..<a]))
                    hasher.combine(UnsafeRawBufferPointer(rebasing: all[a..<b]))
                    hasher.combine(UnsafeRawBufferPointer(rebasing: all[b...]))
                }
                XCTAssertEqual(hasher.finalize(), whole, "split at \(a), \(b)")
            }
        }
    }

    func testTextFeatureHashEqualsHashOfConcatenation() {
        let ns = FeatureHashing.namespaceHash("user")
        for (name, value) in [("segment", "s1"), ("a", ""), ("", "b"), ("long_feature_name", "value_1234567"),
                              ("x", "yz"), ("abc", "d")] {
            XCTAssertEqual(FeatureHashing.textFeatureHash(name: name, value: value, namespaceHash: ns),
                           murmur("\(name)=\(value)", ns), "\(name)=\(value)")
        }
        // Every split of lengths on both sides of the joined-copy limit, with the trimmed
        // whitespace (leading in the name, trailing in the value).
        for nameLength in [0, 1, 3, 4, 5, 60, 126, 127, 128, 130] {
            for valueLength in [0, 1, 2, 3, 4, 7, 64, 126, 127, 200] {
                let name = String((0..<nameLength).map { Character(UnicodeScalar(97 + $0 % 26)!) })
                let value = String((0..<valueLength).map { Character(UnicodeScalar(65 + $0 % 26)!) })
                XCTAssertEqual(FeatureHashing.textFeatureHash(name: " \t" + name, value: value + " ", namespaceHash: ns),
                               murmur("\(name)=\(value)", ns), "\(nameLength)=\(valueLength)")
            }
        }
        // The raw-bytes and String overloads agree.
        let viaBytes = Array("segment".utf8).withUnsafeBytes { n in
            Array("s1".utf8).withUnsafeBytes { v in FeatureHashing.textFeatureHash(name: n, value: v, namespaceHash: ns) }
        }
        XCTAssertEqual(viaBytes, FeatureHashing.textFeatureHash(name: "segment", value: "s1", namespaceHash: ns))
    }

    func testVowpalWabbitHashes() {
        // Values printed by vowpalwabbit 9.11.9 (hash_space / hash_feature, -b 18).
        XCTAssertEqual(FeatureHashing.namespaceHash("U"), 3_241_479_426)
        XCTAssertEqual(FeatureHashing.namespaceHash(" "), 0)
        XCTAssertEqual(FeatureHashing.namespaceHash(""), 0)
        XCTAssertEqual(FeatureHashing.namespaceHash("123"), 123)
        XCTAssertEqual(FeatureHashing.namespaceHash(" ab "), 2_613_040_991)
        XCTAssertEqual(FeatureHashing.namespaceHash("ab"), 2_613_040_991)
        let user = FeatureHashing.namespaceHash("user")
        let mask: UInt32 = (1 << 18) - 1
        XCTAssertEqual(FeatureHashing.textFeatureHash(name: "segment", value: "s1", namespaceHash: user) & mask, 152_897)
        XCTAssertEqual(FeatureHashing.numberFeatureHash(name: "age", namespaceHash: user) & mask, 23_567)
    }

    func testDigitRule() {
        // All-digit names hash to their value plus the seed, like VW's hashstring.
        XCTAssertEqual(FeatureHashing.numberFeatureHash(name: "42", namespaceHash: 1000), 1042)
        XCTAssertEqual(FeatureHashing.numberFeatureHash(name: " 7 ", namespaceHash: 5), 12)
        XCTAssertEqual(Array("".utf8).withUnsafeBytes { FeatureHashing.hashString($0, seed: 9) }, 9)
        XCTAssertNotEqual(FeatureHashing.numberFeatureHash(name: "4a", namespaceHash: 0), 4)
        XCTAssertEqual(FeatureHashing.numberFeatureHash(name: "4a", namespaceHash: 3), murmur("4a", 3))
    }

    func testInteractionHashesAndConstant() {
        XCTAssertEqual(FeatureHashing.quadraticHash(3, 5), (16_777_619 &* 3) ^ 5)
        XCTAssertEqual(FeatureHashing.cubicHash(3, 5, 7), (16_777_619 &* ((16_777_619 &* 3) ^ 5)) ^ 7)
        XCTAssertEqual(FeatureHashing.constantHash, 11_650_396)
        XCTAssertEqual(FeatureHashing.constantNamespaceKey, 128)
    }
}
