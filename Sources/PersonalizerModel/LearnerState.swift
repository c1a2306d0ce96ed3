/// Why saved learner state could not be restored.
public enum ModelStateError: Error, Sendable, Equatable, CustomStringConvertible {
    case notLearnerState
    case unsupportedVersion(UInt32)
    case truncated
    case incompatible(String)

    public var description: String {
        switch self {
        case .notLearnerState: return "not saved learner state (bad magic bytes)"
        case .unsupportedVersion(let version): return "saved learner state version \(version) is not supported"
        case .truncated: return "saved learner state is truncated or corrupt"
        case .incompatible(let reason): return "saved learner state does not fit the policy: \(reason)"
        }
    }
}

/// Checkpoints: the complete learner state (weights and optimizer state, counters), little-endian.
///
/// Layout: "PZLS", version, bits, models per slot, counters, label range, l1/l2 state,
/// normalizer sums, the policy's arguments (informational), then only the slots that differ
/// from a fresh table, as (slot, weight, G, N, rate).
extension LinearLearner {
    static let stateMagic: [UInt8] = Array("PZLS".utf8)
    static let stateVersion: UInt32 = 1

    public func serializedState() -> [UInt8] {
        var out = ByteWriter()
        out.bytes.append(contentsOf: Self.stateMagic)
        out.put(Self.stateVersion)
        out.put(UInt32(bits))
        out.put(UInt32(1) << modelShift)
        out.put(examplesLearned)
        out.put(eventSum)
        out.put(actionSum)
        out.put(minLabel)
        out.put(maxLabel)
        out.put(updateMultiplier)
        out.put(contraction)
        out.put(gravity)
        out.put(normalizedSumNormX.0)
        out.put(normalizedSumNormX.1)
        out.put(totalWeight.0)
        out.put(totalWeight.1)
        let arguments = Array(policy.arguments.utf8)
        out.put(UInt32(arguments.count))
        out.bytes.append(contentsOf: arguments)

        let freshG = rule.initialT
        var changed: UInt64 = 0
        for slot in 0..<slotCount where isChanged(slot, freshG) { changed += 1 }
        out.put(changed)
        out.bytes.reserveCapacity(out.bytes.count + Int(changed) * 20)
        for slot in 0..<slotCount where isChanged(slot, freshG) {
            out.put(UInt32(slot))
            for k in 0..<4 { out.put(table[slot << 2 | k]) }
        }
        return out.bytes
    }

    @inline(__always)
    private func isChanged(_ slot: Int, _ freshG: Float) -> Bool {
        let w = table + (slot << 2)
        return w[0] != 0 || w[1] != freshG || w[2] != 0 || w[3] != 0
    }

    /// Restores a learner saved by `serializedState()`. The policy must use the same table
    /// (bits and cost estimator); exploration and learning rates may differ.
    public convenience init(policy: LearningPolicy, restoring bytes: [UInt8]) throws(ModelStateError) {
        var reader = ByteReader(bytes: bytes)
        guard Array(try reader.take(4)) == Self.stateMagic else { throw .notLearnerState }
        let version: UInt32 = try reader.get()
        guard version == Self.stateVersion else { throw .unsupportedVersion(version) }
        let savedBits: UInt32 = try reader.get()
        let savedModels: UInt32 = try reader.get()
        guard savedBits == UInt32(policy.bits) else {
            throw .incompatible("saved with -b \(savedBits), the policy has -b \(policy.bits)")
        }
        guard savedModels == UInt32(policy.weightsPerSlot) else {
            throw .incompatible("saved with \(savedModels) model(s) per slot, the policy's --cb_type "
                                + "\(policy.costEstimator.rawValue) needs \(policy.weightsPerSlot)")
        }
        self.init(policy: policy)
        examplesLearned = try reader.get()
        eventSum = try reader.get()
        actionSum = try reader.get()
        minLabel = try reader.get()
        maxLabel = try reader.get()
        updateMultiplier = try reader.get()
        contraction = try reader.get()
        gravity = try reader.get()
        normalizedSumNormX.0 = try reader.get()
        normalizedSumNormX.1 = try reader.get()
        totalWeight.0 = try reader.get()
        totalWeight.1 = try reader.get()
        let argumentsLength: UInt32 = try reader.get()
        _ = try reader.take(Int(argumentsLength))
        let changed: UInt64 = try reader.get()
        guard changed <= UInt64(slotCount) else { throw .truncated }
        for _ in 0..<changed {
            let slot: UInt32 = try reader.get()
            guard Int(slot) < slotCount else { throw .truncated }
            for k in 0..<4 { table[Int(slot) << 2 | k] = try reader.get() }
        }
        guard reader.isAtEnd else { throw .truncated }
    }
}

struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func put<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func put(_ value: Float) { put(value.bitPattern) }
    mutating func put(_ value: Double) { put(value.bitPattern) }
}

struct ByteReader {
    let bytes: [UInt8]
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }

    mutating func take(_ count: Int) throws(ModelStateError) -> ArraySlice<UInt8> {
        guard count >= 0, bytes.count - offset >= count else { throw .truncated }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func get<T: FixedWidthInteger>() throws(ModelStateError) -> T {
        let slice = try take(MemoryLayout<T>.size)
        var value: T = 0
        for (shift, byte) in slice.enumerated() { value |= T(truncatingIfNeeded: byte) << T(8 * shift) }
        return value
    }

    mutating func get() throws(ModelStateError) -> Float { Float(bitPattern: try get()) }
    mutating func get() throws(ModelStateError) -> Double { Double(bitPattern: try get()) }
}
