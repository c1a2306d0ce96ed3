/// Protobuf wire bytes written by hand, including encodings a normal writer never produces
/// (non-minimal varints, odd wire types), for the reader's edge cases.
enum WireBytes {
    enum WireType {
        static let varint: UInt8 = 0, fixed64: UInt8 = 1, lengthDelimited: UInt8 = 2
        static let startGroup: UInt8 = 3, endGroup: UInt8 = 4, fixed32: UInt8 = 5
    }

    /// `value` as a base-128 varint of at least `minBytes` bytes (padded with 0x80 groups).
    static func varint(_ value: UInt64, minBytes: Int = 1) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = value
        repeat {
            bytes.append(UInt8(truncatingIfNeeded: rest & 0x7F) | 0x80)
            rest >>= 7
        } while rest != 0 || bytes.count < minBytes
        bytes[bytes.count - 1] &= 0x7F
        return bytes
    }

    static func tag(_ field: UInt32, _ wireType: UInt8, minBytes: Int = 1) -> [UInt8] {
        varint(UInt64(field) << 3 | UInt64(wireType), minBytes: minBytes)
    }

    static func varintField(_ field: UInt32, _ value: UInt64, minBytes: Int = 1) -> [UInt8] {
        tag(field, WireType.varint) + varint(value, minBytes: minBytes)
    }

    static func fixed64Field(_ field: UInt32, _ bits: UInt64) -> [UInt8] {
        tag(field, WireType.fixed64) + withUnsafeBytes(of: bits.littleEndian) { Array($0) }
    }

    static func doubleField(_ field: UInt32, _ value: Double) -> [UInt8] { fixed64Field(field, value.bitPattern) }

    static func fixed32Field(_ field: UInt32, _ bits: UInt32) -> [UInt8] {
        tag(field, WireType.fixed32) + withUnsafeBytes(of: bits.littleEndian) { Array($0) }
    }

    static func field(_ field: UInt32, _ payload: [UInt8], lengthBytes: Int = 1, tagBytes: Int = 1) -> [UInt8] {
        tag(field, WireType.lengthDelimited, minBytes: tagBytes) + varint(UInt64(payload.count), minBytes: lengthBytes) + payload
    }

    static func field(_ field: UInt32, _ text: String) -> [UInt8] { self.field(field, Array(text.utf8)) }

    // Messages of personalizer.v1, field by field.

    static func request(id: UInt64 = 0, loop: String = "", _ rest: [UInt8]) -> [UInt8] {
        (id == 0 ? [] : varintField(1, id)) + (loop.isEmpty ? [] : field(2, loop)) + rest
    }

    static func rank(_ body: [UInt8]) -> [UInt8] { field(10, body) }

    static func textFeature(_ name: String, _ text: String) -> [UInt8] { field(1, name) + field(2, text) }

    static func numberFeature(_ name: String, _ number: Double) -> [UInt8] { field(1, name) + doubleField(3, number) }

    static func namespace(_ name: String, _ features: [[UInt8]]) -> [UInt8] {
        field(1, name) + features.flatMap { field(2, $0) }
    }

    static func action(_ id: String, _ namespaces: [[UInt8]] = []) -> [UInt8] {
        field(1, id) + namespaces.flatMap { field(2, $0) }
    }
}
