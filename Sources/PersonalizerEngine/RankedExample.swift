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

/// A Rank's example as the I/O thread submits it: borrowed views of features held elsewhere (its
/// scratch buffers, its action cache), so submitting retains nothing per action. Valid while
/// those owners are alive and unchanged.
public struct RankedExampleView {
    public var shared: FeatureBlock
    /// The actions that were scored, in request order.
    public var actions: UnsafeBufferPointer<FeatureBlock>
    public var chosenIndex: Int
    public var probability: Double
    public var modelVersion: UInt64

    public init(shared: FeatureBlock, actions: UnsafeBufferPointer<FeatureBlock>, chosenIndex: Int, probability: Double,
                modelVersion: UInt64) {
        self.shared = shared
        self.actions = actions
        self.chosenIndex = chosenIndex
        self.probability = probability
        self.modelVersion = modelVersion
    }
}

extension RankedExample {
    /// This example as a view, valid inside `body`.
    public func withView<R>(_ body: (RankedExampleView) throws -> R) rethrows -> R {
        try shared.withBlock { shared in
            try actions.withBlocks { actions in
                try body(RankedExampleView(shared: shared, actions: actions, chosenIndex: chosenIndex,
                                           probability: probability, modelVersion: modelVersion))
            }
        }
    }
}
