/// Reads what the load generator needs from a `Response` payload in place: the id, which call it
/// answers, the chosen action of a Rank, the counters of a Status, the code of an Error. No
/// protobuf-c, no copies, no allocation.
public enum ResponseKind: UInt8, Sendable {
    case none, rank, reward, activate, status, error
}

/// The Status counters (field numbers as in `StatusResponse`).
public struct ServerStatus: Sendable, Equatable {
    public var modelVersion: UInt64 = 0
    public var rankCalls: UInt64 = 0
    public var rewardCalls: UInt64 = 0
    public var learnedEvents: UInt64 = 0
    public var pendingEvents: UInt64 = 0
    public var activateCalls: UInt64 = 0
    public var unmatchedRewards: UInt64 = 0
    public var unmatchedActivations: UInt64 = 0
    public var droppedNotActivated: UInt64 = 0
    public var backpressureStalls: UInt64 = 0
    public var publishedAtUnixMilliseconds: UInt64 = 0

    public init() {}

    /// Ranked events the trainer has not learned from yet (waiting for their window, or behind).
    public var trainerLag: UInt64 { rankCalls &- min(rankCalls, learnedEvents) }
}

public struct ScannedResponse: Sendable, Equatable {
    public var id: UInt64 = 0
    public var kind: ResponseKind = .none
    /// Index of the Rank's `reward_action_id` when it is an `a000`-style id, else -1.
    public var chosenAction: Int = -1
    public var modelVersion: UInt64 = 0
    public var errorCode: UInt32 = 0
    /// Where the Error's message sits in the payload.
    public var errorMessageOffset = 0
    public var errorMessageLength = 0
    public var status = ServerStatus()

    public init() {}
}

public enum ResponseScanner {
    /// Scans one payload (without its length prefix); nil if it is not a well-formed Response.
    public static func scan(_ payload: UnsafeRawBufferPointer) -> ScannedResponse? {
        var result = ScannedResponse()
        var reader = WireReader(payload)
        while !reader.isAtEnd {
            guard let (field, type) = reader.readTag() else { return nil }
            switch (field, type) {
            case (1, .varint):
                guard let id = reader.readVarint() else { return nil }
                result.id = id
            case (10, .lengthDelimited):
                guard let body = reader.readLengthDelimited(), scanRank(body, into: &result) else { return nil }
                result.kind = .rank
            case (11, .lengthDelimited), (12, .lengthDelimited):
                guard reader.readLengthDelimited() != nil else { return nil }
                result.kind = field == 11 ? .reward : .activate
            case (13, .lengthDelimited):
                guard let body = reader.readLengthDelimited(), scanStatus(body, into: &result.status) else { return nil }
                result.kind = .status
            case (15, .lengthDelimited):
                guard let body = reader.readLengthDelimited(),
                      scanError(body, base: payload.baseAddress, into: &result) else { return nil }
                result.kind = .error
            default:
                guard reader.skip(type) else { return nil }
            }
        }
        return result
    }

    private static func scanRank(_ body: UnsafeRawBufferPointer, into result: inout ScannedResponse) -> Bool {
        var reader = WireReader(body)
        while !reader.isAtEnd {
            guard let (field, type) = reader.readTag() else { return false }
            switch (field, type) {
            case (3, .lengthDelimited):
                guard let id = reader.readLengthDelimited() else { return false }
                result.chosenAction = EnvironmentSpec.actionIndex(id) ?? -1
            case (4, .varint):
                guard let version = reader.readVarint() else { return false }
                result.modelVersion = version
            default:
                guard reader.skip(type) else { return false }
            }
        }
        return true
    }

    private static func scanStatus(_ body: UnsafeRawBufferPointer, into status: inout ServerStatus) -> Bool {
        var reader = WireReader(body)
        while !reader.isAtEnd {
            guard let (field, type) = reader.readTag() else { return false }
            guard type == .varint else {
                guard reader.skip(type) else { return false }
                continue
            }
            guard let value = reader.readVarint() else { return false }
            switch field {
            case 1: status.modelVersion = value
            case 2: status.rankCalls = value
            case 3: status.rewardCalls = value
            case 4: status.learnedEvents = value
            case 5: status.pendingEvents = value
            case 6: status.activateCalls = value
            case 7: status.unmatchedRewards = value
            case 8: status.unmatchedActivations = value
            case 9: status.droppedNotActivated = value
            case 10: status.backpressureStalls = value
            case 11: status.publishedAtUnixMilliseconds = value
            default: break
            }
        }
        return true
    }

    private static func scanError(_ body: UnsafeRawBufferPointer, base: UnsafeRawPointer?,
                                  into result: inout ScannedResponse) -> Bool {
        var reader = WireReader(body)
        while !reader.isAtEnd {
            guard let (field, type) = reader.readTag() else { return false }
            switch (field, type) {
            case (1, .varint):
                guard let code = reader.readVarint() else { return false }
                result.errorCode = UInt32(truncatingIfNeeded: code)
            case (2, .lengthDelimited):
                guard let message = reader.readLengthDelimited() else { return false }
                if let base, let start = message.baseAddress {
                    result.errorMessageOffset = start - base
                    result.errorMessageLength = message.count
                }
            default:
                guard reader.skip(type) else { return false }
            }
        }
        return true
    }

    /// gRPC's canonical code names, for reports.
    public static func codeName(_ code: UInt32) -> String {
        let names = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                     "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                     "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                     "UNAUTHENTICATED"]
        return Int(code) < names.count ? names[Int(code)] : "code \(code)"
    }
}
