/// Swift values of the wire contract's messages, for clients and tests. The server itself
/// works on protobuf-c's structs directly.

public enum FeatureValue: Sendable, Equatable {
    case text(String)
    case number(Double)
}

public struct Feature: Sendable, Equatable {
    public var name: String
    public var value: FeatureValue
    public init(_ name: String, _ value: FeatureValue) { self.name = name; self.value = value }
    public static func text(_ name: String, _ value: String) -> Feature { Feature(name, .text(value)) }
    public static func number(_ name: String, _ value: Double) -> Feature { Feature(name, .number(value)) }
}

public struct FeatureNamespace: Sendable, Equatable {
    public var name: String
    public var features: [Feature]
    public init(_ name: String, _ features: [Feature]) { self.name = name; self.features = features }
}

public struct RankAction: Sendable, Equatable {
    public var id: String
    public var features: [FeatureNamespace]
    public init(id: String, features: [FeatureNamespace] = []) { self.id = id; self.features = features }
}

public struct RankCall: Sendable, Equatable {
    public var context: [FeatureNamespace]
    public var actions: [RankAction]
    public var excludedActionIDs: [String]
    public var eventID: String
    public var deferActivation: Bool

    public init(context: [FeatureNamespace] = [], actions: [RankAction], excludedActionIDs: [String] = [],
                eventID: String = "", deferActivation: Bool = false) {
        self.context = context
        self.actions = actions
        self.excludedActionIDs = excludedActionIDs
        self.eventID = eventID
        self.deferActivation = deferActivation
    }
}

public enum Call: Sendable, Equatable {
    case rank(RankCall)
    case reward(eventID: String, value: Double)
    case activate(eventID: String)
    case status
    /// A request with no call set (the server refuses it; for tests).
    case none
}

public struct Request: Sendable, Equatable {
    public var id: UInt64
    public var loop: String
    public var token: String
    public var call: Call
    public init(id: UInt64, loop: String = "", token: String = "", call: Call) {
        self.id = id
        self.loop = loop
        self.token = token
        self.call = call
    }
}

public struct RankedActionValue: Sendable, Equatable {
    public var id: String
    public var probability: Double
}

public struct RankResult: Sendable, Equatable {
    public var ranking: [RankedActionValue]
    public var eventID: String
    public var rewardActionID: String
    public var modelVersion: UInt64
}

public struct LoopStatus: Sendable, Equatable {
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
    public var logBytes: UInt64 = 0
    public var oldestEventUnixMilliseconds: UInt64 = 0
    public var lastFsyncUnixMilliseconds: UInt64 = 0
    public var storageError = ""
    public var overCapacityEvents: UInt64 = 0
    public init() {}
}

public enum ResponseResult: Sendable, Equatable {
    case rank(RankResult)
    case reward
    case activate
    case status(LoopStatus)
    case error(code: UInt32, message: String)
    case none
}

public struct Response: Sendable, Equatable {
    public var id: UInt64
    public var result: ResponseResult
}
