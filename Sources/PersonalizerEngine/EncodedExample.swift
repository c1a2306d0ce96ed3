import PersonalizerModel

/// A ranked example kept as its encoding — the event log's bytes for it — while its event waits
/// for a reward: one allocation instead of three arrays per action, nothing to rebuild when it
/// is logged or checkpointed, and nothing to free on another thread. The trainer decodes it into
/// reused buffers (`ExampleBuffers`) when it learns.
public struct EncodedExample: Sendable, Equatable {
    /// `BinarySink.example`'s encoding.
    public let bytes: [UInt8]

    public init(_ example: RankedExample) {
        var writer = BinaryWriter()
        example.withView { writer.example($0) }
        bytes = writer.bytes
    }

    /// Bytes already checked to hold exactly one example (`BinaryReader.exampleBytes`).
    init(checkedBytes: [UInt8]) { bytes = checkedBytes }

    /// The model version that made the decision (the encoding's first field).
    public var modelVersion: UInt64 {
        bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    /// The example with its own arrays (tests, tools).
    public func decoded() throws(FormatError) -> RankedExample {
        let result: Result<RankedExample, FormatError> = bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            do throws(FormatError) {
                let example = try reader.example()
                guard reader.isAtEnd else { throw FormatError("unexpected bytes after the example") }
                return .success(example)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Decodes into `buffers`, reusing their storage; returns the decision. With
    /// `chosenActionOnly`, the other actions are skipped and left empty (for a learner that
    /// learns from the chosen action alone, as with `--cb_type mtr`: most of the decoding saved).
    func decode(into buffers: inout ExampleBuffers, chosenActionOnly: Bool = false) -> (chosen: Int, probability: Double) {
        bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            do {
                _ = try reader.u64()  // model version
                let chosen = Int(try reader.u32())
                let probability = try reader.f64()
                try reader.features(into: &buffers.shared)
                let count = try reader.count(max: reader.remaining)
                while buffers.pool.count < count { buffers.pool.append(HashedFeatures()) }
                for index in 0..<count {
                    if chosenActionOnly && index != chosen {
                        try reader.skipFeatures()
                        buffers.pool[index].removeAll()
                    } else {
                        try reader.features(into: &buffers.pool[index])
                    }
                }
                buffers.actionCount = count
                return (chosen, probability)
            } catch {
                preconditionFailure("an example checked when it was stored no longer decodes: \(error)")
            }
        }
    }
}

/// Feature buffers the trainer decodes examples into, kept from one event to the next.
struct ExampleBuffers {
    var shared = HashedFeatures()
    /// Actions of the current example: the first `actionCount`.
    var pool: [HashedFeatures] = []
    var actionCount = 0
}
