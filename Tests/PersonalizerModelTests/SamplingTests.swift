import XCTest
import PersonalizerModel

final class SamplingTests: XCTestCase {
    private func sample(_ p: [Double], _ seed: UInt64) -> Int {
        p.withUnsafeBufferPointer { Sampling.sample(probabilities: $0, seed: seed) }
    }

    func testSeedIsDeterministicAndSpreads() {
        XCTAssertEqual(Sampling.seed(eventId: "event-1"), Sampling.seed(eventId: "event-1"))
        XCTAssertEqual(Sampling.seed(eventId: "event-1"),
                       Array("event-1".utf8).withUnsafeBytes { Sampling.seed(eventID: $0) })
        XCTAssertNotEqual(Sampling.seed(eventId: "event-1"), Sampling.seed(eventId: "event-2"))
        XCTAssertNotEqual(Sampling.seed(eventId: ""), Sampling.seed(eventId: "\0"))
        // Every length path (tails of 0...7 bytes) gives distinct seeds.
        let seeds = Set((0..<64).map { n in Sampling.seed(eventId: String(repeating: "a", count: n)) })
        XCTAssertEqual(seeds.count, 64)
        // One changed byte flips about half of the 64 bits.
        var flipped = 0
        for i in 0..<1000 {
            flipped += (Sampling.seed(eventId: "id-\(i)") ^ Sampling.seed(eventId: "id-\(i + 1000)")).nonzeroBitCount
        }
        XCTAssertEqual(Double(flipped) / 1000, 32, accuracy: 1.5)
    }

    func testSameEventSameChoice() {
        let p = [0.1, 0.2, 0.3, 0.4]
        for i in 0..<100 {
            let seed = Sampling.seed(eventId: "evt-\(i)")
            XCTAssertEqual(sample(p, seed), sample(p, seed))
        }
    }

    func testEmpiricalFrequenciesMatchProbabilities() {
        let p = [0.05, 0.6, 0.0, 0.25, 0.1]
        var counts = [Int](repeating: 0, count: p.count)
        let n = 200_000
        for i in 0..<n { counts[sample(p, Sampling.seed(eventId: "event-\(i)"))] += 1 }
        for (index, probability) in p.enumerated() {
            let frequency = Double(counts[index]) / Double(n)
            let sigma = (probability * (1 - probability) / Double(n)).squareRoot()
            XCTAssertEqual(frequency, probability, accuracy: 5 * sigma + 1e-9, "action \(index)")
        }
        XCTAssertEqual(counts[2], 0)
    }

    func testUniformIsInUnitInterval() {
        XCTAssertLessThan(Sampling.uniform(.max), 1)
        XCTAssertGreaterThanOrEqual(Sampling.uniform(0), 0)
        var total = 0.0
        for i in 0..<10_000 { total += Sampling.uniform(UInt64(i)) }
        XCTAssertEqual(total / 10_000, 0.5, accuracy: 0.02)
    }

    func testNeverPicksZeroProbability() {
        // Rounding: probabilities summing to slightly less than 1, zeros at the end and start.
        let p = [0.0, 0.3333333333, 0.3333333333, 0.3333333333, 0.0, 0.0]
        let seeds: [UInt64] = [.max, .max - 1, 0, 1] + (0..<10_000).map { UInt64($0) &* 0x9e37_79b9_7f4a_7c15 }
        for seed in seeds {
            let index = sample(p, seed)
            XCTAssertGreaterThan(p[index], 0)
        }
        XCTAssertEqual(sample([0, 0, 1], 12345), 2)
        XCTAssertEqual(sample([1, 0, 0], 12345), 0)
        XCTAssertEqual(sample([0, 0], 7), 0) // degenerate: nothing positive, the first action
    }
}
