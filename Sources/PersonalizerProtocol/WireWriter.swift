import PersonalizerTransport

/// Appends protobuf fields at a raw position, as protobuf-c packs them: proto3 defaults (0,
/// -0.0, empty) left out. The caller has reserved room, measured with the `…Size` functions.
struct WireWriter {
    private(set) var position: UnsafeMutableRawPointer

    init(_ start: UnsafeMutableRawPointer) { position = start }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        position.storeBytes(of: value, as: UInt8.self)
        position += 1
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            byte(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        byte(UInt8(rest))
    }

    @inline(__always)
    mutating func tag(_ field: UInt32, wireType: UInt8) { varint(UInt64(field) << 3 | UInt64(wireType)) }

    @inline(__always)
    mutating func varintField(_ field: UInt32, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, wireType: 0)
        varint(value)
    }

    @inline(__always)
    mutating func bytes(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        position.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        position += bytes.count
    }

    @inline(__always)
    mutating func stringField(_ field: UInt32, _ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        tag(field, wireType: 2)
        varint(UInt64(bytes.count))
        self.bytes(bytes)
    }

    /// Left out when it equals 0, -0.0 included (protobuf-c compares the double with 0; NaN is written).
    @inline(__always)
    mutating func doubleField(_ field: UInt32, _ value: Double) {
        guard value != 0 else { return }
        tag(field, wireType: 1)
        position.storeBytes(of: value.bitPattern.littleEndian, as: UInt64.self)
        position += 8
    }

    /// The tag and length of an embedded message (or a oneof member's, written even when empty);
    /// its fields follow.
    @inline(__always)
    mutating func messageHeader(_ field: UInt32, bodySize: Int) {
        tag(field, wireType: 2)
        varint(UInt64(bodySize))
    }

    // MARK: sizes

    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        // 1 byte per 7 significant bits, at least one.
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }

    @inline(__always)
    static func tagSize(_ field: UInt32) -> Int { varintSize(UInt64(field) << 3) }

    @inline(__always)
    static func varintFieldSize(_ field: UInt32, _ value: UInt64) -> Int {
        value == 0 ? 0 : tagSize(field) + varintSize(value)
    }

    @inline(__always)
    static func stringFieldSize(_ field: UInt32, _ bytes: UnsafeRawBufferPointer) -> Int {
        bytes.count == 0 ? 0 : tagSize(field) + varintSize(UInt64(bytes.count)) + bytes.count
    }

    @inline(__always)
    static func doubleFieldSize(_ field: UInt32, _ value: Double) -> Int {
        value == 0 ? 0 : tagSize(field) + 8
    }

    @inline(__always)
    static func messageFieldSize(_ field: UInt32, bodySize: Int) -> Int {
        tagSize(field) + varintSize(UInt64(bodySize)) + bodySize
    }
}

extension WireWriter {
    /// Writes one response frame into `output`: the 4-byte big-endian length, then the fields
    /// `writeBody` writes, which must come to `bodySize` bytes.
    @inline(__always)
    static func writeFrame(bodySize: Int, into output: ByteBuffer, _ writeBody: (inout WireWriter) -> Void) {
        let region = output.reserveWritable(FrameDecoder.headerSize + bodySize)
        region.storeBytes(of: UInt32(bodySize).bigEndian, as: UInt32.self)
        let body = region.baseAddress! + FrameDecoder.headerSize
        var writer = WireWriter(body)
        writeBody(&writer)
        precondition(writer.position - body == bodySize, "response size mismatch")
        output.commitWritten(FrameDecoder.headerSize + bodySize)
    }
}
