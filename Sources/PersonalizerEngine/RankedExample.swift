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
