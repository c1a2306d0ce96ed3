#if canImport(Glibc)
import Glibc
#endif
import Histogram

/// Runs a load: connects, starts the workers, samples once a second (progress line, timeline,
/// the server's Status and memory), then merges what the workers measured.
public enum LoadRunner {
    public static func run(_ options: LoadOptions, progress: Bool) throws(LoadError) -> LoadReport {
        do {
            try options.validate()
        } catch {
            throw LoadError(error.description)
        }
        var report = LoadReport(options: options)
        let base = TemplateSet(environment: options.environment, loop: options.loop)
        report.requestBytes = (base.rank.map(\.count).max() ?? 0, base.reward.count, base.status.count)

        // Status first: it tells early whether this is a server and whether the loop exists.
        let poller: StatusPoller? = options.expect == .response && options.pollStatus
            ? try StatusPoller(socketPath: options.socketPath, loop: options.loop) : nil
        if let poller {
            switch try poller.poll() {
            case .status(let status): report.serverStart = status
            case .error(let code, let message):
                throw LoadError("the server answered Status with \(ResponseScanner.codeName(code)): \(message)")
            }
        }
        if let pid = options.serverPID { report.serverRSSStart = residentKilobytes(pid: pid) }

        // Event ids must not repeat those of an earlier run whose reward window is still open.
        let nonce = UInt32(truncatingIfNeeded: SplitMix64.hash(wallClockNanoseconds(), UInt64(getpid()), options.seed))
        var connections: [LoadConnection] = []
        for index in 0..<options.connections {
            let descriptor = try UnixSocket.connect(path: options.socketPath, receiveTimeout: 0.05)
            connections.append(LoadConnection(
                index: index, descriptor: descriptor, templates: base.forConnection(nonce: nonce, connection: index),
                depth: options.depth, seed: SplitMix64.hash(options.seed, UInt64(index), 0x10AD)))
        }

        let start = monotonicNanoseconds() + 20_000_000
        let measureStart = start + UInt64(options.warmupSeconds * 1e9)
        let end = measureStart + UInt64(options.durationSeconds * 1e9)
        let plan = RunPlan(start: start, measureStart: measureStart, end: end,
                           drainDeadline: end + UInt64(options.drainSeconds * 1e9))
        let workers = (0..<options.threads).map { thread in
            LoadWorker(options: options, connections: stride(from: thread, to: connections.count, by: options.threads)
                .map { connections[$0] }, plan: plan)
        }
        var threads: [PosixThread] = []
        for worker in workers { threads.append(try PosixThread { worker.run() }) }

        // Once a second until every worker is done; 50 ms after the workers' own tick, so the
        // interval percentiles they publish at the tick are those of the second just ended.
        // CPU time is taken at the start and the end of the measured window.
        var cpuMarks: [(at: UInt64, own: UInt64, server: ProcessCPU?)] = []
        func markCPU() {
            cpuMarks.append((monotonicNanoseconds(), ProcessCPU.own(), options.serverPID.flatMap { ProcessCPU.read(pid: $0) }))
        }
        var previous = TimelinePoint()
        var second: UInt64 = 1
        while true {
            let tick = start + second * 1_000_000_000 + 50_000_000
            while monotonicNanoseconds() < tick, !workers.allSatisfy({ $0.live.finished.load(ordering: .acquiring) }) {
                let mark = cpuMarks.count == 0 ? measureStart : cpuMarks.count == 1 ? end : UInt64.max
                sleep(untilNanoseconds: min(tick, mark, monotonicNanoseconds() + 50_000_000))
                if cpuMarks.count < 2, monotonicNanoseconds() >= mark { markCPU() }
            }
            if workers.allSatisfy({ $0.live.finished.load(ordering: .acquiring) }) { break }
            var point = TimelinePoint()
            point.t = Double(second)
            point.warmup = tick - 50_000_000 <= measureStart
            var totals = TimelinePoint()
            for worker in workers {
                let live = worker.live
                totals.ranks += live.ranks.load(ordering: .relaxed)
                totals.rewards += live.rewards.load(ordering: .relaxed)
                totals.statuses += live.statuses.load(ordering: .relaxed)
                totals.clicks += live.clicks.load(ordering: .relaxed)
                totals.errors += live.errors.load(ordering: .relaxed)
                totals.modelVersion = max(totals.modelVersion, live.modelVersion.load(ordering: .relaxed))
                point.p50 = max(point.p50, Double(live.intervalP50.load(ordering: .relaxed)) / 1000)
                point.p99 = max(point.p99, Double(live.intervalP99.load(ordering: .relaxed)) / 1000)
            }
            point.ranks = totals.ranks - previous.ranks
            point.rewards = totals.rewards - previous.rewards
            point.statuses = totals.statuses - previous.statuses
            point.clicks = totals.clicks - previous.clicks
            point.errors = totals.errors
            point.modelVersion = totals.modelVersion
            previous = totals
            if let poller, case .status(let status)? = try? poller.poll() { point.server = status }
            if let pid = options.serverPID { point.serverRSSKilobytes = residentKilobytes(pid: pid) }
            report.timeline.append(point)
            if progress {
                writeProgress(point, totals: totals, mix: options.mix)
            }
            second += 1
        }
        for thread in threads { thread.join() }
        if progress { writeStandardError("\n") }

        if let poller, case .status(let status)? = try? poller.poll() { report.serverEnd = status }
        if let pid = options.serverPID { report.serverRSSEnd = residentKilobytes(pid: pid) }

        if cpuMarks.count == 2 {
            let (first, last) = (cpuMarks[0], cpuMarks[1])
            report.clientCPUSeconds = Double(last.own - first.own) / 1e9
            if let a = first.server, let b = last.server {
                report.serverCPUSeconds = Double(b.total &- a.total) / 1e9
                report.serverMainThreadCPUSeconds = Double(b.mainThread &- a.mainThread) / 1e9
            }
        }

        // Merge what the workers measured.
        let seconds = Double(end - measureStart) / 1e9
        report.measuredSeconds = seconds
        var rank = KindTotals(), reward = KindTotals(), status = KindTotals()
        for worker in workers {
            rank.merge(worker.rank)
            reward.merge(worker.reward)
            status.merge(worker.status)
            report.clicks += worker.measuredClicks
            report.errors += worker.measuredErrors
            report.protocolErrors += worker.protocolErrors
            for (code, count) in worker.errorsByCode { report.errorsByCode[code, default: 0] += count }
            if report.firstError == nil { report.firstError = worker.firstError }
        }
        report.rank = rank.totals(seconds: seconds)
        report.reward = reward.totals(seconds: seconds)
        report.status = status.totals(seconds: seconds)
        report.primarySpectrum = LatencySummary.spectrum(options.mix == .status ? status.histogram : rank.histogram)
        for connection in connections {
            if let reason = connection.closeReason { report.connectionFailures.append("connection \(connection.index): \(reason)") }
        }
        return report
    }

    static func wallClockNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    static func writeProgress(_ point: TimelinePoint, totals: TimelinePoint, mix: CallMix) {
        var line = "\r\(LoadReport.fixed(point.t, 0))s\(point.warmup ? " (warm-up)" : "")"
        switch mix {
        case .rank: line += "  rank \(LoadReport.grouped(Double(point.ranks)))/s"
        case .rankReward:
            line += "  rank \(LoadReport.grouped(Double(point.ranks)))/s  reward \(LoadReport.grouped(Double(point.rewards)))/s"
        case .status: line += "  status \(LoadReport.grouped(Double(point.statuses)))/s"
        }
        line += "  p50 \(LoadReport.fixed(point.p50, 1))µs  p99 \(LoadReport.fixed(point.p99, 1))µs  errors \(point.errors)"
        if mix != .status, totals.ranks > 0 {
            line += "  avg reward \(LoadReport.fixed(Double(totals.clicks) / Double(totals.ranks), 3))"
        }
        if let server = point.server {
            line += "  model v\(server.modelVersion)  lag \(LoadReport.grouped(Double(server.trainerLag)))"
        }
        writeStandardError(line + "\u{1B}[K")
    }

    static func writeStandardError(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
    }
}

extension KindTotals {
    mutating func merge(_ other: KindTotals) {
        completed += other.completed
        replyBytes += other.replyBytes
        histogram.add(other.histogram)
    }

    func totals(seconds: Double) -> CallTotals {
        var totals = CallTotals()
        totals.count = completed
        totals.perSecond = seconds > 0 ? Double(completed) / seconds : 0
        totals.replyBytes = completed > 0 ? Double(replyBytes) / Double(completed) : 0
        totals.latency = LatencySummary(histogram)
        return totals
    }
}
