#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How predicted costs become a probability distribution over the actions (lower cost is better).
/// Only differences between costs count (which is best, and gaps to it), so the costs may come
/// less any amount they all share.
public enum ExplorationStrategy: Sendable, Equatable {
    /// The best action gets 1 − ε + ε/K, every other ε/K. Ties go to the earliest action, so an
    /// untrained model picks the first action (VW's `--first_only`; plain VW splits ties).
    case epsilonGreedy(epsilon: Double)
    /// Uniform while fewer than `count` examples were learned, then greedy (VW `--first`).
    case first(count: UInt64)
    /// p(a) ∝ exp(−λ·cost(a)) (VW `--softmax --lambda`).
    case softmax(lambda: Double)
    /// SquareCB (Foster & Rakhlin 2020) as VW does it: γ = gammaScale·t^gammaExponent with t the
    /// examples learned; p(a) = 1/(K + γ·(cost(a) − cost(best))) for a ≠ best, the best gets the
    /// rest. At t = 0, γ = 0 and the distribution is uniform.
    case squareCB(gammaScale: Double, gammaExponent: Double)

    /// Writes one probability per cost into `probabilities` (same count); they sum to 1.
    /// Does not allocate. A NaN cost counts as the worst possible.
    public func probabilities(costs: UnsafeBufferPointer<Double>, examplesLearned: UInt64,
                              into probabilities: UnsafeMutableBufferPointer<Double>) {
        let count = costs.count
        precondition(probabilities.count >= count, "probabilities buffer is smaller than costs")
        guard count > 0 else { return }
        let best = Self.bestIndex(costs)
        switch self {
        case .epsilonGreedy(let epsilon):
            Self.greedy(best: best, floor: epsilon / Double(count), count: count, into: probabilities)
        case .first(let tau):
            if examplesLearned < tau {
                for a in 0..<count { probabilities[a] = 1 / Double(count) }
            } else {
                Self.greedy(best: best, floor: 0, count: count, into: probabilities)
            }
        case .softmax(let lambda):
            let minimum = costs[best]
            guard minimum.isFinite else {
                for a in 0..<count { probabilities[a] = 1 / Double(count) }
                return
            }
            var total = 0.0
            for a in 0..<count {
                let cost = costs[a]
                // Subtracting the minimum keeps exp() in (0, 1]: no overflow, the best gets 1.
                let weight = cost.isNaN ? 0 : (lambda == 0 ? 1 : exp(-lambda * (cost - minimum)))
                probabilities[a] = weight
                total += weight
            }
            for a in 0..<count { probabilities[a] /= total }
        case .squareCB(let scale, let exponent):
            let gamma = scale * pow(Double(examplesLearned), exponent)
            let minimum = costs[best]
            guard minimum.isFinite else {
                for a in 0..<count { probabilities[a] = 1 / Double(count) }
                return
            }
            var others = 0.0
            for a in 0..<count where a != best {
                let gap = costs[a] - minimum
                let p: Double
                if gamma == 0 {
                    p = 1 / Double(count)
                } else if gap.isNaN {
                    p = 0
                } else {
                    p = 1 / (Double(count) + gamma * gap)
                }
                probabilities[a] = p
                others += p
            }
            probabilities[best] = 1 - others
        }
    }

    /// Array convenience (allocates the result; for tests and tools).
    public func probabilities(costs: [Double], examplesLearned: UInt64) -> [Double] {
        var result = [Double](repeating: 0, count: costs.count)
        costs.withUnsafeBufferPointer { c in
            result.withUnsafeMutableBufferPointer { p in
                probabilities(costs: c, examplesLearned: examplesLearned, into: p)
            }
        }
        return result
    }

    /// First index of the lowest cost (NaN never wins unless every cost is NaN).
    @inline(__always)
    static func bestIndex(_ costs: UnsafeBufferPointer<Double>) -> Int {
        var best = 0
        var bestCost = costs[0]
        for a in 1..<costs.count {
            let cost = costs[a]
            if cost < bestCost || (bestCost.isNaN && !cost.isNaN) {
                best = a
                bestCost = cost
            }
        }
        return best
    }

    @inline(__always)
    static func greedy(best: Int, floor: Double, count: Int, into probabilities: UnsafeMutableBufferPointer<Double>) {
        for a in 0..<count { probabilities[a] = floor }
        // 1 − Σ others keeps the total exactly 1 in floating point as far as possible.
        probabilities[best] = 1 - floor * Double(count - 1)
    }
}
