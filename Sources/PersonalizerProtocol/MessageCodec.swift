import CProtobufC
import PersonalizerProto

/// Encodes requests with a small protobuf writer (clients build requests from Swift values) and
/// decodes responses with protobuf-c (the reference decoder). Every request a test sends is
/// decoded by the server with protobuf-c, so the two are checked against each other.
public enum MessageCodec {
    /// The request's protobuf bytes, without the frame header.
    public static func encode(_ request: Request) -> [UInt8] {
        var writer = ProtobufWriter()
        writer.varint(field: 1, request.id)
        writer.string(field: 2, request.loop)
        writer.string(field: 3, request.token)
        switch request.call {
        case .rank(let rank): writer.message(field: 10) { encode(rank, into: &$0) }
        case .reward(let eventID, let value):
            writer.message(field: 11) { $0.string(field: 1, eventID); $0.double(field: 2, value) }
        case .activate(let eventID): writer.message(field: 12) { $0.string(field: 1, eventID) }
        case .status: writer.message(field: 13) { _ in }
        case .none: break
        }
        return writer.bytes
    }

    /// The request framed: 4-byte big-endian length, then the bytes.
    public static func frame(_ request: Request) -> [UInt8] { frame(encode(request)) }

    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            + payload
    }

    private static func encode(_ rank: RankCall, into writer: inout ProtobufWriter) {
        for namespace in rank.context { writer.message(field: 1) { encode(namespace, into: &$0) } }
        for action in rank.actions {
            writer.message(field: 2) { actionWriter in
                actionWriter.string(field: 1, action.id)
                for namespace in action.features { actionWriter.message(field: 2) { encode(namespace, into: &$0) } }
            }
        }
        for excluded in rank.excludedActionIDs { writer.string(field: 3, excluded, always: true) }
        writer.string(field: 4, rank.eventID)
        if rank.deferActivation { writer.varint(field: 5, 1) }
    }

    private static func encode(_ namespace: FeatureNamespace, into writer: inout ProtobufWriter) {
        writer.string(field: 1, namespace.name)
        for feature in namespace.features {
            writer.message(field: 2) { featureWriter in
                featureWriter.string(field: 1, feature.name)
                // Members of a oneof are written even when they hold the default value.
                switch feature.value {
                case .text(let text): featureWriter.string(field: 2, text, always: true)
                case .number(let number): featureWriter.double(field: 3, number, always: true)
                }
            }
        }
    }

    /// Decodes a response frame's payload.
    public static func decodeResponse(_ payload: UnsafeRawBufferPointer) -> Response? {
        guard let message = personalizer__v1__response__unpack(
            nil, payload.count, payload.baseAddress?.assumingMemoryBound(to: UInt8.self)) else { return nil }
        defer { personalizer__v1__response__free_unpacked(message, nil) }
        let response = message.pointee
        let result: ResponseResult
        switch response.result_case {
        case PERSONALIZER__V1__RESPONSE__RESULT_RANK:
            let rank = response.rank.pointee
            var ranking: [RankedActionValue] = []
            for index in 0..<rank.n_ranking {
                let action = rank.ranking[index]!.pointee
                ranking.append(RankedActionValue(id: String(cString: action.id), probability: action.probability))
            }
            result = .rank(RankResult(ranking: ranking, eventID: String(cString: rank.event_id),
                                      rewardActionID: String(cString: rank.reward_action_id),
                                      modelVersion: rank.model_version))
        case PERSONALIZER__V1__RESPONSE__RESULT_REWARD: result = .reward
        case PERSONALIZER__V1__RESPONSE__RESULT_ACTIVATE: result = .activate
        case PERSONALIZER__V1__RESPONSE__RESULT_STATUS:
            let status = response.status.pointee
            var value = LoopStatus()
            value.modelVersion = status.model_version
            value.rankCalls = status.rank_calls
            value.rewardCalls = status.reward_calls
            value.learnedEvents = status.learned_events
            value.pendingEvents = status.pending_events
            value.activateCalls = status.activate_calls
            value.unmatchedRewards = status.unmatched_rewards
            value.unmatchedActivations = status.unmatched_activations
            value.droppedNotActivated = status.dropped_not_activated
            value.backpressureStalls = status.backpressure_stalls
            value.publishedAtUnixMilliseconds = status.published_at_unix_ms
            value.logBytes = status.log_bytes
            value.oldestEventUnixMilliseconds = status.oldest_event_unix_ms
            value.lastFsyncUnixMilliseconds = status.last_fsync_unix_ms
            value.storageError = String(cString: status.storage_error)
            value.overCapacityEvents = status.over_capacity_events
            result = .status(value)
        case PERSONALIZER__V1__RESPONSE__RESULT_ERROR:
            let error = response.error.pointee
            result = .error(code: error.code, message: String(cString: error.message))
        default:
            result = .none
        }
        return Response(id: response.id, result: result)
    }
}

/// Writes protobuf's wire format: varints, 64-bit doubles and length-delimited fields.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private mutating func tag(_ field: Int, _ wireType: UInt64) { rawVarint(UInt64(field) << 3 | wireType) }

    /// Proto3 leaves out default values unless `always` (oneof members).
    mutating func varint(field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, 0)
        rawVarint(value)
    }

    mutating func double(field: Int, _ value: Double, always: Bool = false) {
        guard always || value.bitPattern != 0 else { return }
        tag(field, 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(field: Int, _ value: String, always: Bool = false) {
        guard always || !value.isEmpty else { return }
        tag(field, 2)
        rawVarint(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    mutating func message(field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        tag(field, 2)
        rawVarint(UInt64(nested.bytes.count))
        bytes.append(contentsOf: nested.bytes)
    }
}
