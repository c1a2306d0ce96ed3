#if canImport(Glibc)
import Glibc
#endif
import Histogram
import Synchronization

/// The times of one run (monotonic nanoseconds).
struct RunPlan {
    var start: UInt64
    /// Replies that arrive in [measureStart, end) are measured; before that is warm-up.
    var measureStart: UInt64
    var end: UInt64
    /// After `end`, how long to wait for the replies still in flight.
    var drainDeadline: UInt64
}

/// What the main thread reads while a worker runs (once a second, for the progress line and
/// the timeline). Each value has one writer, the worker, which stores running totals.
final class LiveCounters: Sendable {
    let ranks = Atomic<UInt64>(0)
    let rewards = Atomic<UInt64>(0)
    let statuses = Atomic<UInt64>(0)
    let clicks = Atomic<UInt64>(0)
    let errors = Atomic<UInt64>(0)
    let modelVersion = Atomic<UInt64>(0)
    /// Latency of the primary call over the last whole second, in nanoseconds.
    let intervalP50 = Atomic<UInt64>(0)
    let intervalP99 = Atomic<UInt64>(0)
    let finished = Atomic<Bool>(false)
}

/// Totals of the measured window, per call kind.
struct KindTotals {
    var completed: UInt64 = 0
    var replyBytes: UInt64 = 0
    var histogram = LatencyHistogram.make()
}

/// Drives a share of the connections from one thread with one poll loop. A thread with a single
/// connection whose window is full waits in a blocking `recv` instead (one system call fewer per
/// round trip, as a minimal ping-pong client would).
final class LoadWorker {
    let options: LoadOptions
    let connections: [LoadConnection]
    let live = LiveCounters()
    private let plan: RunPlan
    private let pollDescriptors: UnsafeMutablePointer<pollfd>
    private let segments: Int
    private let primary: ResponseKind

    // Running totals (all phases), mirrored into `live`.
    private var ranks: UInt64 = 0
    private var rewardsDone: UInt64 = 0
    private var statuses: UInt64 = 0
    private var clicks: UInt64 = 0
    private var errors: UInt64 = 0
    private var modelVersion: UInt64 = 0

    // The measured window.
    var rank = KindTotals()
    var reward = KindTotals()
    var status = KindTotals()
    var measuredClicks: UInt64 = 0
    var measuredErrors: UInt64 = 0
    var errorsByCode: [UInt32: UInt64] = [:]
    var protocolErrors: UInt64 = 0
    var firstError: String?
    private var interval = LatencyHistogram.make()

    init(options: LoadOptions, connections: [LoadConnection], plan: RunPlan) {
        self.options = options
        self.connections = connections
        self.plan = plan
        segments = options.environment.segments
        primary = options.mix == .status ? .status : .rank
        pollDescriptors = .allocate(capacity: connections.count)
        if let rate = options.rate {
            // Each connection takes an equal share of the rate, their schedules interleaved.
            let perConnection = UInt64(1e9 * Double(options.connections) / rate)
            for connection in connections {
                connection.interval = max(1, perConnection)
                connection.nextIntended = plan.start + perConnection * UInt64(connection.index) / UInt64(options.connections)
            }
        }
    }

    deinit { pollDescriptors.deallocate() }

    // MARK: the loop

    func run() {
        // Timer slack: wake within a microsecond, not the default 50, when the open loop waits.
        GNU.setTimerSlack(nanoseconds: 1)
        sleep(untilNanoseconds: plan.start)
        let openLoop = options.isOpenLoop
        let mix = options.mix
        var nextTick = plan.start + 1_000_000_000
        let single = connections.count == 1 ? connections[0] : nil
        while true {
            var now = monotonicNanoseconds()
            if now >= nextTick {
                publishInterval()
                nextTick += 1_000_000_000
            }
            let stopping = now >= plan.end
            if stopping {
                if now >= plan.drainDeadline || !connections.contains(where: { $0.isOpen && $0.inFlightCount > 0 }) { break }
            } else {
                for connection in connections { connection.fill(now: now, mix: mix, openLoop: openLoop, segments: segments) }
            }
            guard connections.contains(where: \.isOpen) else { break }
            publishTotals()

            if let single, single.isOpen, single.inFlightCount > 0, !single.wantsWrite,
               stopping || single.inFlightCount == single.depth {
                single.read(blocking: true, worker: self)
                continue
            }
            // Wait for replies, writable sockets or the next send time.
            var deadline = min(nextTick, stopping ? plan.drainDeadline : plan.end)
            if !stopping { for connection in connections { deadline = min(deadline, connection.nextDue(openLoop: openLoop)) } }
            var count = 0
            for connection in connections where connection.isOpen {
                var events = Int16(POLLIN)
                if connection.wantsWrite { events |= Int16(POLLOUT) }
                pollDescriptors[count] = pollfd(fd: connection.descriptor, events: events, revents: 0)
                count += 1
            }
            now = monotonicNanoseconds()
            var timeout = timespecFrom(nanoseconds: deadline > now ? deadline - now : 0)
            let ready = GNU.ppoll(pollDescriptors, nfds_t(count), &timeout, nil)
            guard ready > 0 else { continue }
            var slot = 0
            for connection in connections where connection.isOpen {
                let revents = Int32(pollDescriptors[slot].revents)
                slot += 1
                if revents & Int32(POLLOUT) != 0 { connection.flush() }
                if revents & (Int32(POLLIN) | Int32(POLLHUP) | Int32(POLLERR)) != 0 {
                    connection.read(blocking: false, worker: self)
                }
            }
        }
        publishInterval()
        publishTotals()
        live.finished.store(true, ordering: .releasing)
    }

    private func publishTotals() {
        live.ranks.store(ranks, ordering: .relaxed)
        live.rewards.store(rewardsDone, ordering: .relaxed)
        live.statuses.store(statuses, ordering: .relaxed)
        live.clicks.store(clicks, ordering: .relaxed)
        live.errors.store(errors + protocolErrors, ordering: .relaxed)
        live.modelVersion.store(modelVersion, ordering: .relaxed)
    }

    private func publishInterval() {
        if interval.totalCount > 0 {
            live.intervalP50.store(interval.valueAtPercentile(50), ordering: .relaxed)
            live.intervalP99.store(interval.valueAtPercentile(99), ordering: .relaxed)
            interval.reset()
        } else {
            live.intervalP50.store(0, ordering: .relaxed)
            live.intervalP99.store(0, ordering: .relaxed)
        }
    }

    // MARK: replies

    func protocolError(_ what: String) {
        protocolErrors += 1
        if firstError == nil { firstError = what }
    }

    /// One reply to the oldest request of `connection`.
    @inline(__always)
    func complete(_ entry: InFlight, payload: UnsafeRawBufferPointer, frameBytes: Int, now: UInt64,
                  on connection: LoadConnection) {
        var chosen = 0
        if options.expect == .response {
            guard let reply = ResponseScanner.scan(payload) else {
                protocolError("a reply is not a personalizer.v1.Response message (is this the real server? use --expect raw for the echo)")
                return
            }
            if reply.id != entry.requestID {
                protocolError("reply id \(reply.id) answers request \(entry.requestID): replies out of order")
            }
            if reply.kind == .error {
                errors += 1
                if now >= plan.measureStart, now < plan.end {
                    measuredErrors += 1
                    errorsByCode[reply.errorCode, default: 0] += 1
                }
                if firstError == nil {
                    let message = UnsafeRawBufferPointer(rebasing: payload[reply.errorMessageOffset..<(reply.errorMessageOffset + reply.errorMessageLength)])
                    firstError = "\(ResponseScanner.codeName(reply.errorCode)): \(String(decoding: message, as: UTF8.self))"
                }
                return
            }
            guard reply.kind == entry.kind else {
                protocolError("a \(entry.kind) request got a \(reply.kind) reply")
                return
            }
            if reply.kind == .rank {
                chosen = reply.chosenAction >= 0 ? reply.chosenAction : 0
                modelVersion = reply.modelVersion
            }
        }
        let latency = now &- entry.stamp
        let measured = now >= plan.measureStart && now < plan.end
        if entry.kind == primary { interval.recordLatency(nanoseconds: latency) }
        switch entry.kind {
        case .rank:
            ranks += 1
            let click = connection.rng.nextUnit()
                < options.environment.clickProbability(segment: Int(entry.segment), action: chosen)
            if click { clicks += 1 }
            if measured {
                rank.completed += 1
                rank.replyBytes += UInt64(frameBytes)
                rank.histogram.recordLatency(nanoseconds: latency)
                if click { measuredClicks += 1 }
            }
            if options.mix == .rankReward, now < plan.end,
               options.rewardRate >= 1 || connection.rng.nextUnit() < options.rewardRate {
                connection.rewards.push(.init(eventSequence: entry.eventSequence, value: click ? 1 : 0,
                                              due: now &+ UInt64(options.rewardDelaySeconds * 1e9)))
            }
        case .reward:
            rewardsDone += 1
            if measured {
                reward.completed += 1
                reward.replyBytes += UInt64(frameBytes)
                reward.histogram.recordLatency(nanoseconds: latency)
            }
        case .status:
            statuses += 1
            if measured {
                status.completed += 1
                status.replyBytes += UInt64(frameBytes)
                status.histogram.recordLatency(nanoseconds: latency)
            }
        default:
            break
        }
    }
}
