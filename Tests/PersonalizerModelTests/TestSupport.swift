import PersonalizerModel

/// Builds features from (namespace, [(name, value)]) where a String value is text and a
/// Double is a number.
func features(_ namespaces: [(String, [(String, Any)])]) -> HashedFeatures {
    var f = HashedFeatures()
    for (namespace, list) in namespaces {
        f.beginNamespace(name: namespace)
        for (name, value) in list {
            if let text = value as? String {
                f.addText(name: name, value: text)
            } else if let number = value as? Double {
                f.addNumber(name: name, value: number)
            } else if let number = value as? Int {
                f.addNumber(name: name, value: Double(number))
            }
        }
    }
    return f
}

func policy(_ arguments: String) -> LearningPolicy {
    do { return try LearningPolicy.parse(arguments) } catch { fatalError("\(error)") }
}

/// Slots whose weight or AdaGrad sum is non-zero.
func touchedSlots(_ learner: LinearLearner, bits: Int = 18) -> Set<Int> {
    var result = Set<Int>()
    for slot in 0..<(1 << bits) {
        let s = learner.slotState(slot)
        if s.weight != 0 || s.gradientSquares != 0 { result.insert(slot) }
    }
    return result
}

func slot(_ hash: UInt32, bits: Int = 18) -> Int { Int(hash & ((1 << UInt32(bits)) - 1)) }

/// A small deterministic generator for simulations.
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
