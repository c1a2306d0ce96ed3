/// What a run measured, and its two renderings: a table for people and JSON for scripts.
public struct CallTotals: Sendable, Equatable {
    public var count: UInt64 = 0
    public var perSecond = 0.0
    public var replyBytes = 0.0
    public var latency = LatencySummary()
    public init() {}
}

/// One second of the run.
public struct TimelinePoint: Sendable, Equatable {
    /// Seconds since the start, at the end of this second.
    public var t = 0.0
    public var warmup = false
    public var ranks: UInt64 = 0
    public var rewards: UInt64 = 0
    public var statuses: UInt64 = 0
    public var clicks: UInt64 = 0
    public var errors: UInt64 = 0
    public var p50 = 0.0
    public var p99 = 0.0
    public var modelVersion: UInt64 = 0
    public var server: ServerStatus?
    public var serverRSSKilobytes: Int?
    public init() {}

    public var averageReward: Double? { ranks > 0 ? Double(clicks) / Double(ranks) : nil }
}

public struct LoadReport: Sendable {
    public var options: LoadOptions
    public var requestBytes: (rank: Int, reward: Int, status: Int) = (0, 0, 0)
    public var measuredSeconds = 0.0
    public var rank = CallTotals()
    public var reward = CallTotals()
    public var status = CallTotals()
    public var primarySpectrum: [(Double, Double)] = []
    public var errors: UInt64 = 0
    public var errorsByCode: [UInt32: UInt64] = [:]
    public var protocolErrors: UInt64 = 0
    public var connectionFailures: [String] = []
    public var firstError: String?
    public var clicks: UInt64 = 0
    public var timeline: [TimelinePoint] = []
    public var serverStart: ServerStatus?
    public var serverEnd: ServerStatus?
    public var serverRSSStart: Int?
    public var serverRSSEnd: Int?
    /// CPU used during the measured window: this process, and the server (`--server-pid`) with its
    /// main (I/O) thread alone.
    public var clientCPUSeconds: Double?
    public var serverCPUSeconds: Double?
    public var serverMainThreadCPUSeconds: Double?

    public init(options: LoadOptions) { self.options = options }

    public var primary: CallTotals { options.mix == .status ? status : rank }
    public var averageReward: Double? { rank.count > 0 ? Double(clicks) / Double(rank.count) : nil }
    /// Rank+Reward pairs completed per second (the smaller of the two rates).
    public var pairsPerSecond: Double { min(rank.perSecond, reward.perSecond) }
    public var failed: Bool { !connectionFailures.isEmpty }

    /// Calls that CPU time is divided by: Rank+Reward pairs, or primary calls.
    public var callsForCPU: UInt64 { options.mix == .rankReward ? min(rank.count, reward.count) : primary.count }

    /// Microseconds of CPU per call (per pair with Rank+Reward).
    public func cpuMicrosecondsPerCall(_ seconds: Double?) -> Double? {
        guard let seconds, callsForCPU > 0 else { return nil }
        return seconds * 1e6 / Double(callsForCPU)
    }

    /// The learning curve: the run (warm-up included) cut into `windows` equal parts.
    public func learningCurve(windows: Int = 10) -> [(t: Double, ranks: UInt64, averageReward: Double?)] {
        guard !timeline.isEmpty else { return [] }
        let size = max(1, Int((Double(timeline.count) / Double(windows)).rounded(.up)))
        return stride(from: 0, to: timeline.count, by: size).map { start in
            let part = timeline[start..<min(timeline.count, start + size)]
            let ranks = part.reduce(0) { $0 + $1.ranks }
            let clicks = part.reduce(0) { $0 + $1.clicks }
            return (part.last!.t, ranks, ranks > 0 ? Double(clicks) / Double(ranks) : nil)
        }
    }

    // MARK: JSON

    public var json: JSON {
        let spec = options.environment
        var fields: [(String, JSON)] = [
            ("tool", .string("personalizer-load")),
            ("target", .string(options.expect == .raw ? "raw" : "server")),
            ("config", .object([
                ("socket", .string(options.socketPath)),
                ("connections", .int(options.connections)),
                ("depth", .int(options.depth)),
                ("threads", .int(options.threads)),
                ("duration_s", .number(options.durationSeconds)),
                ("warmup_s", .number(options.warmupSeconds)),
                ("loop_mode", .string(options.isOpenLoop ? "open" : "closed")),
                ("rate", options.rate.map { .number($0) } ?? .null),
                ("mix", .string(options.mix.rawValue)),
                ("loop", .string(options.loop)),
                ("expect", .string(options.expect.rawValue)),
                ("actions", .int(spec.actions)),
                ("action_features", .int(spec.actionFeatures)),
                ("action_namespaces", .int(spec.actionNamespaces)),
                ("context_features", .int(spec.contextFeatures)),
                ("context_namespaces", .int(spec.contextNamespaces)),
                ("segments", .int(spec.segments)),
                ("reward_delay_s", .number(options.rewardDelaySeconds)),
                ("reward_rate", .number(options.rewardRate)),
                ("seed", .int(Int(truncatingIfNeeded: options.seed))),
            ])),
            ("request_bytes", .object([("rank", .int(requestBytes.rank)), ("reward", .int(requestBytes.reward)),
                                       ("status", .int(requestBytes.status))])),
            ("reply_bytes", .object([("rank", .number(rank.replyBytes)), ("reward", .number(reward.replyBytes)),
                                     ("status", .number(status.replyBytes))])),
            ("measured_s", .number(measuredSeconds)),
            ("rank_per_second", .number(rank.perSecond)),
            ("reward_per_second", .number(reward.perSecond)),
            ("status_per_second", .number(status.perSecond)),
            ("pairs_per_second", .number(options.mix == .rankReward ? pairsPerSecond : 0)),
            ("calls", .object([("rank", .int(Int(rank.count))), ("reward", .int(Int(reward.count))),
                               ("status", .int(Int(status.count)))])),
            ("latency_us", primary.latency.json),
            ("latency_us_by_call", .object([("rank", rank.latency.json), ("reward", reward.latency.json),
                                            ("status", status.latency.json)])),
            ("latency_percentiles_us", .array(primarySpectrum.map { .array([.number($0.0), .number($0.1)]) })),
            ("cpu_us_per_call", .object([
                ("client", cpuMicrosecondsPerCall(clientCPUSeconds).map { .number($0) } ?? .null),
                ("server", cpuMicrosecondsPerCall(serverCPUSeconds).map { .number($0) } ?? .null),
                ("server_main_thread", cpuMicrosecondsPerCall(serverMainThreadCPUSeconds).map { .number($0) } ?? .null),
            ])),
            ("errors", .int(Int(errors + protocolErrors))),
            ("errors_by_code", .object(errorsByCode.sorted { $0.key < $1.key }.map {
                (ResponseScanner.codeName($0.key), .int(Int($0.value)))
            })),
            ("protocol_errors", .int(Int(protocolErrors))),
            ("connection_failures", .array(connectionFailures.map { .string($0) })),
            ("first_error", firstError.map { .string($0) } ?? .null),
            ("average_reward", averageReward.map { .number($0) } ?? .null),
            ("reward_reference", .object([("first_action", .number(spec.firstActionReward)),
                                          ("random", .number(spec.randomReward)), ("best", .number(spec.bestReward))])),
            ("learning_curve", .array(learningCurve().map {
                .object([("t", .number($0.t)), ("ranks", .int(Int($0.ranks))),
                         ("average_reward", $0.averageReward.map { .number($0) } ?? .null)])
            })),
        ]
        if serverStart != nil || serverEnd != nil || serverRSSStart != nil {
            var server: [(String, JSON)] = []
            if let start = serverStart { server.append(("status_start", Self.statusJSON(start))) }
            if let end = serverEnd { server.append(("status_end", Self.statusJSON(end))) }
            let lags = timeline.compactMap { $0.server?.trainerLag }
            server.append(("trainer_lag_max", lags.max().map { .int(Int($0)) } ?? .null))
            server.append(("trainer_lag_end", serverEnd.map { .int(Int($0.trainerLag)) } ?? .null))
            server.append(("rss_kb_start", serverRSSStart.map { .int($0) } ?? .null))
            server.append(("rss_kb_end", serverRSSEnd.map { .int($0) } ?? .null))
            fields.append(("server", .object(server)))
        }
        fields.append(("timeline", .array(timeline.map { point in
            var entry: [(String, JSON)] = [
                ("t", .number(point.t)), ("warmup", .bool(point.warmup)), ("rank", .int(Int(point.ranks))),
                ("reward", .int(Int(point.rewards))), ("status", .int(Int(point.statuses))),
                ("errors", .int(Int(point.errors))),
                ("average_reward", point.averageReward.map { .number($0) } ?? .null),
                ("p50_us", .number(point.p50)), ("p99_us", .number(point.p99)),
            ]
            if let server = point.server {
                entry.append(("model_version", .int(Int(server.modelVersion))))
                entry.append(("rank_calls", .int(Int(server.rankCalls))))
                entry.append(("learned_events", .int(Int(server.learnedEvents))))
                entry.append(("pending_events", .int(Int(server.pendingEvents))))
                entry.append(("trainer_lag", .int(Int(server.trainerLag))))
                entry.append(("backpressure_stalls", .int(Int(server.backpressureStalls))))
            }
            if let rss = point.serverRSSKilobytes { entry.append(("server_rss_kb", .int(rss))) }
            return .object(entry)
        })))
        return .object(fields)
    }

    static func statusJSON(_ status: ServerStatus) -> JSON {
        .object([
            ("model_version", .int(Int(status.modelVersion))), ("rank_calls", .int(Int(status.rankCalls))),
            ("reward_calls", .int(Int(status.rewardCalls))), ("learned_events", .int(Int(status.learnedEvents))),
            ("pending_events", .int(Int(status.pendingEvents))), ("unmatched_rewards", .int(Int(status.unmatchedRewards))),
            ("backpressure_stalls", .int(Int(status.backpressureStalls))),
        ])
    }

    // MARK: table

    public var table: String {
        let spec = options.environment
        var lines: [String] = []
        let target = options.expect == .raw ? "raw frames (echo baseline)" : "personalizerd"
        lines.append("personalizer-load → \(options.socketPath) (\(target))")
        let loopMode = options.rate.map { "open loop at \(Self.grouped($0)) calls/s" } ?? "closed loop"
        lines.append("  \(options.connections) connection\(options.connections == 1 ? "" : "s") × \(options.depth) in flight, "
            + "\(options.threads) thread\(options.threads == 1 ? "" : "s"), \(loopMode), mix \(options.mix.rawValue), "
            + "\(Self.fixed(measuredSeconds, 1)) s measured after \(Self.fixed(options.warmupSeconds, 1)) s warm-up")
        if options.mix != .status {
            lines.append("  rank: \(spec.actions) actions × \(spec.actionFeatures) features (\(spec.actionNamespaces) namespace\(spec.actionNamespaces == 1 ? "" : "s")), "
                + "context \(spec.contextFeatures) features in \(spec.contextNamespaces) namespaces, \(spec.segments) segments; "
                + "request \(requestBytes.rank) B, reply \(Int(rank.replyBytes.rounded())) B")
        }
        lines.append("")
        lines.append(Self.row(["call", "count", "per s", "p50", "p90", "p99", "p99.9", "max"]) + "   (latency in µs)")
        for (name, totals) in [("rank", rank), ("reward", reward), ("status", status)] where totals.count > 0 {
            let l = totals.latency
            lines.append(Self.row([name, Self.grouped(Double(totals.count)), Self.grouped(totals.perSecond),
                                   Self.fixed(l.p50, 1), Self.fixed(l.p90, 1), Self.fixed(l.p99, 1),
                                   Self.fixed(l.p999, 1), Self.fixed(l.max, 1)]))
        }
        if options.mix == .rankReward { lines.append("Rank+Reward pairs per second: \(Self.grouped(pairsPerSecond))") }
        lines.append("")
        var summary = "errors \(errors + protocolErrors)"
        if !errorsByCode.isEmpty {
            summary += " (" + errorsByCode.sorted { $0.key < $1.key }.map { "\(ResponseScanner.codeName($0.key)) \($0.value)" }
                .joined(separator: ", ") + ")"
        }
        if let averageReward, options.mix != .status {
            summary += "   average reward \(Self.fixed(averageReward, 3)) (first action \(Self.fixed(spec.firstActionReward, 3)), "
                + "random \(Self.fixed(spec.randomReward, 3)), best \(Self.fixed(spec.bestReward, 3)))"
        }
        lines.append(summary)
        if let firstError { lines.append("first error: \(firstError)") }
        for failure in connectionFailures { lines.append("connection failed: \(failure)") }
        if let start = serverStart, let end = serverEnd {
            let lagMax = timeline.compactMap { $0.server?.trainerLag }.max() ?? end.trainerLag
            lines.append("server: model version \(start.modelVersion) → \(end.modelVersion), ranked +\(Self.grouped(Double(end.rankCalls &- start.rankCalls))), "
                + "learned +\(Self.grouped(Double(end.learnedEvents &- start.learnedEvents))), trainer lag (ranked − learned) "
                + "max \(Self.grouped(Double(lagMax))), at end \(Self.grouped(Double(end.trainerLag))), "
                + "backpressure stalls +\(end.backpressureStalls &- start.backpressureStalls)")
        }
        if let client = cpuMicrosecondsPerCall(clientCPUSeconds) {
            var line = "CPU per \(options.mix == .rankReward ? "pair" : "call"): client \(Self.fixed(client, 2)) µs"
            if let server = cpuMicrosecondsPerCall(serverCPUSeconds),
               let main = cpuMicrosecondsPerCall(serverMainThreadCPUSeconds) {
                line += ", server \(Self.fixed(server, 2)) µs (main thread \(Self.fixed(main, 2)) µs, others \(Self.fixed(server - main, 2)) µs)"
            }
            lines.append(line)
        }
        if let start = serverRSSStart, let end = serverRSSEnd {
            lines.append("server RSS: \(Self.grouped(Double(start))) KiB → \(Self.grouped(Double(end))) KiB")
        }
        return lines.joined(separator: "\n")
    }

    static func row(_ cells: [String]) -> String {
        let widths = [7, 12, 12, 9, 9, 9, 9, 9]
        return cells.enumerated().map { index, cell in
            let width = widths[min(index, widths.count - 1)]
            let pad = String(repeating: " ", count: max(0, width - cell.count))
            return index == 0 ? cell + pad : pad + cell
        }.joined(separator: " ")
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        var text = (value < 0 && scaled != 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let fraction = String(scaled % Int64(scale))
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }

    /// Thousands separated by commas, no decimals.
    static func grouped(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let digits = String(Int64(value.rounded()).magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < -0.5 ? "-" : "") + out
    }
}
