#if canImport(Glibc)
import Glibc
#endif

/// Why a message's wire bytes do not parse.
struct WireError: Error {}

/// One field as it appears on the wire: its number, wire type and payload.
struct WireField {
    static let varint: UInt8 = 0
    static let fixed64: UInt8 = 1
    static let lengthDelimited: UInt8 = 2
    static let fixed32: UInt8 = 5

    var number: UInt32
    var wireType: UInt8
    /// The decoded varint (wire type 0), or the raw 8 bytes (wire type 1).
    var scalar: UInt64
    /// Wire type 2: the payload. Wire types 0, 1, 5: the value's own bytes.
    var payload: UnsafeRawBufferPointer
    /// Where the bytes after the tag start: the payload, or for wire type 2 its length prefix.
    var valueStart: UnsafeRawPointer
}

/// Walks the fields of one protobuf message without copying or allocating, with the framing
/// rules protobuf-c 1.4.1 applies (so that what this accepts, protobuf-c accepts): a tag of at
/// most 5 bytes; varints of at most 10 bytes; length prefixes of at most 5 bytes within the
/// message (read in 64 bits: a prefix of 2^32 or more is too long, it does not wrap); wire
/// types 0, 1, 2 and 5 only (groups are refused). A tag whose first byte is below 8 (field 0 in
/// one byte) is refused; a longer encoding of field 0 is an unknown field, as protobuf-c reads it.
struct WireScanner {
    private var position: UnsafeRawPointer
    private let end: UnsafeRawPointer

    init(_ bytes: UnsafeRawBufferPointer) {
        // An empty buffer may have no base address; any non-nil pointer walks zero bytes.
        let start = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        position = start
        end = start + bytes.count
    }

    /// The next field, or nil at the end of the message.
    @inline(__always)
    mutating func next() throws(WireError) -> WireField? {
        guard position < end else { return nil }
        guard position.load(as: UInt8.self) >= 8 else { throw WireError() }
        let key = try readVarint(maxBytes: 5)
        let wireType = UInt8(truncatingIfNeeded: key & 7)
        let number = UInt32(truncatingIfNeeded: key >> 3)
        let valueStart = position
        switch wireType {
        case WireField.varint:
            let value = try readVarint(maxBytes: 10)
            return WireField(number: number, wireType: wireType, scalar: value,
                             payload: UnsafeRawBufferPointer(start: valueStart, count: position - valueStart),
                             valueStart: valueStart)
        case WireField.fixed64:
            guard end - position >= 8 else { throw WireError() }
            let value = position.loadUnaligned(as: UInt64.self)
            let payload = UnsafeRawBufferPointer(start: position, count: 8)
            position += 8
            return WireField(number: number, wireType: wireType, scalar: UInt64(littleEndian: value), payload: payload,
                             valueStart: valueStart)
        case WireField.lengthDelimited:
            let length = try readVarint(maxBytes: 5)
            guard length <= UInt64(end - position) else { throw WireError() }
            let payload = UnsafeRawBufferPointer(start: position, count: Int(length))
            position += Int(length)
            return WireField(number: number, wireType: wireType, scalar: 0, payload: payload, valueStart: valueStart)
        case WireField.fixed32:
            guard end - position >= 4 else { throw WireError() }
            let payload = UnsafeRawBufferPointer(start: position, count: 4)
            position += 4
            return WireField(number: number, wireType: wireType, scalar: 0, payload: payload, valueStart: valueStart)
        default:
            throw WireError()
        }
    }

    /// A base-128 varint of at most `maxBytes` bytes; bits past 64 are dropped, as protobuf-c does.
    @inline(__always)
    private mutating func readVarint(maxBytes: Int) throws(WireError) -> UInt64 {
        // Tags and lengths of a Rank are nearly all one byte.
        if position < end {
            let first = position.load(as: UInt8.self)
            if first < 0x80 {
                position += 1
                return UInt64(first)
            }
        }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<maxBytes {
            guard position < end else { throw WireError() }
            let byte = position.load(as: UInt8.self)
            position += 1
            if shift < 64 { value |= UInt64(byte & 0x7F) << shift }
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw WireError()
    }
}

extension WireField {
    /// A string field's value as protobuf-c's C string shows it: the bytes before the first NUL.
    @inline(__always)
    var cStringBytes: UnsafeRawBufferPointer {
        guard let base = payload.baseAddress else { return payload }
        return UnsafeRawBufferPointer(start: base, count: Self.lengthBeforeNUL(base, payload.count))
    }

    /// Index of the first NUL in `count` bytes, or `count`. The strings of a request are short,
    /// so this is inline and reads 8 bytes a step (a call to memchr costs more than the scan):
    /// `(w - 0x01…01) & ~w & 0x80…80` is non-zero exactly when `w` has a zero byte, and its
    /// lowest set bit is in the first one.
    @inline(__always)
    static func lengthBeforeNUL(_ base: UnsafeRawPointer, _ count: Int) -> Int {
        var index = 0
        while count - index >= 8 {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let zeros = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            if zeros != 0 { return index + zeros.trailingZeroBitCount >> 3 }
            index += 8
        }
        while index < count {
            if base.load(fromByteOffset: index, as: UInt8.self) == 0 { return index }
            index += 1
        }
        return count
    }

    /// A bool field's value as protobuf-c reads it, whatever the wire type: true when any byte
    /// after the tag (for wire type 2 the length prefix too) has a non-zero low 7 bits.
    var boolValue: Bool {
        let end = payload.baseAddress! + payload.count
        return UnsafeRawBufferPointer(start: valueStart, count: end - valueStart).contains { $0 & 0x7F != 0 }
    }
}
