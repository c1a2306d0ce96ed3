import PersonalizerProtocol

/// Reads choices from the fuzz input; past its end every choice is 0.
struct ChoiceReader {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isExhausted: Bool { position >= bytes.count }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(byte()) % bound }

    mutating func u16() -> UInt16 { UInt16(byte()) | UInt16(byte()) << 8 }

    mutating func u64() -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 8) { value |= UInt64(byte()) << UInt64(shift) }
        return value
    }

    /// Up to `limit` raw bytes (a length byte, then the bytes).
    mutating func rawBytes(limit: Int) -> [UInt8] {
        let count = min(Int(byte()), limit, bytes.count - min(position, bytes.count))
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
}

/// The structure-aware mode: the input is a program whose choices build well-formed requests
/// (with `MessageCodec.encode`, as clients do) that sit on the edges of validation — limits
/// just under and over, duplicate and empty ids, NaN, infinities and values beyond Float,
/// excluded ids, reused and generated event ids, unknown loops — plus corrupted encodings and
/// raw frames, clock moves and trainer passes. Byte-level mutations of the program change the
/// requests' structure, which reaches Rank's deep paths far sooner than mutating wire bytes.
struct RequestGenerator {
    private var reader: ChoiceReader
    private var nextID: UInt64 = 1
    private var usedEventIDs: [String] = []

    init(_ program: UnsafeRawBufferPointer) { reader = ChoiceReader(program) }

    static let names = ["", "a", "b", "c", "user", "item", ":", " ", "ab", "é", "x\u{0}y", "constant"]
    static let ids = ["a", "b", "c", "a0", "a1", "a2", "a3", "B", "é", "a\u{0}", "a\u{0}b", " "]
    static let numbers: [Double] = [
        0, -0.0, 1, -1, 0.5, 3, 1e-300, .leastNonzeroMagnitude, Double(Float.greatestFiniteMagnitude),
        Double(Float.greatestFiniteMagnitude).nextUp, 3.5e38, 1e39, 1e300, .greatestFiniteMagnitude,
        -.greatestFiniteMagnitude, .infinity, -.infinity, .nan, -.nan, .signalingNaN, 1e10, -1e10, 65536, 1e-45,
    ]

    /// Runs the program against `session` until the program ends or the connection closes.
    mutating func run(on session: FuzzSession) {
        var steps = 0
        while !reader.isExhausted, !session.isClosed, steps < 512 {
            steps += 1
            switch reader.below(16) {
            case 0, 1, 2, 3, 4, 5:
                send(.rank(rank(session)), loop: loopName(), to: session)
            case 6, 7:
                send(.reward(eventID: eventID(session, allowEmpty: true), value: number()), loop: loopName(),
                     to: session)
            case 8:
                send(.activate(eventID: eventID(session, allowEmpty: true)), loop: loopName(), to: session)
            case 9:
                send(.status, loop: loopName(), to: session)
            case 10:
                send(.none, loop: loopName(), to: session)
            case 11:
                session.stepTrainers(advance: reader.pick([0, 1_000_000, 499_000_000, 1_000_000_000, 4_999_999_999,
                                                           5_000_000_000, 5_000_000_001, 30_000_000_000]))
            case 12:
                // A raw frame: arbitrary payload, correct length prefix.
                session.feed(MessageCodec.frame(reader.rawBytes(limit: 255)))
            case 13:
                // A valid request, then damaged.
                var bytes = MessageCodec.encode(Request(id: id(), loop: loopName(), call: anyCall(session)))
                corrupt(&bytes)
                session.feed(MessageCodec.frame(bytes))
            case 14:
                // A burst of the same request (fills the 64-slot ring: backpressure).
                let request = MessageCodec.frame(Request(id: id(), loop: loopName(), call: anyCall(session)))
                var burst: [UInt8] = []
                for _ in 0..<(1 + reader.below(100)) { burst += request }
                session.feed(burst)
            default:
                // Split a request across reads, or a length prefix over the limit.
                let request = MessageCodec.frame(Request(id: id(), loop: loopName(), call: anyCall(session)))
                if reader.below(8) == 0 {
                    let length = UInt32(session.limits.maxFrameBytes + 1 + reader.below(3))
                    session.feed([UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF),
                                  UInt8(length & 0xFF)])
                } else {
                    let cut = reader.below(request.count + 1)
                    session.feed(Array(request[..<cut]))
                    session.feed(Array(request[cut...]))
                }
            }
        }
    }

    private mutating func id() -> UInt64 {
        switch reader.below(8) {
        case 0: return 0
        case 1: return .max
        case 2: return reader.u64()
        default:
            defer { nextID += 1 }
            return nextID
        }
    }

    private mutating func loopName() -> String {
        switch reader.below(16) {
        case 0..<6: ""
        case 6..<11: FuzzSession.loopNames[reader.below(FuzzSession.loopNames.count)]
        case 11: "nope"
        case 12: "default\u{0}x"
        case 13: "Default"
        default: reader.pick(["sum", "soft", "square", "first"])
        }
    }

    private mutating func send(_ call: Call, loop: String, to session: FuzzSession) {
        session.feed(MessageCodec.frame(Request(id: id(), loop: loop, call: call)))
    }

    private mutating func anyCall(_ session: FuzzSession) -> Call {
        switch reader.below(5) {
        case 0, 1: .rank(rank(session))
        case 2: .reward(eventID: eventID(session, allowEmpty: true), value: number())
        case 3: .activate(eventID: eventID(session, allowEmpty: true))
        default: .status
        }
    }

    private mutating func number() -> Double {
        switch reader.below(4) {
        case 0: Double(bitPattern: reader.u64())
        case 1: Double(Int8(bitPattern: reader.byte())) / 4
        default: reader.pick(Self.numbers)
        }
    }

    /// A string at, under or over the id limit, or from a small pool (so ids collide).
    private mutating func string(_ pool: [String], limit: Int) -> String {
        switch reader.below(12) {
        case 0: return String(repeating: "x", count: limit)
        case 1: return String(repeating: "y", count: limit + 1)
        case 2: return String(decoding: reader.rawBytes(limit: 40), as: UTF8.self)
        default: return reader.pick(pool)
        }
    }

    private mutating func eventID(_ session: FuzzSession, allowEmpty: Bool) -> String {
        switch reader.below(8) {
        case 0: return allowEmpty ? "" : "e"
        case 1, 2, 3:
            let seen = session.seenEventIDs
            if !seen.isEmpty { return seen[reader.below(seen.count)] }
            return "e0"
        case 4: return string(["e0", "e1", "e2"], limit: session.limits.maxIdLength)
        default:
            let id = "e\(reader.below(6))"
            usedEventIDs.append(id)
            return id
        }
    }

    private mutating func namespaces(maxCount: Int, limits: FuzzSession) -> [FeatureNamespace] {
        var result: [FeatureNamespace] = []
        for _ in 0..<reader.below(maxCount + 1) {
            var features: [Feature] = []
            for _ in 0..<reader.below(5) {
                let name = reader.pick(Self.names)
                if reader.below(3) == 0 {
                    features.append(.text(name, reader.pick(Self.names)))
                } else {
                    features.append(.number(name, number()))
                }
            }
            result.append(FeatureNamespace(reader.pick(Self.names), features))
        }
        return result
    }

    private mutating func rank(_ session: FuzzSession) -> RankCall {
        let limits = session.limits
        let actionCount: Int
        switch reader.below(16) {
        case 0: actionCount = 0
        case 1: actionCount = limits.maxActionsPerRank
        case 2: actionCount = limits.maxActionsPerRank + 1
        default: actionCount = 1 + reader.below(min(6, limits.maxActionsPerRank))
        }
        var actions: [RankAction] = []
        for index in 0..<actionCount {
            let id = reader.below(4) == 0 ? string(Self.ids, limit: limits.maxIdLength) : "a\(index)"
            actions.append(RankAction(id: id, features: namespaces(maxCount: 2, limits: session)))
        }
        var excluded: [String] = []
        for _ in 0..<reader.below(4) {
            if !actions.isEmpty, reader.below(4) != 0 {
                excluded.append(actions[reader.below(actions.count)].id)
            } else {
                excluded.append(reader.pick(Self.ids))
            }
        }
        let eventID = reader.below(3) == 0 ? "" : eventID(session, allowEmpty: true)
        return RankCall(context: namespaces(maxCount: 3, limits: session), actions: actions,
                        excludedActionIDs: excluded, eventID: eventID, deferActivation: reader.below(4) == 0)
    }

    /// Flips, drops, inserts or overwrites a few bytes.
    private mutating func corrupt(_ bytes: inout [UInt8]) {
        for _ in 0..<(1 + reader.below(3)) {
            let position = bytes.isEmpty ? 0 : reader.below(bytes.count)
            switch reader.below(5) {
            case 0 where !bytes.isEmpty: bytes[position] ^= 1 << UInt8(reader.below(8))
            case 1 where !bytes.isEmpty: bytes.remove(at: position)
            case 2: bytes.insert(reader.byte(), at: position)
            case 3: bytes.removeLast(min(bytes.count, reader.below(8)))
            default: if !bytes.isEmpty { bytes[position] = reader.pick([0x00, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x52]) }
            }
        }
    }
}
