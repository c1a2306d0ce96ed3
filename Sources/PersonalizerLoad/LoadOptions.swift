/// What one load run does. The command line fills it; `validate()` names the first problem.
public enum CallMix: String, Sendable, CaseIterable {
    /// Rank calls only.
    case rank
    /// Each Rank's event gets a Reward (with `rewardRate`, after `rewardDelaySeconds`).
    case rankReward = "rank-reward"
    /// Status calls only: the transport's floor.
    case status
}

public enum ReplyExpectation: String, Sendable, CaseIterable {
    /// Replies are `Response` messages: ids are checked, errors counted, the chosen action read.
    case response
    /// Replies are opaque frames (the raw echo baseline): one frame answers one request.
    case raw
}

public struct LoadOptionsError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

public struct LoadOptions: Sendable, Equatable {
    public var socketPath = "./data/personalizer.sock"
    public var connections = 1
    /// Requests in flight per connection.
    public var depth = 1
    /// Threads that drive the connections (each runs one poll loop over its share).
    public var threads = 1
    public var durationSeconds = 10.0
    public var warmupSeconds = 1.0
    /// Open loop: primary calls per second over all connections; nil is closed loop.
    public var rate: Double?
    public var loop = ""
    public var mix = CallMix.rank
    public var environment = EnvironmentSpec()
    public var rewardDelaySeconds = 0.0
    public var rewardRate = 1.0
    public var expect = ReplyExpectation.response
    public var seed: UInt64 = 1
    /// Poll the server's Status once a second (response mode only).
    public var pollStatus = true
    /// Sample this process's resident memory once a second (the server's pid).
    public var serverPID: Int32?
    /// How long to wait for the answers still in flight at the end.
    public var drainSeconds = 5.0

    public init() {}

    public var isOpenLoop: Bool { rate != nil }

    /// The socket path must fit `sockaddr_un.sun_path` (108 bytes with its NUL).
    public static let maxSocketPathBytes = 107

    public func validate() throws(LoadOptionsError) {
        guard !socketPath.isEmpty else { throw LoadOptionsError("--socket: empty path") }
        guard socketPath.utf8.count <= Self.maxSocketPathBytes else {
            throw LoadOptionsError("--socket: path of \(socketPath.utf8.count) bytes is longer than the limit of \(Self.maxSocketPathBytes) for a Unix socket")
        }
        guard (1...1024).contains(connections) else { throw LoadOptionsError("--connections must be 1 to 1024, got \(connections)") }
        guard (1...65_536).contains(depth) else { throw LoadOptionsError("--depth must be 1 to 65536, got \(depth)") }
        guard threads >= 1, threads <= connections else {
            throw LoadOptionsError("--threads must be 1 to the number of connections (\(connections)), got \(threads)")
        }
        guard durationSeconds.isFinite, durationSeconds > 0, durationSeconds <= 86_400 else {
            throw LoadOptionsError("--duration must be more than 0 and at most 86400 seconds, got \(durationSeconds)")
        }
        guard warmupSeconds.isFinite, warmupSeconds >= 0, warmupSeconds <= 86_400 else {
            throw LoadOptionsError("--warmup must be 0 to 86400 seconds, got \(warmupSeconds)")
        }
        if let rate {
            guard rate.isFinite, rate > 0, rate <= 100_000_000 else {
                throw LoadOptionsError("--rate must be more than 0 and at most 1e8 calls per second, got \(rate)")
            }
        }
        let spec = environment
        guard (1...EnvironmentSpec.maxActions - 1).contains(spec.actions) else {
            throw LoadOptionsError("--actions must be 1 to \(EnvironmentSpec.maxActions - 1), got \(spec.actions)")
        }
        guard spec.contextNamespaces >= 1, spec.contextNamespaces <= 64 else {
            throw LoadOptionsError("--context-namespaces must be 1 to 64, got \(spec.contextNamespaces)")
        }
        guard spec.contextFeatures >= spec.contextNamespaces, spec.contextFeatures <= 10_000 else {
            throw LoadOptionsError("--context-features must be at least --context-namespaces (\(spec.contextNamespaces)) and at most 10000, got \(spec.contextFeatures)")
        }
        guard spec.actionNamespaces >= 1, spec.actionNamespaces <= 64 else {
            throw LoadOptionsError("--action-namespaces must be 1 to 64, got \(spec.actionNamespaces)")
        }
        guard spec.actionFeatures >= spec.actionNamespaces, spec.actionFeatures <= 10_000 else {
            throw LoadOptionsError("--action-features must be at least --action-namespaces (\(spec.actionNamespaces)) and at most 10000, got \(spec.actionFeatures)")
        }
        guard (1...10_000).contains(spec.segments) else {
            throw LoadOptionsError("--segments must be 1 to 10000, got \(spec.segments)")
        }
        guard rewardDelaySeconds.isFinite, rewardDelaySeconds >= 0, rewardDelaySeconds <= 3600 else {
            throw LoadOptionsError("--reward-delay must be 0 to 3600 seconds, got \(rewardDelaySeconds)")
        }
        guard rewardRate.isFinite, (0...1).contains(rewardRate) else {
            throw LoadOptionsError("--reward-rate must be 0 to 1, got \(rewardRate)")
        }
        guard drainSeconds.isFinite, drainSeconds >= 0 else {
            throw LoadOptionsError("--drain must be 0 or more seconds, got \(drainSeconds)")
        }
        if mix != .rankReward, rewardDelaySeconds != 0 || rewardRate != 1 {
            throw LoadOptionsError("--reward-delay and --reward-rate apply only to --mix rank-reward")
        }
        if let pid = serverPID, pid <= 0 { throw LoadOptionsError("--server-pid must be a process id, got \(pid)") }
    }
}
