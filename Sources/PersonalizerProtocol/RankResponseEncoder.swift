import PersonalizerTransport

/// One entry of a ranking, pointing at the id's bytes in the request.
struct RankedEntry {
    var id: UnsafeRawBufferPointer
    var probability: Double
}

/// Writes a framed `Response { id, rank: RankResponse }` straight into the output buffer, from
/// slices of the request (protobuf-c's packer wants NUL-terminated copies of every id).
///
/// The bytes are the ones protobuf-c packs for the same message — fields in number order,
/// proto3 defaults (0, -0.0, empty) left out — which `RankResponseEncoderTests` checks.
enum RankResponseEncoder {
    static func write(id: UInt64, ranking: UnsafeBufferPointer<RankedEntry>, eventID: UnsafeRawBufferPointer,
                      modelVersion: UInt64, into output: ByteBuffer) {
        let rewardActionID = ranking.isEmpty ? UnsafeRawBufferPointer(start: nil, count: 0) : ranking[0].id
        var rankSize = 0
        for entry in ranking {
            let size = entrySize(entry)
            rankSize += 1 + varintSize(UInt64(size)) + size
        }
        rankSize += stringSize(eventID) + stringSize(rewardActionID) + varintFieldSize(modelVersion)
        let responseSize = varintFieldSize(id) + 1 + varintSize(UInt64(rankSize)) + rankSize

        let region = output.reserveWritable(FrameDecoder.headerSize + responseSize)
        region.storeBytes(of: UInt32(responseSize).bigEndian, as: UInt32.self)
        var writer = WireWriter(region.baseAddress! + FrameDecoder.headerSize)
        writer.varintField(1, id)
        writer.tag(10, wireType: 2)
        writer.varint(UInt64(rankSize))
        for entry in ranking {
            writer.tag(1, wireType: 2)
            writer.varint(UInt64(entrySize(entry)))
            writer.stringField(1, entry.id)
            writer.doubleField(2, entry.probability)
        }
        writer.stringField(2, eventID)
        writer.stringField(3, rewardActionID)
        writer.varintField(4, modelVersion)
        precondition(writer.position - region.baseAddress! == FrameDecoder.headerSize + responseSize,
                     "rank response size mismatch")
        output.commitWritten(FrameDecoder.headerSize + responseSize)
    }

    @inline(__always)
    private static func entrySize(_ entry: RankedEntry) -> Int {
        stringSize(entry.id) + (entry.probability == 0 ? 0 : 9)
    }

    @inline(__always)
    private static func stringSize(_ bytes: UnsafeRawBufferPointer) -> Int {
        bytes.count == 0 ? 0 : 1 + varintSize(UInt64(bytes.count)) + bytes.count
    }

    @inline(__always)
    private static func varintFieldSize(_ value: UInt64) -> Int {
        value == 0 ? 0 : 1 + varintSize(value)
    }

    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        // 1 byte per 7 significant bits, at least one.
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }
}

/// Appends protobuf fields at a raw position; the caller has reserved room for them.
private struct WireWriter {
    var position: UnsafeMutableRawPointer

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

    /// Field numbers here are below 16: one byte.
    @inline(__always)
    mutating func tag(_ field: UInt8, wireType: UInt8) { byte(field << 3 | wireType) }

    @inline(__always)
    mutating func varintField(_ field: UInt8, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, wireType: 0)
        varint(value)
    }

    @inline(__always)
    mutating func stringField(_ field: UInt8, _ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        tag(field, wireType: 2)
        varint(UInt64(bytes.count))
        position.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        position += bytes.count
    }

    /// Left out when it equals 0, -0.0 included (protobuf-c compares the double with 0; NaN is written).
    @inline(__always)
    mutating func doubleField(_ field: UInt8, _ value: Double) {
        guard value != 0 else { return }
        tag(field, wireType: 1)
        position.storeBytes(of: value.bitPattern.littleEndian, as: UInt64.self)
        position += 8
    }
}
