import PersonalizerModel

/// What the trainer needs of a Rank to learn from it once its reward is known.
public struct RankedExample: Sendable, Equatable {
    /// Context features, shared by all actions.
    public var shared: HashedFeatures
    /// The actions that were scored (excluded ones left out), in request order.
    public var actions: [HashedFeatures]
    /// Index into `actions` of the action shown.
    public var chosenIndex: Int
    /// The probability with which it was chosen.
    public var probability: Double
    /// The model version that made the decision.
    public var modelVersion: UInt64

    public init(shared: HashedFeatures, actions: [HashedFeatures], chosenIndex: Int, probability: Double,
                modelVersion: UInt64) {
        self.shared = shared
        self.actions = actions
        self.chosenIndex = chosenIndex
        self.probability = probability
        self.modelVersion = modelVersion
    }
}

/// One event from the I/O thread to a loop's trainer, stamped with the time it was accepted.
public enum LoopEvent: Sendable {
    /// `overCapacity`: ranked past `maxPendingEvents`, to be logged but not learned from.
    case rank(eventID: String, time: UInt64, deferred: Bool, example: RankedExample, export: RankExport?,
              overCapacity: Bool = false)
    case reward(eventID: String, time: UInt64, value: Double)
    case activate(eventID: String, time: UInt64)
}

/// An immutable model version. Published by the trainer, read by the I/O thread.
public final class ModelSnapshot: Sendable {
    public let version: UInt64
    public let model: ScoringModel
    public let publishedAtNanoseconds: UInt64

    public init(version: UInt64, model: ScoringModel, publishedAtNanoseconds: UInt64) {
        self.version = version
        self.model = model
        self.publishedAtNanoseconds = publishedAtNanoseconds
    }
}
