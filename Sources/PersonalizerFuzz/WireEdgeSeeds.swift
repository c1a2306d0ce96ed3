import PersonalizerProtocol

/// Seed streams on the edges of protobuf-c's decoding rules, where a hand-written reader is most
/// likely to read a frame differently (`WireReaderDifferential` checks every frame): repeated
/// and switched oneof members, unknown fields of every wire type, non-minimal tags and lengths,
/// NULs in strings, a length prefix past 32 bits, field 0, and a bool in every wire type.
enum WireEdgeSeeds {
    static func streams() -> [(String, [UInt8])] {
        let action = field(2, field(1, "a") + field(2, namespace))
        let rank = field(10, action + field(4, "w1"))
        var streams: [(String, [UInt8])] = []
        streams.append(("wire-rank-twice", frame(field(10, field(1, namespace) + field(4, "w2")) + rank)))
        streams.append(("wire-oneof-switch", frame(rank + field(11, field(1, "w1") + double(2, 1)) + rank)
                        + frame(rank + field(13, []))))
        streams.append(("wire-feature-text-then-number", frame(field(10, action + field(1,
            field(1, "u") + field(2, field(1, "f") + field(2, "t") + double(3, 2) + field(2, "s")
                                  + double(3, 4)))))))
        let unknown = varint(99, 1) + tag(98, 1) + Array(repeating: 7, count: 8) + field(97, "x")
            + tag(96, 5) + [1, 0, 0, 0]
        streams.append(("wire-unknown-fields", frame(unknown + field(10, unknown + field(2, unknown
            + field(1, "a") + field(2, field(1, "n") + unknown + field(2, unknown + field(1, "f") + field(2, "t"))))))))
        streams.append(("wire-non-minimal", frame(
            tag(1, 0, bytes: 3) + padded(5, bytes: 10)
            + tag(10, 2, bytes: 5) + padded(UInt64(action.count), bytes: 5) + action)))
        streams.append(("wire-nul-strings", frame(field(2, "def\u{0}x") + field(10, field(2, field(1, "a\u{0}b")
            + field(2, field(1, "n\u{0}") + field(2, field(1, "\u{0}f") + field(2, "t\u{0}u"))))
            + field(4, "w\u{0}3")))))
        // A rank whose 5-byte length prefix is 2^32 + 2: too long, it does not wrap to 2.
        streams.append(("wire-length-past-32-bits", frame([0x52, 0x82, 0x80, 0x80, 0x80, 0x10] + field(2, [])) + frame(rank)))
        // Field 0: refused in a one-byte tag, an unknown field in a longer one.
        streams.append(("wire-field-zero", frame([0x80, 0x00, 0x01] + rank) + frame([0x00, 0x01] + rank)))
        // defer_activation in every wire type (protobuf-c reads a bool from whatever follows the tag).
        var deferred: [UInt8] = []
        let encodings: [[UInt8]] = [
            tag(5, 0) + [0x80, 0x00], tag(5, 0) + [0x80, 0x01], tag(5, 1) + [0x80, 0, 0, 0, 0, 0, 0, 0],
            tag(5, 1) + [0, 0, 0, 0, 0, 0, 0, 1], tag(5, 5) + [0, 0, 2, 0], field(5, []), field(5, [0]),
        ]
        for (index, encoding) in encodings.enumerated() {
            deferred += frame(varint(1, UInt64(index + 1)) + field(10, action + field(4, "d\(index)") + encoding))
        }
        streams.append(("wire-defer-wire-types", deferred))
        return streams
    }

    private static let namespace = field(1, "n") + field(2, field(1, "f") + double(3, 1))

    private static func frame(_ payload: [UInt8]) -> [UInt8] { MessageCodec.frame(payload) }

    private static func padded(_ value: UInt64, bytes count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = value
        for index in 0..<count {
            bytes.append(UInt8(rest & 0x7F) | (index == count - 1 ? 0 : 0x80))
            rest >>= 7
        }
        return bytes
    }

    private static func minimal(_ value: UInt64) -> [UInt8] {
        var count = 1
        while count < 10, value >> (7 * UInt64(count)) != 0 { count += 1 }
        return padded(value, bytes: count)
    }

    private static func tag(_ number: UInt64, _ wireType: UInt64, bytes count: Int = 1) -> [UInt8] {
        let key = number << 3 | wireType
        return count == 1 ? minimal(key) : padded(key, bytes: count)
    }

    private static func varint(_ number: UInt64, _ value: UInt64) -> [UInt8] { tag(number, 0) + minimal(value) }

    private static func double(_ number: UInt64, _ value: Double) -> [UInt8] {
        tag(number, 1) + withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
    }

    private static func field(_ number: UInt64, _ payload: [UInt8]) -> [UInt8] {
        tag(number, 2) + minimal(UInt64(payload.count)) + payload
    }

    private static func field(_ number: UInt64, _ text: String) -> [UInt8] { field(number, Array(text.utf8)) }
}
