import Histogram
import PersonalizerLoad
import XCTest

/// Options, the latency summary, the simulated environment and the JSON writer.
final class PiecesTests: XCTestCase {
    func testDefaultOptionsAreValid() throws {
        try LoadOptions().validate()
    }

    func testInvalidOptionsNameTheOption() {
        func message(_ change: (inout LoadOptions) -> Void) -> String? {
            var options = LoadOptions()
            change(&options)
            do {
                try options.validate()
                return nil
            } catch {
                return error.description
            }
        }
        let cases: [(String, (inout LoadOptions) -> Void)] = [
            ("--connections", { $0.connections = 0 }),
            ("--depth", { $0.depth = 0 }),
            ("--threads", { $0.connections = 2; $0.threads = 3 }),
            ("--duration", { $0.durationSeconds = 0 }),
            ("--duration", { $0.durationSeconds = .nan }),
            ("--warmup", { $0.warmupSeconds = -1 }),
            ("--rate", { $0.rate = 0 }),
            ("--rate", { $0.rate = .infinity }),
            ("--actions", { $0.environment.actions = 0 }),
            ("--actions", { $0.environment.actions = 1000 }),
            ("--context-features", { $0.environment.contextNamespaces = 4; $0.environment.contextFeatures = 3 }),
            ("--context-namespaces", { $0.environment.contextNamespaces = 0 }),
            ("--action-features", { $0.environment.actionNamespaces = 2; $0.environment.actionFeatures = 1 }),
            ("--segments", { $0.environment.segments = 0 }),
            ("--reward-rate", { $0.mix = .rankReward; $0.rewardRate = 1.5 }),
            ("--reward-delay", { $0.mix = .rankReward; $0.rewardDelaySeconds = -1 }),
            ("--reward-delay and --reward-rate apply only", { $0.rewardDelaySeconds = 1 }),
            ("--socket", { $0.socketPath = "" }),
            ("--socket", { $0.socketPath = "/tmp/" + String(repeating: "x", count: 120) }),
            ("--server-pid", { $0.serverPID = 0 }),
        ]
        for (expected, change) in cases {
            let text = message(change)
            XCTAssertNotNil(text, "\(expected) should be refused")
            XCTAssertTrue(text?.hasPrefix(expected) == true, "\(text ?? "nil") should start with \(expected)")
        }
        XCTAssertNil(message { $0.mix = .rankReward; $0.rewardDelaySeconds = 0.5; $0.rewardRate = 0.3; $0.rate = 1000 })
    }

    func testLatencySummaryOfKnownValues() {
        var histogram = LatencyHistogram.make()
        for microseconds in 1...1000 { histogram.recordLatency(nanoseconds: UInt64(microseconds) * 1000) }
        let summary = LatencySummary(histogram)
        XCTAssertEqual(summary.count, 1000)
        XCTAssertEqual(summary.p50, 500, accuracy: 0.5)
        XCTAssertEqual(summary.p90, 900, accuracy: 0.9)
        XCTAssertEqual(summary.p99, 990, accuracy: 1)
        XCTAssertEqual(summary.p999, 999, accuracy: 1)
        XCTAssertEqual(summary.max, 1000, accuracy: 1)
        XCTAssertEqual(summary.min, 1, accuracy: 0.001)
        XCTAssertEqual(summary.mean, 500.5, accuracy: 0.5)

        let spectrum = LatencySummary.spectrum(histogram)
        XCTAssertEqual(spectrum.last?.0, 100)
        XCTAssertEqual(spectrum.last?.1 ?? 0, 1000, accuracy: 1)
        XCTAssertTrue(zip(spectrum, spectrum.dropFirst()).allSatisfy { $0.0 < $1.0 && $0.1 <= $1.1 }, "increasing")
        XCTAssertTrue(spectrum.contains { $0.0 >= 99.9 && $0.0 < 100 }, "the tail is sampled")

        XCTAssertEqual(LatencySummary(LatencyHistogram.make()), LatencySummary(), "empty histogram: zeros")
        var clamped = LatencyHistogram.make()
        clamped.recordLatency(nanoseconds: 0)
        clamped.recordLatency(nanoseconds: UInt64.max)
        XCTAssertEqual(clamped.totalCount, 2, "out-of-range values are clamped, not dropped")
    }

    func testEnvironmentRewardsCarrySignal() {
        let spec = EnvironmentSpec()
        XCTAssertEqual(spec.topics, 8)
        for segment in 0..<spec.segments {
            let best = (0..<spec.actions).max { spec.clickProbability(segment: segment, action: $0) < spec.clickProbability(segment: segment, action: $1) }!
            XCTAssertEqual(spec.clickProbability(segment: segment, action: best), spec.clickBest)
        }
        XCTAssertLessThan(spec.randomReward, 0.25)
        XCTAssertLessThan(spec.firstActionReward, 0.25)
        XCTAssertEqual(spec.bestReward, 0.7)
        // Segments do not all prefer the same action.
        XCTAssertGreaterThan(Set((0..<spec.segments).map { spec.preferredTopic(ofSegment: $0) }).count, 4)

        XCTAssertEqual(EnvironmentSpec.actionID(7), "a007")
        XCTAssertEqual(EnvironmentSpec.actionID(999), "a999")
        XCTAssertEqual(Array("a042".utf8).withUnsafeBytes { EnvironmentSpec.actionIndex($0) }, 42)
        XCTAssertNil(Array("b042".utf8).withUnsafeBytes { EnvironmentSpec.actionIndex($0) })
        XCTAssertNil(Array("a42".utf8).withUnsafeBytes { EnvironmentSpec.actionIndex($0) })

        var shape = EnvironmentSpec()
        shape.contextFeatures = 7
        shape.contextNamespaces = 3
        let context = shape.context(segment: 1)
        XCTAssertEqual(context.map(\.features.count), [3, 2, 2])
        XCTAssertEqual(context[0].features[0], SimFeature(name: "segment", value: .text("s1")))
        XCTAssertEqual(context[2].features.last?.name, "noise")
        XCTAssertEqual(Set(context.map { $0.name.first! }).count, 3, "namespaces differ in their first letter (-q pairs by it)")
    }

    func testJSONText() {
        let value = JSON.object([("a", .int(1)), ("b", .number(2.5)), ("c", .string("x\"y\n")),
                                 ("d", .array([.number(1.0 / 3), .null, .bool(true)])), ("e", .number(.nan))])
        XCTAssertEqual(value.text(), #"{"a":1,"b":2.5,"c":"x\"y\n","d":[0.333,null,true],"e":null}"#)
        XCTAssertTrue(value.text(indent: 2).contains("\n  \"b\": 2.5,\n"))
    }

    func testReportJSONHasTheAdvertisedKeys() {
        var options = LoadOptions()
        options.mix = .rankReward
        var report = LoadReport(options: options)
        report.rank.count = 10
        report.rank.perSecond = 100
        report.reward.perSecond = 90
        report.clicks = 4
        let text = report.json.text()
        for key in ["\"rank_per_second\":100", "\"latency_us\":{", "\"p50\":", "\"p90\":", "\"p99\":", "\"p999\":",
                    "\"max\":", "\"errors\":0", "\"average_reward\":0.4", "\"pairs_per_second\":90", "\"learning_curve\":"] {
            XCTAssertTrue(text.contains(key), "\(key) in \(text)")
        }
    }
}
