import Histogram

/// Latencies are recorded in nanoseconds into HDR histograms (3 significant digits, so every
/// figure is within 0.1% of the exact value) and reported in microseconds.
public enum LatencyHistogram {
    /// Anything slower than a minute is recorded as a minute.
    public static let highestTrackableNanoseconds: UInt64 = 60_000_000_000

    public static func make() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackableNanoseconds,
                          numberOfSignificantValueDigits: .three)
    }
}

extension Histogram where Count == UInt64 {
    /// Records a latency, clamped to the trackable range.
    @inline(__always)
    public mutating func recordLatency(nanoseconds: UInt64) {
        _ = record(Swift.min(Swift.max(nanoseconds, 1), LatencyHistogram.highestTrackableNanoseconds))
    }
}

public struct LatencySummary: Sendable, Equatable {
    public var count: UInt64 = 0
    public var min = 0.0
    public var mean = 0.0
    public var p50 = 0.0
    public var p90 = 0.0
    public var p99 = 0.0
    public var p999 = 0.0
    public var max = 0.0

    public init() {}

    public init(_ histogram: Histogram<UInt64>) {
        count = histogram.totalCount
        guard count > 0 else { return }
        min = Self.micro(histogram.min)
        mean = histogram.mean / 1000
        p50 = Self.micro(histogram.valueAtPercentile(50))
        p90 = Self.micro(histogram.valueAtPercentile(90))
        p99 = Self.micro(histogram.valueAtPercentile(99))
        p999 = Self.micro(histogram.valueAtPercentile(99.9))
        max = Self.micro(histogram.max)
    }

    static func micro(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1000 }

    public var json: JSON {
        .object([("count", .int(Int(count))), ("min", .number(min)), ("mean", .number(mean)), ("p50", .number(p50)),
                 ("p90", .number(p90)), ("p99", .number(p99)), ("p999", .number(p999)), ("max", .number(max))])
    }

    /// The percentile spectrum for plots: (percentile, microseconds) pairs, denser toward the tail,
    /// ending at 100.
    public static func spectrum(_ histogram: Histogram<UInt64>, ticksPerHalfDistance: Int = 5) -> [(Double, Double)] {
        guard histogram.totalCount > 0 else { return [] }
        var points: [(Double, Double)] = []
        for step in histogram.percentiles(ticksPerHalfDistance: ticksPerHalfDistance) {
            let point = (step.percentileLevelIteratedTo, micro(step.value))
            if let last = points.last, last.0 == point.0 { continue }
            points.append(point)
        }
        if points.last?.0 != 100 { points.append((100, micro(histogram.max))) }
        return points
    }
}
