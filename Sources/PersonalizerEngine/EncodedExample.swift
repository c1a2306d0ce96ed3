import PersonalizerModel

/// A ranked example kept as its encoding — the event log's bytes for it — while its event waits
/// for a reward: one allocation instead of three arrays per action, nothing to rebuild when it
/// is logged or checkpointed, and nothing to free on another thread. The trainer decodes it into
/// reused buffers (`ExampleBuffers`) when it learns.
public struct EncodedExample: Sendable, Equatable {
    /// `BinarySink.example`'s encoding.
    public let bytes: [UInt8]
    /// Where the chosen action's features start in `bytes` (found when they were checked), so
    /// a learner that reads the chosen action alone does not step over the others.
    let chosenActionOffset: Int

    public init(_ example: RankedExample) {
        var writer = BinaryWriter()
        example.withView { writer.example($0) }
        let checked = writer.bytes.withUnsafeBytes { raw in
            var reader = BinaryReader(raw)
            do {
                return try reader.exampleBytes()
            } catch {
                preconditionFailure("an example just encoded does not decode: \(error)")
            }
        }
        self.init(checked: checked)
    }

    /// Bytes already checked to hold exactly one example (`BinaryReader.exampleBytes`).
    init(checked: (bytes: [UInt8], chosenActionOffset: Int)) {
        bytes = checked.bytes
        chosenActionOffset = checked.chosenActionOffset
    }

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
    /// `chosenActionOnly`, the other actions are not read and are left empty (for a learner that
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
                if chosenActionOnly {
                    for index in 0..<count where index != chosen { buffers.pool[index].removeAll() }
                    reader.move(to: chosenActionOffset)
                    try reader.features(into: &buffers.pool[chosen])
                } else {
                    for index in 0..<count { try reader.features(into: &buffers.pool[index]) }
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

    /// Views of the current example, valid inside `body`. Mutating although it changes nothing:
    /// reached in place through its owner, the buffers are borrowed, not copied (a copy retains
    /// each of their arrays).
    mutating func withBlocks<R>(_ body: (FeatureBlock, UnsafeBufferPointer<FeatureBlock>) -> R) -> R {
        let count = actionCount
        return shared.withBlock { shared in pool.withBlocks(count: count) { actions in body(shared, actions) } }
    }
}
