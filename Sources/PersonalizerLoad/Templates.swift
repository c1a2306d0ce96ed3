/// Pre-encoded request frames. Each call kind is encoded once, with every field that varies from
/// one request to the next given a fixed width, so sending a request is a copy of the template
/// and three small patches in place: no encoder runs and nothing is allocated per request.
///
/// - The request id is a varint that always takes 5 bytes: ids run from 2^28 up (a 5-byte varint
///   holds values below 2^35), which keeps the encoding canonical.
/// - The event id is 24 ASCII characters: 12 fixed per connection (8 hex digits of a run nonce,
///   4 of the connection number) and 12 hex digits of the connection's event sequence number.
/// - A double (8 bytes): the context's `noise` feature in a Rank, the value in a Reward.
public struct RequestTemplate: Sendable, Equatable {
    /// The whole frame, length prefix included.
    public internal(set) var frame: [UInt8]
    public let idOffset: Int
    /// Start of the 24-byte event id, if the call has one.
    public let eventIDOffset: Int?
    /// Start of the patched double, if the call has one.
    public let valueOffset: Int?

    public static let requestIDBase: UInt64 = 1 << 28
    static let requestIDSpan: UInt64 = (1 << 35) - (1 << 28)
    public static let requestIDBytes = 5
    public static let eventIDPrefixLength = 12
    public static let eventIDSequenceDigits = 12
    public static let eventIDLength = eventIDPrefixLength + eventIDSequenceDigits

    init(_ frame: WireBytes) {
        self.frame = frame.bytes
        idOffset = frame.marks["id"]!
        eventIDOffset = frame.marks["event"]
        valueOffset = frame.marks["value"]
    }

    public var count: Int { frame.count }

    /// The wire id for request number `sequence` of a connection (always a 5-byte varint).
    @inline(__always)
    public static func requestID(sequence: UInt64) -> UInt64 { requestIDBase + sequence % requestIDSpan }

    /// The event id's first 12 characters for one run and connection.
    public static func eventIDPrefix(nonce: UInt32, connection: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: eventIDPrefixLength)
        bytes.withUnsafeMutableBytes { raw in
            writeHex(UInt64(nonce), digits: 8, to: raw.baseAddress!)
            writeHex(UInt64(connection & 0xFFFF), digits: 4, to: raw.baseAddress! + 8)
        }
        return bytes
    }

    /// The full event id, as a string (for tests and messages; the hot path patches bytes).
    public static func eventID(prefix: [UInt8], sequence: UInt64) -> String {
        var bytes = prefix + [UInt8](repeating: 0, count: eventIDSequenceDigits)
        bytes.withUnsafeMutableBytes { writeHex(sequence, digits: eventIDSequenceDigits, to: $0.baseAddress! + eventIDPrefixLength) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes the fixed prefix of this connection's event ids into the template, once.
    public mutating func setEventIDPrefix(_ prefix: [UInt8]) {
        guard let offset = eventIDOffset else { return }
        precondition(prefix.count == Self.eventIDPrefixLength)
        frame.replaceSubrange(offset..<(offset + prefix.count), with: prefix)
    }

    /// Copies the template to `destination` and patches it; returns the frame's length.
    @inline(__always)
    public func write(to destination: UnsafeMutableRawPointer, requestID: UInt64, eventSequence: UInt64,
                      value: Double) -> Int {
        frame.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        Self.patch(destination, template: self, requestID: requestID, eventSequence: eventSequence, value: value)
        return frame.count
    }

    /// Patches a copy of the template in place.
    @inline(__always)
    public static func patch(_ frame: UnsafeMutableRawPointer, template: RequestTemplate, requestID: UInt64,
                             eventSequence: UInt64, value: Double) {
        var id = requestID
        let idStart = frame + template.idOffset
        for index in 0..<(requestIDBytes - 1) {
            idStart.storeBytes(of: UInt8(truncatingIfNeeded: id) | 0x80, toByteOffset: index, as: UInt8.self)
            id >>= 7
        }
        idStart.storeBytes(of: UInt8(truncatingIfNeeded: id) & 0x7F, toByteOffset: requestIDBytes - 1, as: UInt8.self)
        if let offset = template.eventIDOffset {
            writeHex(eventSequence, digits: eventIDSequenceDigits, to: frame + offset + eventIDPrefixLength)
        }
        if let offset = template.valueOffset {
            (frame + offset).storeBytes(of: value.bitPattern.littleEndian, as: UInt64.self)
        }
    }

    @inline(__always)
    static func writeHex(_ value: UInt64, digits: Int, to destination: UnsafeMutableRawPointer) {
        var value = value
        var index = digits - 1
        while index >= 0 {
            let nibble = UInt8(truncatingIfNeeded: value & 0xF)
            destination.storeBytes(of: nibble < 10 ? 0x30 + nibble : 0x57 + nibble, toByteOffset: index, as: UInt8.self)
            value >>= 4
            index -= 1
        }
    }
}

/// The templates of one run: a Rank per user segment, a Reward, a Status.
public struct TemplateSet: Sendable, Equatable {
    public var rank: [RequestTemplate]
    public var reward: RequestTemplate
    public var status: RequestTemplate

    public init(environment: EnvironmentSpec, loop: String) {
        let placeholderID = String(repeating: "0", count: RequestTemplate.eventIDLength)
        let actionNamespaces = (0..<environment.actions).map { environment.actionFeatureNamespaces(action: $0) }
        rank = (0..<environment.segments).map { segment in
            var rankCall = WireBytes()
            for namespace in environment.context(segment: segment) {
                rankCall.message(field: 1) { Self.encode(namespace, into: &$0) }
            }
            for action in 0..<environment.actions {
                rankCall.message(field: 2) { actionBytes in
                    actionBytes.string(field: 1, EnvironmentSpec.actionID(action))
                    for namespace in actionNamespaces[action] {
                        actionBytes.message(field: 2) { Self.encode(namespace, into: &$0) }
                    }
                }
            }
            rankCall.string(field: 4, placeholderID, mark: "event")
            return RequestTemplate(Self.request(loop: loop, call: 10, rankCall))
        }
        var rewardCall = WireBytes()
        rewardCall.string(field: 1, placeholderID, mark: "event")
        rewardCall.double(field: 2, 0, mark: "value")
        reward = RequestTemplate(Self.request(loop: loop, call: 11, rewardCall))
        status = RequestTemplate(Self.request(loop: loop, call: 13, WireBytes()))
    }

    /// The same templates with one connection's event id prefix written in.
    public func forConnection(nonce: UInt32, connection: Int) -> TemplateSet {
        let prefix = RequestTemplate.eventIDPrefix(nonce: nonce, connection: connection)
        var copy = self
        for index in copy.rank.indices { copy.rank[index].setEventIDPrefix(prefix) }
        copy.reward.setEventIDPrefix(prefix)
        return copy
    }

    /// The largest frame of the set.
    public var maxFrameBytes: Int { max(rank.map(\.count).max() ?? 0, reward.count, status.count) }

    static func request(loop: String, call field: Int, _ body: WireBytes) -> WireBytes {
        var request = WireBytes()
        request.varint(field: 1, RequestTemplate.requestIDBase, mark: "id")
        request.string(field: 2, loop)
        request.message(field: field, body)
        return request.framed()
    }

    static func encode(_ namespace: SimNamespace, into writer: inout WireBytes) {
        writer.string(field: 1, namespace.name)
        for feature in namespace.features {
            writer.message(field: 2) { featureBytes in
                featureBytes.string(field: 1, feature.name)
                switch feature.value {
                case .text(let text): featureBytes.string(field: 2, text, always: true)
                case .number(let number):
                    featureBytes.double(field: 3, number, mark: feature.name == "noise" ? "value" : nil)
                }
            }
        }
    }
}
