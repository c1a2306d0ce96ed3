/// VW's default online update (gd.cc with adaptive, normalized and invariant all on), for
/// squared loss:
/// - adaptive: each weight's step is scaled by G^−power_t, G the sum of its squared gradients
///   (AdaGrad when power_t = 0.5);
/// - normalized (Ross, Mineiro, Langford 2013): each weight also keeps N, the largest |x| its
///   feature has taken, and steps by (N²)^(power_t − 1); when a larger |x| appears the weight is
///   rescaled as if that had been the scale all along. A global factor
///   (Σ normalized x² / Σ weight)^(power_t − 1) corrects for how many features are active;
/// - importance-invariant (Karampatziakis & Langford 2011): an example of importance h moves
///   the prediction toward the label by (label − p)(1 − e^(−2·η·h·s))/s, the closed form of
///   infinitely many tiny steps, where s is the prediction's sensitivity to the update; a
///   large weight 1/p can never overshoot the label.
/// Formulas and float precision follow VW so weights match `vw` closely.
struct UpdateRule {
    let eta: Float
    let powerT: Float
    /// power_t − 1: exponent of the normalizer terms.
    let negNormPower: Float
    let initialT: Float
    let l1: Double
    let l2: Double
    /// VW takes a square-root path when power_t is exactly 0.5.
    let sqrtRate: Bool
    let zeroPower: Bool

    static let xMin: Float = 1.084202e-19
    static let x2Min: Float = xMin * xMin

    init(_ policy: LearningPolicy) {
        eta = Float(policy.learningRate)
        powerT = Float(policy.powerT)
        negNormPower = Float(policy.powerT) - 1
        initialT = Float(policy.initialT)
        l1 = policy.l1
        l2 = policy.l2
        sqrtRate = policy.powerT == 0.5
        zeroPower = policy.powerT == 0
    }

    /// First pass over the example's features (VW pred_per_update_feature): updates each
    /// weight's G and N, stores its rate factor G^−power_t · (N²)^(power_t − 1) in the 4th
    /// float, and returns Σ x²·rate (the prediction's sensitivity before the global factor) and
    /// Σ (x/N)². One loop per rate formula, so the loop tests no setting per feature.
    @inline(__always)
    func accumulate(_ scratch: LearnScratch, count: Int, table: UnsafeMutablePointer<Float>,
                    gradSquared: Float) -> (predPerUpdate: Float, normX: Float) {
        if sqrtRate {
            return accumulate(scratch, count: count, table: table, gradSquared: gradSquared) { g, n in
                (1 / g.squareRoot()) * (1 / n)
            }
        }
        if zeroPower {
            return accumulate(scratch, count: count, table: table, gradSquared: gradSquared) { _, n in 1 / (n * n) }
        }
        let powerT = powerT, negNormPower = negNormPower
        return accumulate(scratch, count: count, table: table, gradSquared: gradSquared) { g, n in
            powFloat(g, -powerT) * powFloat(n * n, negNormPower)
        }
    }

    @inline(__always)
    private func accumulate(_ scratch: LearnScratch, count: Int, table: UnsafeMutablePointer<Float>, gradSquared: Float,
                            rate: (_ gradientSquares: Float, _ normalizer: Float) -> Float)
        -> (predPerUpdate: Float, normX: Float) {
        var predPerUpdate: Float = 0
        var normX: Float = 0
        let slots = scratch.slots, xs = scratch.xs
        for k in 0..<count {
            let w = table + (Int(slots[k]) << 2)
            var x = xs[k]
            var x2 = x * x
            if x2 < Self.x2Min { (x, x2) = Self.smallestNonZero(x) }
            w[1] += gradSquared * x2
            let absX = abs(x)
            if absX > w[2] { raiseNormalizer(w, to: absX) }
            let n = w[2]
            var normX2 = x2 / (n * n)
            if x2 == .infinity { normX2 = 1 }
            normX += normX2
            let r = rate(w[1], n)
            w[3] = r
            predPerUpdate += x2 * r
        }
        return (predPerUpdate, normX)
    }

    /// VW's floor for a feature too close to 0 to square: ±xMin, and its square. Out of line,
    /// so the loop branches over it instead of computing it for every feature.
    @inline(never)
    private static func smallestNonZero(_ x: Float) -> (x: Float, x2: Float) {
        (x > 0 ? xMin : -xMin, x2Min)
    }

    /// A feature larger than its weight has seen: the weight is rescaled as if the new scale
    /// had been the scale from the start (rare once the features' ranges are known).
    @inline(never)
    private func raiseNormalizer(_ w: UnsafeMutablePointer<Float>, to absX: Float) {
        if w[2] > 0 {
            if sqrtRate {
                w[0] *= w[2] / absX
            } else if zeroPower {
                let ratio = absX / w[2]
                w[0] *= 1 / (ratio * ratio)
            } else {
                let ratio = absX / w[2]
                w[0] *= powFloat(ratio * ratio, negNormPower)
            }
        }
        w[2] = absX
    }

    /// The global normalization factor (VW average_update).
    @inline(__always)
    func averageUpdate(totalWeight: Float, normalizedSumNormX: Float) -> Float {
        if sqrtRate { return (totalWeight / normalizedSumNormX).squareRoot() }
        if zeroPower { return 1 / (normalizedSumNormX / totalWeight) }
        return powFloat(normalizedSumNormX / totalWeight, negNormPower)
    }

    /// VW squared loss get_update: the importance-invariant step size.
    @inline(__always)
    static func squaredLossUpdate(prediction: Float, label: Float, updateScale: Float,
                                  predPerUpdate: Float) -> Float {
        if updateScale * predPerUpdate < 1e-6 {
            // exp(−x) ≈ 1 − x: avoids cancellation for tiny steps.
            return 2 * (label - prediction) * updateScale
        }
        return (label - prediction) * (1 - expFloat(-2 * updateScale * predPerUpdate)) / predPerUpdate
    }
}
