/// How the model learns and explores, parsed from Vowpal Wabbit-style arguments.
public struct LearningPolicy: Sendable, Equatable {
    /// The default policy of a loop (the hosted service's, with `-l 0.5` instead of 0.001).
    public static let defaultArguments = "--cb_explore_adf --epsilon 0.2 --power_t 0 -l 0.5 --cb_type mtr -q ::"

    /// How the chosen action's cost becomes regression targets (VW `--cb_type`).
    public enum CostEstimator: String, Sendable, Equatable, CaseIterable {
        /// Regress the chosen action's cost with importance weight 1/p.
        case mtr
        /// Regress every action on its inverse-propensity-scored cost (cost/p or 0).
        case ips
        /// Doubly robust: a second regressor's estimate, corrected by (cost - estimate)/p.
        case dr
    }

    public var exploration: ExplorationStrategy = .epsilonGreedy(epsilon: 0.05)
    public var costEstimator: CostEstimator = .mtr
    /// Interactions in the order given (`-q`, `--cubic`, `--interactions`).
    public var interactions: [Interaction] = []
    /// Weight table size is 2^bits (VW `-b`).
    public var bits: Int = 18
    public var learningRate: Double = 0.5
    public var powerT: Double = 0.5
    public var initialT: Double = 0
    public var l1: Double = 0
    public var l2: Double = 0
    /// `--noconstant`: no bias feature.
    public var noConstant: Bool = false

    public init() {}

    /// The weight vectors the learner keeps interleaved: 2 for `dr` (the policy and the
    /// reward regressor), as VW does, 1 otherwise.
    public var weightsPerSlot: Int { costEstimator == .dr ? 2 : 1 }

    /// Canonical arguments that parse back to this policy.
    public var arguments: String {
        var parts = ["--cb_explore_adf"]
        switch exploration {
        case .epsilonGreedy(let epsilon): parts += ["--epsilon", "\(epsilon)"]
        case .first(let count): parts += ["--first", "\(count)"]
        case .softmax(let lambda): parts += ["--softmax", "--lambda", "\(lambda)"]
        case .squareCB(let scale, let exponent):
            parts += ["--squarecb", "--gamma_scale", "\(scale)", "--gamma_exponent", "\(exponent)"]
        }
        parts += ["--cb_type", costEstimator.rawValue]
        for interaction in interactions { parts += interaction.arguments }
        parts += ["-b", "\(bits)", "-l", "\(learningRate)", "--power_t", "\(powerT)"]
        if initialT != 0 { parts += ["--initial_t", "\(initialT)"] }
        if l1 != 0 { parts += ["--l1", "\(l1)"] }
        if l2 != 0 { parts += ["--l2", "\(l2)"] }
        if noConstant { parts.append("--noconstant") }
        return parts.joined(separator: " ")
    }
}

/// One interaction term: 2 or 3 namespace keys (first bytes of namespace names); ':' is a
/// wildcard meaning any namespace.
public struct Interaction: Sendable, Equatable, Hashable, CustomStringConvertible {
    public static let wildcard: UInt8 = 0x3A // ':'

    public let keys: [UInt8]

    public init(keys: [UInt8]) {
        precondition(keys.count == 2 || keys.count == 3, "interactions have 2 or 3 namespaces")
        self.keys = keys
    }

    public init(_ text: String) {
        self.init(keys: Array(text.utf8))
    }

    public var order: Int { keys.count }
    public var hasWildcard: Bool { keys.contains(Self.wildcard) }

    public var description: String { String(decoding: keys, as: UTF8.self) }

    var arguments: [String] {
        keys.count == 2 ? ["-q", description] : ["--interactions", description]
    }
}
