/// Just enough of protobuf's wire format for the load generator: a writer that builds request
/// templates once (allocating is fine there) and remembers where the varying fields sit, and a
/// reader that walks response bytes in place without allocating.

/// Bytes being built, with named marks: the offsets of fields a sender patches later.
public struct WireBytes: Sendable, Equatable {
    public private(set) var bytes: [UInt8] = []
    public private(set) var marks: [String: Int] = [:]

    public init() {}

    public var count: Int { bytes.count }

    public mutating func rawVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private mutating func tag(_ field: Int, _ wireType: UInt64) { rawVarint(UInt64(field) << 3 | wireType) }

    /// A varint field; proto3 leaves zero out.
    public mutating func varint(field: Int, _ value: UInt64, mark: String? = nil) {
        guard value != 0 else { return }
        tag(field, 0)
        if let mark { marks[mark] = bytes.count }
        rawVarint(value)
    }

    /// A 64-bit double, always written (oneof members and patched fields are present even at 0).
    public mutating func double(field: Int, _ value: Double, mark: String? = nil) {
        tag(field, 1)
        if let mark { marks[mark] = bytes.count }
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A string field; an empty string is left out unless `always`.
    public mutating func string(field: Int, _ value: String, always: Bool = false, mark: String? = nil) {
        guard always || !value.isEmpty else { return }
        tag(field, 2)
        rawVarint(UInt64(value.utf8.count))
        if let mark { marks[mark] = bytes.count }
        bytes.append(contentsOf: value.utf8)
    }

    /// A nested message; its marks are kept, moved to their place in `self`.
    public mutating func message(field: Int, _ nested: WireBytes) {
        tag(field, 2)
        rawVarint(UInt64(nested.count))
        let base = bytes.count
        bytes.append(contentsOf: nested.bytes)
        for (name, offset) in nested.marks { marks[name] = base + offset }
    }

    public mutating func message(field: Int, _ body: (inout WireBytes) -> Void) {
        var nested = WireBytes()
        body(&nested)
        message(field: field, nested)
    }

    /// The same bytes behind a 4-byte big-endian length; marks move by 4.
    public func framed() -> WireBytes {
        var frame = WireBytes()
        let length = UInt32(bytes.count)
        frame.bytes = [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF),
                       UInt8(length & 0xFF)] + bytes
        frame.marks = marks.mapValues { $0 + 4 }
        return frame
    }
}

/// The wire types of protobuf.
public enum WireType: UInt8, Sendable {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
}

/// Walks protobuf fields in place. Every method returns nil on malformed input instead of
/// trapping; nothing is copied or allocated.
public struct WireReader {
    public let base: UnsafeRawPointer
    public let end: UnsafeRawPointer
    public private(set) var position: UnsafeRawPointer

    public init(_ buffer: UnsafeRawBufferPointer) {
        // An empty buffer may have no base address; any non-nil pointer with end == base works.
        let start = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        base = start
        position = start
        end = start + buffer.count
    }

    public var isAtEnd: Bool { position >= end }

    public mutating func readVarint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < end, shift < 64 {
            let byte = position.load(as: UInt8.self)
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    /// The next field's number and wire type, or nil at the end or on a malformed tag.
    public mutating func readTag() -> (field: UInt64, type: WireType)? {
        guard position < end, let key = readVarint(), let type = WireType(rawValue: UInt8(key & 7)), key >> 3 != 0
        else { return nil }
        return (key >> 3, type)
    }

    public mutating func readLengthDelimited() -> UnsafeRawBufferPointer? {
        guard let length = readVarint(), length <= UInt64(end - position) else { return nil }
        let field = UnsafeRawBufferPointer(start: position, count: Int(length))
        position += Int(length)
        return field
    }

    public mutating func readFixed64() -> UInt64? {
        guard end - position >= 8 else { return nil }
        let value = position.loadUnaligned(as: UInt64.self)
        position += 8
        return UInt64(littleEndian: value)
    }

    /// Skips a field's value; false if it does not fit.
    public mutating func skip(_ type: WireType) -> Bool {
        switch type {
        case .varint: return readVarint() != nil
        case .fixed64: return readFixed64() != nil
        case .lengthDelimited: return readLengthDelimited() != nil
        case .fixed32:
            guard end - position >= 4 else { return false }
            position += 4
            return true
        }
    }
}
