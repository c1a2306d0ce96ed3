// Feature views and the kernels that consume the features an ExampleWalker visits.

/// A borrowed view of hashed features: their memory, without holding it (no reference
/// counting). Valid while the owner it came from (a `HashedFeatures` value, or a cache that
/// keeps one) is alive and unchanged; the hot path passes these instead of copies of the
/// owning values, each of which would cost an atomic retain and release.
public struct FeatureBlock {
    public let indices: UnsafeBufferPointer<UInt32>
    public let values: UnsafeBufferPointer<Float>
    public let spans: UnsafeBufferPointer<NamespaceSpan>

    @inlinable
    public init(indices: UnsafeBufferPointer<UInt32>, values: UnsafeBufferPointer<Float>,
                spans: UnsafeBufferPointer<NamespaceSpan>) {
        self.indices = indices
        self.values = values
        self.spans = spans
    }
}

extension HashedFeatures {
    /// The features in place, valid inside `body`.
    @inlinable @inline(__always)
    public func withBlock<R>(_ body: (FeatureBlock) throws -> R) rethrows -> R {
        try withParts { spans, indices, values in try body(FeatureBlock(indices: indices, values: values, spans: spans)) }
    }

    /// The features in place, for a caller that keeps this value (or a copy sharing its
    /// storage) alive and unchanged for as long as it uses the block.
    @inlinable
    public var unsafeBlock: FeatureBlock {
        withParts { spans, indices, values in FeatureBlock(indices: indices, values: values, spans: spans) }
    }
}

extension Array where Element == HashedFeatures {
    /// Views of the first `count` elements (all by default), in order, valid inside `body`.
    @inlinable
    public func withBlocks<R>(count: Int? = nil, _ body: (UnsafeBufferPointer<FeatureBlock>) throws -> R) rethrows -> R {
        let count = count ?? self.count
        precondition(count >= 0 && count <= self.count, "\(count) views of \(self.count) features")
        return try withExtendedLifetime(self) {
            try withUnsafeTemporaryAllocation(of: FeatureBlock.self, capacity: count) { blocks in
                for index in 0..<count { blocks.initializeElement(at: index, to: self[index].unsafeBlock) }
                return try body(UnsafeBufferPointer(blocks))
            }
        }
    }
}

/// Receives every feature of an example: its unmasked hash and value. Runs of features that
/// share an interaction prefix come in one call, so dot products can keep several partial
/// sums (a single running sum is a chain of dependent float adds, the bottleneck).
protocol FeatureKernel {
    mutating func feature(_ hash: UInt32, _ value: Float)
    /// Features `prefix ^ indices[j]` with values `scale * values[j]`, j in 0..<count.
    mutating func run(prefix: UInt32, scale: Float, indices: UnsafePointer<UInt32>, values: UnsafePointer<Float>,
                      count: Int)
}

extension FeatureKernel {
    @inline(__always)
    mutating func run(prefix: UInt32, scale: Float, indices: UnsafePointer<UInt32>, values: UnsafePointer<Float>,
                      count: Int) {
        for j in 0..<count { feature(prefix ^ indices[j], scale * values[j]) }
    }
}

/// Where a dot product reads the weight of a feature hash.
protocol WeightSource {
    func weight(_ hash: UInt32) -> Float
    /// The weights of four hashes: their slots worked out in one vector, then four loads.
    func weights(_ hashes: SIMD4<UInt32>) -> SIMD4<Float>
}

extension WeightSource {
    @inline(__always)
    func weights(_ hashes: SIMD4<UInt32>) -> SIMD4<Float> {
        SIMD4(weight(hashes[0]), weight(hashes[1]), weight(hashes[2]), weight(hashes[3]))
    }
}

/// Dot product of the visited features with a weight source, kept in four partial sums across
/// runs (a single running sum is a chain of dependent float adds, the bottleneck), one per
/// vector lane. Learner and snapshot share this code, so the same weights give bit-identical
/// scores.
struct DotKernel<Weights: WeightSource>: FeatureKernel {
    let weights: Weights
    var lanes = SIMD4<Float>(repeating: 0)

    init(_ weights: Weights) { self.weights = weights }

    var sum: Float { (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) }

    @inline(__always)
    mutating func feature(_ hash: UInt32, _ value: Float) {
        lanes[0] += weights.weight(hash) * value
    }

    @inline(__always)
    mutating func run(prefix: UInt32, scale: Float, indices: UnsafePointer<UInt32>, values: UnsafePointer<Float>,
                      count: Int) {
        var sums = lanes
        let prefixes = SIMD4<UInt32>(repeating: prefix), scales = SIMD4<Float>(repeating: scale)
        var j = 0
        while j + 4 <= count {
            let hashes = prefixes ^ UnsafeRawPointer(indices + j).loadUnaligned(as: SIMD4<UInt32>.self)
            let x = UnsafeRawPointer(values + j).loadUnaligned(as: SIMD4<Float>.self)
            sums += weights.weights(hashes) * (scales * x)
            j += 4
        }
        while j < count {
            sums[0] += weights.weight(prefix ^ indices[j]) * (scale * values[j])
            j += 1
        }
        lanes = sums
    }
}
