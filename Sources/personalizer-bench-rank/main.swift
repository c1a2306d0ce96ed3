// The server's own Rank path in process, one thread: decode (protobuf-c) → validate → hash →
// score → explore → sample → encode, through the same `RequestProcessor` the I/O thread uses.
// A trainer thread drains the ring as in the server. Prints the median time per Rank over
// repeated batches, the rate it allows, and (when run with the malloc-counting preload,
// bench/malloc-count) heap allocations per Rank.
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

var settings = LoopSettings()
settings.durability = .off
settings.rewardWaitTimeSeconds = 1
settings.modelUpdateIntervalSeconds = 1
var limits = ServerLimits()
limits.ringCapacity = 1 << 16
let loop = try LearningLoop(name: "default", settings: settings, ringCapacity: limits.ringCapacity,
                            ringBytes: limits.ringBytes)
loop.start()
let processor = RequestProcessor(loops: ["default": loop], limits: limits)

// 10 actions × 5 features in one namespace, 15 context features in 3 namespaces: ~1.6 KB.
var frames: [[UInt8]] = []
for variant in 0..<64 {
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
    frames.append(MessageCodec.encode(Request(id: UInt64(variant), call: .rank(RankCall(context: context, actions: actions)))))
}

typealias CounterFunction = @convention(c) () -> UInt64
// The thread that ranks stands for the server's I/O thread; the process count adds the trainer.
let mallocCounter: CounterFunction? = dlsym(dlopen(nil, RTLD_NOW), "pz_thread_malloc_count")
    .map { unsafeBitCast($0, to: CounterFunction.self) }
let processMallocCounter: CounterFunction? = dlsym(dlopen(nil, RTLD_NOW), "pz_malloc_count")
    .map { unsafeBitCast($0, to: CounterFunction.self) }

let output = ByteBuffer(capacity: 1 << 20)
nonisolated(unsafe) var retries = 0
/// CPU time of the calling thread: the ranking thread's own cost, whatever the trainer does.
func threadCPUNanoseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1e9 + Double(time.tv_nsec)
}

@MainActor func runBatch() -> (nanosecondsPerRank: Double, cpuNanosecondsPerRank: Double, mallocsPerRank: Double?,
                               processMallocsPerRank: Double?) {
    let mallocsBefore = mallocCounter?()
    let processMallocsBefore = processMallocCounter?()
    let cpuStart = threadCPUNanoseconds()
    let start = DispatchTime.now().uptimeNanoseconds
    for index in 0..<perBatch {
        let frame = frames[index & 63]
        var outcome = frame.withUnsafeBytes { processor.process($0, into: output) }
        while case .retryLater = outcome {
            retries += 1
            usleep(100)  // the trainer drains; the server would pause the connection
            outcome = frame.withUnsafeBytes { processor.process($0, into: output) }
        }
        output.clear()
    }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start)
    let cpu = threadCPUNanoseconds() - cpuStart
    let mallocs = mallocCounter.map { Double($0() - mallocsBefore!) / Double(perBatch) }
    let processMallocs = processMallocCounter.map { Double($0() - processMallocsBefore!) / Double(perBatch) }
    return (elapsed / Double(perBatch), cpu / Double(perBatch), mallocs, processMallocs)
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
loop.stop()
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
