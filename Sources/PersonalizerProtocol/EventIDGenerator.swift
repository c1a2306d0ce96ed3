/// Makes event ids for Ranks that come without one: 32 hex digits from a 128-bit random value
/// (xoshiro256** seeded from the system's generator), unique in practice.
struct EventIDGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        state = (system.next(), system.next(), system.next(), system.next() | 1)
    }

    private mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 { (value << count) | (value >> (64 - count)) }

    /// Writes a new id and a terminating NUL into `buffer` (at least 33 bytes); returns its length.
    mutating func write(into buffer: UnsafeMutablePointer<CChar>) -> Int {
        let digits: StaticString = "0123456789abcdef"
        var position = 0
        for _ in 0..<2 {
            let word = next()
            var shift: UInt64 = 64
            while shift > 0 {
                shift -= 4
                buffer[position] = CChar(bitPattern: digits.utf8Start[Int((word >> shift) & 0xF)])
                position += 1
            }
        }
        buffer[position] = 0
        return position
    }
}
