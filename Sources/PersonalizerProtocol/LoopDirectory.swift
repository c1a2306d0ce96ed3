import PersonalizerEngine

/// Finds a loop by the name bytes of a request without making a string: a server has a
/// handful of loops, so a scan of their names beats hashing.
struct LoopDirectory {
    private let entries: [(name: [UInt8], loop: LearningLoop)]

    init(_ loops: [String: LearningLoop]) {
        entries = loops.sorted { $0.key < $1.key }.map { (Array($0.key.utf8), $0.value) }
    }

    /// The loop named `name`; an empty name is the default loop.
    func loop(named name: UnsafeRawBufferPointer) -> LearningLoop? {
        if name.count == 0 { return loop(named: Configuration.defaultLoopName) }
        for entry in entries where entry.name.count == name.count {
            if entry.name.withUnsafeBytes({ $0.equals(name) }) { return entry.loop }
        }
        return nil
    }

    private func loop(named name: String) -> LearningLoop? {
        entries.first { $0.name.elementsEqual(name.utf8) }?.loop
    }
}
