import PersonalizerEngine

/// Finds a loop by the name bytes of a request without making a string: a server has a
/// handful of loops, so a scan of their names beats hashing.
struct LoopDirectory {
    /// Keeps the loops alive for as long as the directory: the references below do not own.
    private let loops: [LearningLoop]
    private let entries: [(name: [UInt8], loop: Unmanaged<LearningLoop>)]
    /// Found once: most requests name no loop.
    private let defaultLoop: Unmanaged<LearningLoop>?

    init(_ loops: [String: LearningLoop]) {
        let sorted = loops.sorted { $0.key < $1.key }
        self.loops = sorted.map(\.value)
        entries = sorted.map { (Array($0.key.utf8), Unmanaged.passUnretained($0.value)) }
        defaultLoop = loops[Configuration.defaultLoopName].map { Unmanaged.passUnretained($0) }
    }

    /// Runs `body` with the loop named `name` (an empty name is the default loop); nil when
    /// there is none. The loop is borrowed: a request's lookup touches no reference count, an
    /// atomic operation that costs a cache miss whenever another thread wrote near the count.
    @inline(__always)
    func withLoop<R>(named name: UnsafeRawBufferPointer, _ body: (LearningLoop) -> R) -> R? {
        guard let found = find(name) else { return nil }
        return found._withUnsafeGuaranteedRef(body)
    }

    @inline(__always)
    private func find(_ name: UnsafeRawBufferPointer) -> Unmanaged<LearningLoop>? {
        if name.count == 0 { return defaultLoop }
        for index in entries.indices where entries[index].name.count == name.count {
            if entries[index].name.withUnsafeBytes({ $0.equals(name) }) { return entries[index].loop }
        }
        return nil
    }
}
