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
            rankSize += WireWriter.messageFieldSize(1, bodySize: entrySize(entry))
        }
        rankSize += WireWriter.stringFieldSize(2, eventID) + WireWriter.stringFieldSize(3, rewardActionID)
            + WireWriter.varintFieldSize(4, modelVersion)
        let responseSize = WireWriter.varintFieldSize(1, id) + WireWriter.messageFieldSize(10, bodySize: rankSize)

        WireWriter.writeFrame(bodySize: responseSize, into: output) { writer in
            writer.varintField(1, id)
            writer.messageHeader(10, bodySize: rankSize)
            for entry in ranking {
                writer.messageHeader(1, bodySize: entrySize(entry))
                writer.stringField(1, entry.id)
                writer.doubleField(2, entry.probability)
            }
            writer.stringField(2, eventID)
            writer.stringField(3, rewardActionID)
            writer.varintField(4, modelVersion)
        }
    }

    @inline(__always)
    private static func entrySize(_ entry: RankedEntry) -> Int {
        WireWriter.stringFieldSize(1, entry.id) + WireWriter.doubleFieldSize(2, entry.probability)
    }
}
