import XCTest
import PersonalizerModel

final class ExplorationTests: XCTestCase {
    private func probabilities(_ strategy: ExplorationStrategy, _ costs: [Double], learned: UInt64 = 0) -> [Double] {
        let p = strategy.probabilities(costs: costs, examplesLearned: learned)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12, "\(strategy) \(costs)")
        XCTAssertTrue(p.allSatisfy { $0 >= 0 && $0 <= 1 })
        return p
    }

    func testEpsilonGreedy() {
        let p = probabilities(.epsilonGreedy(epsilon: 0.2), [0.5, -1, 0.3, 2])
        XCTAssertEqual(p[1], 1 - 0.2 + 0.05, accuracy: 1e-12)
        for i in [0, 2, 3] { XCTAssertEqual(p[i], 0.05, accuracy: 1e-12) }
        // Ties go to the earliest action; an untrained model (all zeros) picks action 0.
        let tied = probabilities(.epsilonGreedy(epsilon: 0.2), [0, 0, 0, 0, 0])
        XCTAssertEqual(tied[0], 0.84, accuracy: 1e-12)
        XCTAssertEqual(Array(tied[1...]), [0.04, 0.04, 0.04, 0.04])
        let lateTie = probabilities(.epsilonGreedy(epsilon: 0.1), [3, -2, 1, -2])
        XCTAssertEqual(lateTie[1], 0.925, accuracy: 1e-12)
        XCTAssertEqual(lateTie[3], 0.025, accuracy: 1e-12)
        XCTAssertEqual(probabilities(.epsilonGreedy(epsilon: 0), [1, 0]), [0, 1])
        XCTAssertEqual(probabilities(.epsilonGreedy(epsilon: 1), [1, 0]), [0.5, 0.5])
        XCTAssertEqual(probabilities(.epsilonGreedy(epsilon: 0.3), [7]), [1])
    }

    func testFirst() {
        XCTAssertEqual(probabilities(.first(count: 10), [1, 0, 2, 3], learned: 9), [0.25, 0.25, 0.25, 0.25])
        XCTAssertEqual(probabilities(.first(count: 10), [1, 0, 2, 3], learned: 10), [0, 1, 0, 0])
        XCTAssertEqual(probabilities(.first(count: 10), [0, 0, 0], learned: 100), [1, 0, 0])
        XCTAssertEqual(probabilities(.first(count: 0), [2, 1], learned: 0), [0, 1])
    }

    func testSoftmax() {
        let costs = [1.0, 0.0, 2.0]
        let p = probabilities(.softmax(lambda: 2), costs)
        let weights = costs.map { exp(-2 * $0) }
        let total = weights.reduce(0, +)
        for i in 0..<3 { XCTAssertEqual(p[i], weights[i] / total, accuracy: 1e-12) }
        XCTAssertEqual(p.firstIndex(of: p.max()!), 1)
        // Stable for huge costs (subtracting the minimum) and uniform when λ = 0.
        let huge = probabilities(.softmax(lambda: 1), [1e6, 1e6 + 1])
        XCTAssertEqual(huge[0], 1 / (1 + exp(-1)), accuracy: 1e-12)
        XCTAssertEqual(probabilities(.softmax(lambda: 0), [5, -5]), [0.5, 0.5])
        XCTAssertEqual(probabilities(.softmax(lambda: 3), [0, 0, 0, 0]), [0.25, 0.25, 0.25, 0.25])
    }

    func testSquareCB() {
        let costs = [0.5, 0.1, 0.9]
        // γ = 10 · 100^0.5 = 100: p(a) = 1/(K + γ(ĉ(a) − ĉ(best))), the best gets the rest.
        let p = probabilities(.squareCB(gammaScale: 10, gammaExponent: 0.5), costs, learned: 100)
        XCTAssertEqual(p[0], 1 / (3 + 100 * 0.4), accuracy: 1e-12)
        XCTAssertEqual(p[2], 1 / (3 + 100 * 0.8), accuracy: 1e-12)
        XCTAssertEqual(p[1], 1 - p[0] - p[2], accuracy: 1e-12)
        // Every action keeps at least 1/(K + γ·gap) and the best at least 1/K.
        XCTAssertGreaterThanOrEqual(p[1], 1.0 / 3)
        // t = 0: γ = 0, uniform.
        let start = probabilities(.squareCB(gammaScale: 10, gammaExponent: 0.5), costs, learned: 0)
        for value in start { XCTAssertEqual(value, 1.0 / 3, accuracy: 1e-12) }
        // Ties: the earliest best action takes the remainder.
        let tied = probabilities(.squareCB(gammaScale: 10, gammaExponent: 0.5), [0, 0, 1], learned: 4)
        XCTAssertEqual(tied[1], 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(tied[0], 1 - tied[1] - tied[2], accuracy: 1e-12)
        XCTAssertGreaterThan(tied[0], tied[1])
    }

    func testNaNCostsNeverWin() {
        let p = probabilities(.epsilonGreedy(epsilon: 0.1), [.nan, 1, 0])
        XCTAssertEqual(p[2], 0.1 / 3 + 0.9, accuracy: 1e-12)
        XCTAssertEqual(probabilities(.softmax(lambda: 1), [.nan, 0])[0], 0)
    }

    func testWritesIntoCallerBuffer() {
        let costs: [Double] = [3, 1, 2]
        var out = [Double](repeating: -1, count: 4)
        costs.withUnsafeBufferPointer { c in
            out.withUnsafeMutableBufferPointer { o in
                ExplorationStrategy.epsilonGreedy(epsilon: 0.3).probabilities(costs: c, examplesLearned: 0, into: o)
            }
        }
        XCTAssertEqual(out[1], 0.8, accuracy: 1e-12)
        XCTAssertEqual(out[3], -1) // untouched past the count
    }
}
