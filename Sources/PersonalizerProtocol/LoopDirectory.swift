import PersonalizerEngine

/// Finds a loop by the name bytes of a request without making a string: a server has a
/// handful of loops, so a scan of their names beats hashing.
struct LoopDirectory {
    private let entries: [(name: [UInt8], loop: LearningLoop)]
    /// Found once: most requests name no loop.
    private let defaultLoop: LearningLoop?

    init(_ loops: [String: LearningLoop]) {
        entries = loops.sorted { $0.key < $1.key }.map { (Array($0.key.utf8), $0.value) }
        defaultLoop = loops[Configuration.defaultLoopName]
    }

    /// The loop named `name`; an empty name is the default loop.
    func loop(named name: UnsafeRawBufferPointer) -> LearningLoop? {
        if name.count == 0 { return defaultLoop }
        for entry in entries where entry.name.count == name.count {
            if entry.name.withUnsafeBytes({ $0.equals(name) }) { return entry.loop }
        }
        return nil
    }
}
