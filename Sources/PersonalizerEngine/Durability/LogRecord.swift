import PersonalizerModel

/// What an export needs of a Rank beyond what learning needs: the request as it came, and the
/// decision in request order.
public struct RankExport: Sendable, Equatable {
    /// The `Request` message's protobuf bytes.
    public var request: [UInt8]
    /// Index, in the request's actions, of the action shown.
    public var chosenRequestIndex: Int
    /// Every action's probability, in request order (excluded actions 0).
    public var probabilities: [Double]

    public init(request: [UInt8], chosenRequestIndex: Int, probabilities: [Double]) {
        self.request = request
        self.chosenRequestIndex = chosenRequestIndex
        self.probabilities = probabilities
    }
}

/// `RankExport` as the I/O thread has it: views of the request and of its own scratch space.
public struct RankExportBytes {
    public var request: UnsafeRawBufferPointer
    public var chosenRequestIndex: Int
    public var probabilities: UnsafeBufferPointer<Double>

    public init(request: UnsafeRawBufferPointer, chosenRequestIndex: Int, probabilities: UnsafeBufferPointer<Double>) {
        self.request = request
        self.chosenRequestIndex = chosenRequestIndex
        self.probabilities = probabilities
    }
}

/// One entry of a loop's event log. The trainer writes them in the order it applies them, so
/// replaying the log through the same code reproduces the same model.
public enum LogRecord: Sendable {
    case rank(eventID: String, time: UInt64, deferred: Bool, example: EncodedExample, export: RankExport?,
              overCapacity: Bool = false)
    case reward(eventID: String, time: UInt64, value: Double)
    case activate(eventID: String, time: UInt64)
    /// The trainer closed the reward windows due at `time` (written only when some closed).
    case advance(time: UInt64)
    /// The trainer published model `version`.
    case published(version: UInt64, time: UInt64)
    /// How an event ended: learned with `reward`, or dropped (deferred, never activated).
    case outcome(eventID: String, time: UInt64, reward: Double, rewarded: Bool, learned: Bool)

    var time: UInt64 {
        switch self {
        case .rank(_, let time, _, _, _, _), .reward(_, let time, _), .activate(_, let time), .advance(let time),
             .published(_, let time), .outcome(_, let time, _, _, _):
            return time
        }
    }

    private enum Kind: UInt8 {
        case rank = 1, reward, activate, advance, published, outcome
    }

    func encode<Sink: BinarySink>(into writer: inout Sink) {
        switch self {
        case .rank(let eventID, let time, let deferred, let example, let export, let overCapacity):
            var eventID = eventID
            eventID.withUTF8 { id in
                Self.encodeRankHeader(eventID: UnsafeRawBufferPointer(id), time: time, deferred: deferred,
                                      overCapacity: overCapacity, into: &writer)
            }
            example.bytes.withUnsafeBytes { writer.append($0) }
            guard let export else {
                writer.bool(false)
                break
            }
            export.request.withUnsafeBytes { request in
                export.probabilities.withUnsafeBufferPointer { probabilities in
                    Self.encodeRankExport(RankExportBytes(request: request, chosenRequestIndex: export.chosenRequestIndex,
                                                          probabilities: probabilities), into: &writer)
                }
            }
        case .reward(let eventID, let time, let value):
            var eventID = eventID
            eventID.withUTF8 { Self.encodeReward(eventID: UnsafeRawBufferPointer($0), time: time, value: value, into: &writer) }
        case .activate(let eventID, let time):
            var eventID = eventID
            eventID.withUTF8 { Self.encodeActivate(eventID: UnsafeRawBufferPointer($0), time: time, into: &writer) }
        case .advance(let time):
            writer.u8(Kind.advance.rawValue)
            writer.u64(time)
        case .published(let version, let time):
            writer.u8(Kind.published.rawValue)
            writer.u64(time)
            writer.u64(version)
        case .outcome(let eventID, let time, let reward, let rewarded, let learned):
            writer.u8(Kind.outcome.rawValue)
            writer.u64(time)
            writer.string(eventID)
            writer.f64(reward)
            writer.bool(rewarded)
            writer.bool(learned)
        }
    }

    // The records the I/O thread writes, from bytes it has at hand (no strings, no arrays).

    static func encodeRank<Sink: BinarySink>(
        eventID: UnsafeRawBufferPointer, time: UInt64, deferred: Bool, overCapacity: Bool,
        example: RankedExampleView, export: RankExportBytes?, into writer: inout Sink
    ) {
        encodeRankHeader(eventID: eventID, time: time, deferred: deferred, overCapacity: overCapacity, into: &writer)
        writer.example(example)
        if let export {
            encodeRankExport(export, into: &writer)
        } else {
            writer.bool(false)
        }
    }

    private static func encodeRankHeader<Sink: BinarySink>(
        eventID: UnsafeRawBufferPointer, time: UInt64, deferred: Bool, overCapacity: Bool, into writer: inout Sink
    ) {
        writer.u8(Kind.rank.rawValue)
        writer.u64(time)
        writer.blob(eventID)
        writer.bool(deferred)
        writer.bool(overCapacity)
    }

    private static func encodeRankExport<Sink: BinarySink>(_ export: RankExportBytes, into writer: inout Sink) {
        writer.bool(true)
        writer.u32(UInt32(export.chosenRequestIndex))
        writer.u32(UInt32(export.probabilities.count))
        writer.append(UnsafeRawBufferPointer(export.probabilities))
        writer.blob(export.request)
    }

    static func encodeReward<Sink: BinarySink>(eventID: UnsafeRawBufferPointer, time: UInt64, value: Double,
                                               into writer: inout Sink) {
        writer.u8(Kind.reward.rawValue)
        writer.u64(time)
        writer.blob(eventID)
        writer.f64(value)
    }

    static func encodeActivate<Sink: BinarySink>(eventID: UnsafeRawBufferPointer, time: UInt64,
                                                 into writer: inout Sink) {
        writer.u8(Kind.activate.rawValue)
        writer.u64(time)
        writer.blob(eventID)
    }

    /// - Parameter includingExport: false skips (but checks) a Rank's export data, which only
    ///   the export tool reads; the trainer learns without it.
    static func decode(_ bytes: UnsafeRawBufferPointer, includingExport: Bool = true) throws(FormatError) -> LogRecord {
        var reader = BinaryReader(bytes)
        guard let kind = Kind(rawValue: try reader.u8()) else { throw FormatError("unknown record kind") }
        let time = try reader.u64()
        let record: LogRecord
        switch kind {
        case .rank:
            let eventID = try reader.string()
            let deferred = try reader.bool()
            let overCapacity = try reader.bool()
            let example = EncodedExample(checked: try reader.exampleBytes())
            var export: RankExport?
            if try reader.bool() {
                let chosenRequestIndex = Int(try reader.u32())
                let probabilityCount = try reader.count(max: reader.remaining / 8)
                if includingExport {
                    var probabilities: [Double] = []
                    for _ in 0..<probabilityCount { probabilities.append(try reader.f64()) }
                    export = RankExport(request: try reader.blob(), chosenRequestIndex: chosenRequestIndex,
                                        probabilities: probabilities)
                } else {
                    try reader.skip(probabilityCount * 8)
                    try reader.skip(try reader.count(max: reader.remaining))
                }
            }
            record = .rank(eventID: eventID, time: time, deferred: deferred, example: example, export: export,
                           overCapacity: overCapacity)
        case .reward:
            record = .reward(eventID: try reader.string(), time: time, value: try reader.f64())
        case .activate:
            record = .activate(eventID: try reader.string(), time: time)
        case .advance:
            record = .advance(time: time)
        case .published:
            record = .published(version: try reader.u64(), time: time)
        case .outcome:
            record = .outcome(eventID: try reader.string(), time: time, reward: try reader.f64(),
                              rewarded: try reader.bool(), learned: try reader.bool())
        }
        guard reader.isAtEnd else { throw FormatError("\(reader.remaining) unexpected bytes after the record") }
        return record
    }
}
