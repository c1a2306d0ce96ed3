import CProtobufC
import PersonalizerEngine
import PersonalizerProto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the wire contract says about one request frame, worked out independently of
/// `RequestProcessor`: the frame is decoded again with protobuf-c and checked against the
/// documented rules (README "Calls" and "Limits"), so the harness knows which answer is right.
struct RequestOracle {
    enum Call {
        case noCall
        case status
        case reward(valid: Bool)
        case activate(valid: Bool)
        case rank(Rank)
    }

    struct Rank {
        /// The action ids in request order (bytes as sent, up to a NUL as protobuf-c gives them).
        var actionIDs: [[UInt8]] = []
        var excluded: Set<[UInt8]> = []
        /// The client's event id (nil: empty, the server makes one), as the server keys it.
        var eventID: String?
        /// Why the request is invalid, if it is.
        var problem: String?
    }

    /// The request id (0 when the frame is not a Request).
    var id: UInt64 = 0
    /// The loop the request names ("" is "default"); nil when the frame is not a Request.
    var loopName: String?
    /// Nil when the frame does not decode as a Request.
    var call: Call?
    /// The frame's bytes (the start of them), for messages.
    private let frameHex: () -> String

    /// What the request is, for messages (built only when one is needed).
    var summary: String {
        guard let call, let loopName else { return "undecodable frame \(frameHex())" }
        return "request id \(id) loop \"\(loopName)\" \(call) in frame \(frameHex())"
    }

    init(_ frame: UnsafeRawBufferPointer, limits: ServerLimits) {
        let copy = Array(frame.prefix(512))
        let count = frame.count
        frameHex = { hex(copy, limit: 512) + (count > 512 ? "… (\(count) bytes)" : "") }
        guard let request = personalizer__v1__request__unpack(
            nil, frame.count, frame.baseAddress?.assumingMemoryBound(to: UInt8.self)) else { return }
        defer { personalizer__v1__request__free_unpacked(request, nil) }
        id = request.pointee.id
        let loop = cBytes(request.pointee.loop)
        loopName = loop.isEmpty ? "default" : String(decoding: loop, as: UTF8.self)
        switch request.pointee.call_case {
        case PERSONALIZER__V1__REQUEST__CALL_STATUS:
            call = .status
        case PERSONALIZER__V1__REQUEST__CALL_REWARD:
            let reward = request.pointee.reward.pointee
            let eventID = cBytes(reward.event_id)
            call = .reward(valid: !eventID.isEmpty && eventID.count <= limits.maxIdLength && reward.value.isFinite)
        case PERSONALIZER__V1__REQUEST__CALL_ACTIVATE:
            let eventID = cBytes(request.pointee.activate.pointee.event_id)
            call = .activate(valid: !eventID.isEmpty && eventID.count <= limits.maxIdLength)
        case PERSONALIZER__V1__REQUEST__CALL_RANK:
            call = .rank(Self.rank(request.pointee.rank.pointee, limits: limits))
        default:
            call = .noCall
        }
    }

    private static func rank(_ request: Personalizer__V1__RankRequest, limits: ServerLimits) -> Rank {
        var rank = Rank()
        var problems: [String] = []
        for index in 0..<request.n_actions {
            rank.actionIDs.append(cBytes(request.actions[index]!.pointee.id))
        }
        for index in 0..<request.n_excluded_action_ids {
            rank.excluded.insert(cBytes(request.excluded_action_ids[index]!))
        }
        let eventID = cBytes(request.event_id)
        rank.eventID = eventID.isEmpty ? nil : String(decoding: eventID, as: UTF8.self)

        if rank.actionIDs.isEmpty { problems.append("no actions") }
        if rank.actionIDs.count > limits.maxActionsPerRank { problems.append("over maxActionsPerRank") }
        if rank.actionIDs.contains(where: \.isEmpty) { problems.append("an empty action id") }
        if rank.actionIDs.contains(where: { $0.count > limits.maxIdLength }) { problems.append("an action id over maxIdLength") }
        if Set(rank.actionIDs).count != rank.actionIDs.count { problems.append("duplicate action ids") }
        if !rank.excluded.isSubset(of: Set(rank.actionIDs)) { problems.append("an excluded id that is no action") }
        if !rank.actionIDs.isEmpty, rank.actionIDs.allSatisfy({ rank.excluded.contains($0) }) {
            problems.append("every action excluded")
        }
        if eventID.count > limits.maxIdLength { problems.append("event id over maxIdLength") }

        var namespaces = 0
        var features = 0
        var badFeature: String?
        func visit(_ list: UnsafeMutablePointer<UnsafeMutablePointer<Personalizer__V1__Namespace>?>?, _ count: Int) {
            for index in 0..<count {
                let namespace = list![index]!.pointee
                namespaces += 1
                features += namespace.n_features
                for featureIndex in 0..<namespace.n_features {
                    let feature = namespace.features[featureIndex]!.pointee
                    switch feature.value_case {
                    case PERSONALIZER__V1__FEATURE__VALUE_TEXT:
                        break
                    case PERSONALIZER__V1__FEATURE__VALUE_NUMBER:
                        // Finite, and finite as the model's single-precision value.
                        if !feature.number.isFinite || !Float(feature.number).isFinite {
                            badFeature = badFeature ?? "feature value \(feature.number)"
                        }
                    default:
                        badFeature = badFeature ?? "a feature with no value"
                    }
                }
            }
        }
        visit(request.context_features, request.n_context_features)
        for index in 0..<request.n_actions {
            let action = request.actions[index]!.pointee
            visit(action.features, action.n_features)
        }
        if let badFeature { problems.append(badFeature) }
        if namespaces > limits.maxNamespacesPerRank { problems.append("over maxNamespacesPerRank") }
        if features > limits.maxFeaturesPerRank { problems.append("over maxFeaturesPerRank") }
        rank.problem = problems.isEmpty ? nil : problems.joined(separator: ", ")
        return rank
    }
}

extension RequestOracle.Call: CustomStringConvertible {
    var description: String {
        switch self {
        case .noCall: "no call"
        case .status: "Status"
        case .reward(let valid): "Reward(\(valid ? "valid" : "invalid"))"
        case .activate(let valid): "Activate(\(valid ? "valid" : "invalid"))"
        case .rank(let rank):
            "Rank(\(rank.actionIDs.count) actions, \(rank.excluded.count) excluded, "
                + "\(rank.problem.map { "invalid: \($0)" } ?? "valid"))"
        }
    }
}

/// A protobuf-c string's bytes (up to its NUL).
func cBytes(_ string: UnsafeMutablePointer<CChar>?) -> [UInt8] {
    guard let string else { return [] }
    return Array(UnsafeRawBufferPointer(start: string, count: strlen(string)))
}

/// A Rank answer's ids as bytes, read with protobuf-c (`MessageCodec.decodeResponse` gives
/// Swift strings, which repair invalid UTF-8 and so could make two ids look alike).
struct RawRanking {
    var ids: [[UInt8]] = []
    var rewardActionID: [UInt8] = []

    init?(_ payload: UnsafeRawBufferPointer) {
        guard let message = personalizer__v1__response__unpack(
            nil, payload.count, payload.baseAddress?.assumingMemoryBound(to: UInt8.self)) else { return nil }
        defer { personalizer__v1__response__free_unpacked(message, nil) }
        guard message.pointee.result_case == PERSONALIZER__V1__RESPONSE__RESULT_RANK else { return nil }
        let rank = message.pointee.rank.pointee
        for index in 0..<rank.n_ranking { ids.append(cBytes(rank.ranking[index]!.pointee.id)) }
        rewardActionID = cBytes(rank.reward_action_id)
    }
}
