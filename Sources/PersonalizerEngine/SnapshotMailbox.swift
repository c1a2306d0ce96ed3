import Synchronization

/// Hands immutable snapshots from one publisher thread to one reader thread safely.
///
/// Swift's `Atomic` holds no strong reference, and "load the pointer, then retain" races with a
/// publisher releasing it (a use-after-free). So ownership is transferred instead of shared:
/// - `post` stores a +1 reference in the slot with `exchange`; if the reader never took the
///   previous one, the publisher gets it back from the same `exchange` and releases it;
/// - `take` empties the slot with `exchange(nil)` and so owns the +1 reference it found.
/// No moment exists where a reference is in the slot without being owned by it, and the reader
/// keeps the snapshot it took alive for as long as it holds it, whatever is posted meanwhile.
/// The acquire/release `exchange` makes the snapshot's contents, written before `post`, visible
/// to the reader after `take`.
public final class SnapshotMailbox<Snapshot: AnyObject & Sendable>: Sendable {
    private let slot = Atomic<Unmanaged<Snapshot>?>(nil)

    public init() {}

    deinit {
        slot.exchange(nil, ordering: .acquiring)?.release()
    }

    /// Publisher: replaces whatever the reader has not taken yet.
    public func post(_ snapshot: Snapshot) {
        let previous = slot.exchange(Unmanaged.passRetained(snapshot), ordering: .acquiringAndReleasing)
        previous?.release()
    }

    /// Reader: the newest snapshot posted since the last `take`, if any.
    @inline(__always)
    public func take() -> Snapshot? {
        guard let posted = slot.exchange(nil, ordering: .acquiringAndReleasing) else { return nil }
        return posted.takeRetainedValue()
    }
}

/// The reader's side: the snapshot in use, refreshed from the mailbox. Owned by one thread.
public final class SnapshotReader<Snapshot: AnyObject & Sendable> {
    public private(set) var current: Snapshot
    private let mailbox: SnapshotMailbox<Snapshot>

    public init(initial: Snapshot, mailbox: SnapshotMailbox<Snapshot>) {
        current = initial
        self.mailbox = mailbox
    }

    /// Runs `body` with the newest snapshot, borrowed: no reference count is touched for it
    /// (on the hot path that is an atomic operation on memory the publisher's thread allocated,
    /// often a cache miss). Safe because only this reader replaces `current`, and not during
    /// `body`. The previous snapshot is released here if nothing else holds it.
    @inline(__always)
    public func withLatest<R>(_ body: (Snapshot) throws -> R) rethrows -> R {
        if let newer = mailbox.take() { current = newer }
        return try Unmanaged.passUnretained(current)._withUnsafeGuaranteedRef(body)
    }
}
