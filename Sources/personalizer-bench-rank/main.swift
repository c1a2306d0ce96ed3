// The server's own Rank path in process, one thread: decode (protobuf-c) → validate → hash →
// score → explore → sample → encode, through the same `RequestProcessor` the I/O thread uses.
// A trainer thread drains the ring as in the server. Prints the median time per Rank over
// repeated batches, the rate it allows, and (when run with the malloc-counting preload,
// bench/malloc-count) heap allocations per Rank.
//
// With --pairs: Rank+Reward pairs instead, into a loop that logs to a temporary data directory
// with the settings of the performance bench (bench/perf/bench-config.json); prints the
// trainer thread's CPU time per pair (log, join, learn, publish, checkpoint), the median over
// batches, each batch measured once all of its events were learned.
//
// With --config FILE: the loop takes the default loop's settings from a server configuration
// file (as personalizerd reads it), logging included unless its durability is "off", so the
// Rank path timed is the one that server runs. Without it, Rank timing runs with logging off.
import Foundation
import PersonalizerEngine
import PersonalizerProtocol
import PersonalizerTransport

let arguments = CommandLine.arguments
@MainActor func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count,
          let value = Int(arguments[index + 1]) else { return fallback }
    return value
}
let actionCount = option("--actions", 10)
let batches = option("--batches", 15)
let perBatch = option("--per-batch", 20_000)
let json = arguments.contains("--json")
let pairs = arguments.contains("--pairs")

var settings = LoopSettings()
settings.rewardWaitTimeSeconds = pairs ? 0.1 : 1
settings.modelUpdateIntervalSeconds = 1
if pairs {
    settings.learningPolicy = "--cb_explore_adf --epsilon 0.2 --power_t 0 -l 0.5 --cb_type mtr -q ::"
} else if let index = arguments.firstIndex(of: "--config") {
    guard index + 1 < arguments.count else { fatalError("--config needs a file") }
    do {
        guard let configured = try Configuration.load(path: arguments[index + 1]).loops[Configuration.defaultLoopName]
        else { fatalError("\(arguments[index + 1]): no loop named \"\(Configuration.defaultLoopName)\"") }
        settings = configured
    } catch {
        fatalError("\(error)")
    }
} else {
    settings.durability = .off
}
var dataDirectory: String?
if settings.durability != .off {
    var template = Array("/tmp/personalizer-bench-trainer-XXXXXX".utf8CString)
    dataDirectory = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!).map { String(cString: $0) } }
    guard dataDirectory != nil else { fatalError("cannot make a temporary data directory") }
}
var limits = ServerLimits()
limits.ringCapacity = 1 << 16
// A logged Rank event takes about 1.9 KB of ring: room for a whole batch, so the Rank path is
// timed without waiting on the trainer (the ring is drained between batches, see `runBatch`).
let ringBytes = !pairs && dataDirectory != nil ? max(limits.ringBytes, perBatch * 4096) : limits.ringBytes
let loop = try LearningLoop(name: "default", settings: settings, ringCapacity: limits.ringCapacity,
                            ringBytes: ringBytes, dataDirectory: dataDirectory)
loop.start()
let processor = RequestProcessor(loops: ["default": loop], limits: limits)

// 10 actions × 5 features in one namespace, 15 context features in 3 namespaces: ~1.6 KB.
func rankCall(variant: Int) -> RankCall {
    let context = (0..<3).map { namespace in
        FeatureNamespace(["user", "geo", "device"][namespace], (0..<5).map { index in
            index % 2 == 0 ? .text("f\(index)", "v\((variant + index) % 7)") : .number("n\(index)", Double(variant % 11) + 0.5)
        })
    }
    let actions = (0..<actionCount).map { action in
        RankAction(id: "article-\(action)", features: [FeatureNamespace("item", (0..<5).map { index in
            index % 2 == 0 ? .text("topic\(index)", "t\((action + index) % 9)") : .number("len\(index)", Double(action * 10 + index))
        })])
    }
    return RankCall(context: context, actions: actions)
}
let frames = (0..<64).map { MessageCodec.encode(Request(id: UInt64($0), call: .rank(rankCall(variant: $0)))) }

typealias CounterFunction = @convention(c) () -> UInt64
// The thread that ranks stands for the server's I/O thread; the process count adds the trainer.
let mallocCounter: CounterFunction? = dlsym(dlopen(nil, RTLD_NOW), "pz_thread_malloc_count")
    .map { unsafeBitCast($0, to: CounterFunction.self) }
let processMallocCounter: CounterFunction? = dlsym(dlopen(nil, RTLD_NOW), "pz_malloc_count")
    .map { unsafeBitCast($0, to: CounterFunction.self) }

let output = ByteBuffer(capacity: 1 << 20)
nonisolated(unsafe) var retries = 0
/// CPU time of the calling thread: the ranking thread's own cost, whatever the trainer does.
func threadCPUNanoseconds() -> Double { cpuNanoseconds(CLOCK_THREAD_CPUTIME_ID) }

/// Stops the trainer (it writes its last checkpoint) and removes the temporary data directory.
@MainActor func stopLoop() {
    loop.stop()
    if let dataDirectory { try? FileManager.default.removeItem(atPath: dataDirectory) }
}

/// Processes one request frame as the I/O thread would, retrying while the ring is full (the
/// trainer drains it; the server would pause the connection).
@MainActor @inline(__always) func process(_ frame: [UInt8]) {
    var outcome = frame.withUnsafeBytes { processor.process($0, into: output) }
    while case .retryLater = outcome {
        retries += 1
        usleep(100)
        outcome = frame.withUnsafeBytes { processor.process($0, into: output) }
    }
    output.clear()
}

@MainActor func runBatch() -> (nanosecondsPerRank: Double, cpuNanosecondsPerRank: Double, mallocsPerRank: Double?,
                               processMallocsPerRank: Double?) {
    // The previous batch's events taken by the trainer first (not timed).
    while loop.counters.durableEvents.load() < loop.producer.submittedEvents { usleep(1000) }
    let mallocsBefore = mallocCounter?()
    let processMallocsBefore = processMallocCounter?()
    let cpuStart = threadCPUNanoseconds()
    let start = DispatchTime.now().uptimeNanoseconds
    for index in 0..<perBatch { process(frames[index & 63]) }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start)
    let cpu = threadCPUNanoseconds() - cpuStart
    let mallocs = mallocCounter.map { Double($0() - mallocsBefore!) / Double(perBatch) }
    let processMallocs = processMallocCounter.map { Double($0() - processMallocsBefore!) / Double(perBatch) }
    return (elapsed / Double(perBatch), cpu / Double(perBatch), mallocs, processMallocs)
}

/// The CPU clock of this process's thread named `name` (Linux: a thread's clock id is derived
/// from its id), for the trainer's own cost whatever else runs.
func threadCPUClock(named name: String) -> clockid_t? {
    guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return nil }
    for task in tasks {
        guard let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8),
              comm.trimmingCharacters(in: .whitespacesAndNewlines) == name, let tid = Int32(task) else { continue }
        return (~tid << 3) | 6  // CPUCLOCK_SCHED of one thread
    }
    return nil
}

func cpuNanoseconds(_ clock: clockid_t) -> Double {
    var time = timespec()
    clock_gettime(clock, &time)
    return Double(time.tv_sec) * 1e9 + Double(time.tv_nsec)
}

/// One batch of Rank+Reward pairs with fresh 32-character event ids, encoded before timing.
func pairFrames(batch: Int) -> [(rank: [UInt8], reward: [UInt8])] {
    let calls = (0..<64).map { rankCall(variant: $0) }
    return (0..<perBatch).map { index in
        var call = calls[index & 63]
        call.eventID = String(repeating: "0", count: 20) + String(format: "%06d%06d", batch, index)
        let value: Double = (index &* 7919) % 10 < 3 ? 1 : 0
        return (MessageCodec.encode(Request(id: UInt64(index), call: .rank(call))),
                MessageCodec.encode(Request(id: UInt64(index), call: .reward(eventID: call.eventID, value: value))))
    }
}

/// Sends a batch, waits until the trainer has learned (or resolved) every event of it, and
/// returns the trainer thread's CPU time per pair.
@MainActor func runPairBatch(_ batch: Int, trainerClock: clockid_t, resolvedBefore: inout UInt64) -> Double {
    let work = pairFrames(batch: batch)
    let cpuStart = cpuNanoseconds(trainerClock)
    for pair in work {
        process(pair.rank)
        process(pair.reward)
    }
    let expected = resolvedBefore + UInt64(work.count)
    while loop.counters.resolvedEvents.load() < expected { usleep(1000) }
    resolvedBefore = expected
    return (cpuNanoseconds(trainerClock) - cpuStart) / Double(work.count)
}

if pairs {
    var found: clockid_t?
    for _ in 0..<1000 where found == nil {  // the trainer names its thread once it runs
        found = threadCPUClock(named: "trainer-default")
        if found == nil { usleep(1000) }
    }
    guard let trainerClock = found else { fatalError("no trainer thread found") }
    var resolved: UInt64 = 0
    _ = runPairBatch(0, trainerClock: trainerClock, resolvedBefore: &resolved)  // warm-up
    let perPair = (1...batches).map { runPairBatch($0, trainerClock: trainerClock, resolvedBefore: &resolved) }
    stopLoop()
    let median = perPair.sorted()[perPair.count / 2]
    if json {
        let summary: [String: Any] = ["trainer_cpu_ns_per_pair_median": median, "pairs_per_second_one_cpu": 1e9 / median,
                                      "batches": batches, "pairs_per_batch": perBatch]
        print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
    } else {
        print("trainer, Rank+Reward pairs (\(actionCount) actions, logged, learned): median \(String(format: "%.2f", median / 1000)) µs "
            + "of the trainer thread's CPU per pair (\(Int(1e9 / median)) pairs/s on one CPU; batches in order: "
            + perPair.map { String(format: "%.2f", $0 / 1000) }.joined(separator: " ") + ")")
    }
    exit(0)
}

_ = runBatch()  // warm-up
var times: [Double] = []
var cpuTimes: [Double] = []
var mallocs: [Double] = []
var processMallocs: [Double] = []
for _ in 0..<batches {
    let result = runBatch()
    times.append(result.nanosecondsPerRank)
    cpuTimes.append(result.cpuNanosecondsPerRank)
    if let count = result.mallocsPerRank { mallocs.append(count) }
    if let count = result.processMallocsPerRank { processMallocs.append(count) }
}
stopLoop()
if retries > 0 { FileHandle.standardError.write(Data("ring full \(retries) times (the trainer was behind)\n".utf8)) }
times.sort()
cpuTimes.sort()
let cpuMedian = cpuTimes[cpuTimes.count / 2]
mallocs.sort()
processMallocs.sort()
let median = times[times.count / 2]
if json {
    var summary: [String: Any] = ["actions": actionCount, "rank_ns_median": median, "rank_per_second": 1e9 / median,
                                  "ranking_thread_cpu_ns_median": cpuMedian,
                                  "request_bytes": frames[0].count]
    if !mallocs.isEmpty {
        summary["mallocs_per_rank"] = mallocs[mallocs.count / 2]
        summary["process_mallocs_per_rank"] = processMallocs[processMallocs.count / 2]
    }
    print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
} else {
    print("in-process Rank, \(actionCount) actions, \(frames[0].count)-byte request: median \(String(format: "%.2f", median / 1000)) µs "
        + "(\(Int(1e9 / median)) Rank/s on one thread; the ranking thread's CPU \(String(format: "%.2f", cpuMedian / 1000)) µs per Rank)"
        + (mallocs.isEmpty ? "" : ", heap allocations per Rank: \(String(format: "%.2f", mallocs[mallocs.count / 2])) "
            + "on the ranking thread, \(String(format: "%.1f", processMallocs[processMallocs.count / 2])) in the process (the trainer's included)"))
}
