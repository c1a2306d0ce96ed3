/// The learner's reused per-example memory: the table slot and value of each visited feature.
/// Grows when an example is larger than any before, so steady state never allocates.
struct LearnScratch {
    private(set) var capacity: Int
    private(set) var slots: UnsafeMutablePointer<UInt32>
    private(set) var xs: UnsafeMutablePointer<Float>

    init(capacity: Int) {
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        xs = .allocate(capacity: capacity)
    }

    func deallocate() {
        slots.deallocate()
        xs.deallocate()
    }

    /// Makes room for at least `needed` features, keeping the first `kept`.
    @inline(never)
    mutating func grow(to needed: Int, keeping kept: Int) {
        let bigger = LearnScratch(capacity: max(needed, capacity * 2))
        bigger.slots.moveInitialize(from: slots, count: kept)
        bigger.xs.moveInitialize(from: xs, count: kept)
        deallocate()
        self = bigger
    }
}

/// Collects the slot and value of every visited feature into the learner's scratch and, in the
/// same pass, sums the prediction with the weights as they are: one pass over the example
/// instead of two, and four partial sums as `DotKernel` keeps them instead of one chain of
/// dependent adds.
struct CollectKernel: FeatureKernel {
    var scratch: LearnScratch
    var count = 0
    let weights: TableWeights
    var lanes = SIMD4<Float>(repeating: 0)

    init(scratch: LearnScratch, weights: TableWeights) {
        self.scratch = scratch
        self.weights = weights
    }

    var sum: Float { (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) }

    @inline(__always)
    mutating func feature(_ hash: UInt32, _ value: Float) {
        if count == scratch.capacity { scratch.grow(to: count + 1, keeping: count) }
        let slot = weights.slot(hash)
        scratch.slots[count] = slot
        scratch.xs[count] = value
        count += 1
        lanes[0] += weights.weight(atSlot: slot) * value
    }

    @inline(__always)
    mutating func run(prefix: UInt32, scale: Float, indices: UnsafePointer<UInt32>, values: UnsafePointer<Float>,
                      count runCount: Int) {
        if count + runCount > scratch.capacity { scratch.grow(to: count + runCount, keeping: count) }
        let slotsOut = UnsafeMutableRawPointer(scratch.slots + count)
        let xsOut = UnsafeMutableRawPointer(scratch.xs + count)
        var sums = lanes
        let prefixes = SIMD4<UInt32>(repeating: prefix), scales = SIMD4<Float>(repeating: scale)
        var j = 0
        while j + 4 <= runCount {
            let slots = weights.slots(prefixes ^ UnsafeRawPointer(indices + j).loadUnaligned(as: SIMD4<UInt32>.self))
            let x = scales * UnsafeRawPointer(values + j).loadUnaligned(as: SIMD4<Float>.self)
            slotsOut.storeBytes(of: slots, toByteOffset: j * 4, as: SIMD4<UInt32>.self)
            xsOut.storeBytes(of: x, toByteOffset: j * 4, as: SIMD4<Float>.self)
            sums += weights.weights(atSlots: slots) * x
            j += 4
        }
        while j < runCount {
            let slot = weights.slot(prefix ^ indices[j])
            let x = scale * values[j]
            slotsOut.storeBytes(of: slot, toByteOffset: j * 4, as: UInt32.self)
            xsOut.storeBytes(of: x, toByteOffset: j * 4, as: Float.self)
            sums[0] += weights.weight(atSlot: slot) * x
            j += 1
        }
        lanes = sums
        count += runCount
    }
}

/// The learner's effective weights of one model (stride 4 floats per slot).
struct TableWeights: WeightSource {
    let table: UnsafeMutablePointer<Float>
    let shift: UInt32
    let model: UInt32
    let mask: UInt32
    let regularized: Bool
    let gravity: Float
    let contraction: Float

    @inline(__always)
    func slot(_ hash: UInt32) -> UInt32 { ((hash << shift) &+ model) & mask }

    @inline(__always)
    func slots(_ hashes: SIMD4<UInt32>) -> SIMD4<UInt32> {
        ((hashes &<< SIMD4(repeating: shift)) &+ SIMD4(repeating: model)) & SIMD4(repeating: mask)
    }

    @inline(__always)
    func weight(atSlot slot: UInt32) -> Float {
        let w = table[Int(slot) << 2]
        return regularized ? LinearLearner.effectiveWeight(w, gravity, contraction) : w
    }

    @inline(__always)
    func weights(atSlots slots: SIMD4<UInt32>) -> SIMD4<Float> {
        SIMD4(weight(atSlot: slots[0]), weight(atSlot: slots[1]), weight(atSlot: slots[2]), weight(atSlot: slots[3]))
    }

    @inline(__always)
    func weight(_ hash: UInt32) -> Float { weight(atSlot: slot(hash)) }

    @inline(__always)
    func weights(_ hashes: SIMD4<UInt32>) -> SIMD4<Float> { weights(atSlots: slots(hashes)) }
}
