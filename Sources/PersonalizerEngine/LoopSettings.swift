import PersonalizerModel

/// The settings of one learning loop, as the configuration file names them.
public struct LoopSettings: Sendable, Equatable {
    /// Share of decisions that explore, for an ε-greedy policy (overrides the policy's `--epsilon`
    /// when set). Nil: the policy's own exploration.
    public var explorationPercentage: Double?
    /// How long after a Rank its rewards are accepted; then the event is learned.
    public var rewardWaitTimeSeconds: Double = 600
    /// The reward of an event that got none within its wait time.
    public var defaultReward: Double = 0
    public var rewardAggregation: RewardAggregation = .earliest
    /// How often the trainer publishes a new model version (fractions allowed).
    public var modelUpdateIntervalSeconds: Double = 60
    /// How long logged events are kept.
    public var logRetentionDays: Double = 90
    /// Vowpal Wabbit-style arguments of the learner and its exploration.
    public var learningPolicy: String = LearningPolicy.defaultArguments
    /// Learn an event at its first reward instead of at the end of its wait time (`earliest` only).
    public var learnOnFirstReward = false
    /// When an accepted event is on disk: soon (`interval`) or before the answer (`ack`).
    public var durability: DurabilityMode = .interval
    /// In `interval` mode, the longest time between fsyncs of the event log.
    public var fsyncIntervalMilliseconds: Double = 50
    /// How often the trainer saves its whole state, so a restart replays little of the log.
    public var checkpointIntervalSeconds: Double = 60
    /// Events waiting for their reward window at most; past it a Rank is still answered and
    /// logged, but not learned from (serving never stops because learning is saturated).
    public var maxPendingEvents = 1_000_000
    /// When set, requests to the loop must carry it (`Request.token`).
    public var token: String?

    public init() {}

    public var joinSettings: JoinSettings {
        JoinSettings(rewardWaitNanoseconds: Self.nanoseconds(rewardWaitTimeSeconds),
                     defaultReward: defaultReward, aggregation: rewardAggregation,
                     learnOnFirstReward: learnOnFirstReward)
    }

    public var modelUpdateIntervalNanoseconds: UInt64 { Self.nanoseconds(modelUpdateIntervalSeconds) }

    static func nanoseconds(_ seconds: Double) -> UInt64 { UInt64((seconds * 1e9).rounded()) }

    /// The learning policy with `explorationPercentage` applied; throws when the settings
    /// contradict each other or the policy does not parse.
    public func effectivePolicy() throws(ConfigurationError) -> LearningPolicy {
        var policy: LearningPolicy
        do {
            policy = try LearningPolicy.parse(learningPolicy)
        } catch {
            throw ConfigurationError("learningPolicy: \(error)")
        }
        if let explorationPercentage {
            guard case .epsilonGreedy = policy.exploration else {
                throw ConfigurationError(
                    "explorationPercentage applies to epsilon-greedy exploration only; learningPolicy chooses \(policy.exploration)")
            }
            policy.exploration = .epsilonGreedy(epsilon: explorationPercentage)
        }
        if learnOnFirstReward && rewardAggregation != .earliest {
            throw ConfigurationError("learnOnFirstReward needs rewardAggregation \"earliest\", not \"\(rewardAggregation.rawValue)\"")
        }
        return policy
    }
}

/// Server-wide limits on what one request may ask for.
public struct ServerLimits: Sendable, Equatable {
    public var maxFrameBytes = 4 * 1024 * 1024
    public var maxActionsPerRank = 256
    public var maxIdLength = 256
    public var maxNamespacesPerRank = 1024
    public var maxFeaturesPerRank = 65_536
    /// Events buffered between the I/O thread and each loop's trainer.
    public var ringCapacity = 65_536

    /// Bytes of encoded events buffered for each loop's trainer: 16 MiB, or room for two of the
    /// largest events a request within these limits makes, whichever is more.
    public var ringBytes: Int {
        let largestEvent = maxFrameBytes + 8 * maxFeaturesPerRank + 9 * maxNamespacesPerRank
            + 24 * maxActionsPerRank + maxIdLength + 4096
        return max(16 << 20, 2 * largestEvent + 64)
    }
    /// Open connections; one more is answered RESOURCE_EXHAUSTED and closed.
    public var maxConnections = 4096
    /// Answers a connection has not read yet; past it the connection is closed.
    public var maxBufferedOutputBytes = 16 * 1024 * 1024
    /// How long part of a frame may wait for the rest before the connection is closed.
    public var partialFrameTimeoutSeconds: Double = 10

    public init() {}
}

/// A configuration problem, naming the setting.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
