import Foundation
import PersonalizerEngine
import Synchronization
import XCTest

/// An immutable snapshot whose contents prove it is intact: every value equals its version.
private final class Versioned: Sendable {
    static let live = Atomic<Int>(0)
    static let created = Atomic<Int>(0)
    let version: Int
    let values: [Int]
    init(_ version: Int) {
        self.version = version
        values = Array(repeating: version, count: 64)
        Versioned.live.add(1, ordering: .relaxed)
        Versioned.created.add(1, ordering: .relaxed)
    }
    deinit { Versioned.live.subtract(1, ordering: .relaxed) }
}

final class SnapshotMailboxTests: XCTestCase {
    func testTakeReturnsTheNewestPostOnce() {
        let mailbox = SnapshotMailbox<Versioned>()
        XCTAssertNil(mailbox.take())
        mailbox.post(Versioned(1))
        mailbox.post(Versioned(2))
        XCTAssertEqual(mailbox.take()?.version, 2)
        XCTAssertNil(mailbox.take(), "a snapshot is handed over once")
    }

    func testReaderKeepsItsSnapshotWhileNewerOnesArePosted() {
        let before = Versioned.live.load(ordering: .relaxed)
        do {
            let mailbox = SnapshotMailbox<Versioned>()
            let reader = SnapshotReader(initial: Versioned(0), mailbox: mailbox)
            mailbox.post(Versioned(1))
            let held = reader.withLatest { $0 }
            XCTAssertEqual(held.version, 1)
            for version in 2...10 { mailbox.post(Versioned(version)) }
            XCTAssertEqual(held.values, Array(repeating: 1, count: 64), "the held snapshot stays valid")
            XCTAssertEqual(reader.withLatest { $0.version }, 10)
            // Held: `held` (1) and the reader's current (10); the unread 2...9 were released.
            XCTAssertEqual(Versioned.live.load(ordering: .relaxed) - before, 2)
        }
        XCTAssertEqual(Versioned.live.load(ordering: .relaxed), before, "every snapshot released")
    }

    /// One publisher, several readers (each with its own mailbox, as each I/O thread has): the
    /// readers always see intact snapshots with versions that never go back, and when all is
    /// done every snapshot created has been destroyed.
    func testConcurrentReadersSeeIntactSnapshotsAndNothingLeaks() {
        let readers = 3
        let publications = 200_000
        let liveBefore = Versioned.live.load(ordering: .relaxed)
        let createdBefore = Versioned.created.load(ordering: .relaxed)
        let problems = Atomic<Int>(0)
        let finished = Atomic<Bool>(false)
        let done = DispatchSemaphore(value: 0)
        let reads = Atomic<Int>(0)
        do {
            let mailboxes = (0..<readers).map { _ in SnapshotMailbox<Versioned>() }
            for mailbox in mailboxes {
                Thread {
                    do {
                        let reader = SnapshotReader(initial: Versioned(0), mailbox: mailbox)
                        var lastVersion = 0
                        var count = 0
                        while !finished.load(ordering: .acquiring) || count == 0 {
                            // Borrowed, as the I/O thread reads it: valid for the whole closure.
                            reader.withLatest { snapshot in
                                if snapshot.version < lastVersion { problems.add(1, ordering: .relaxed) }
                                if snapshot.values.contains(where: { $0 != snapshot.version }) {
                                    problems.add(1, ordering: .relaxed)
                                }
                                lastVersion = snapshot.version
                            }
                            count += 1
                        }
                        // A last look after the publisher finished must find the final version.
                        if reader.withLatest({ $0.version }) != publications { problems.add(1, ordering: .relaxed) }
                        reads.add(count, ordering: .relaxed)
                    }  // the reader and its snapshot are released here, before the signal
                    done.signal()
                }.start()
            }
            for version in 1...publications {
                let snapshot = Versioned(version)
                for mailbox in mailboxes { mailbox.post(snapshot) }
            }
            finished.store(true, ordering: .releasing)
            for _ in 0..<readers { done.wait() }
        }
        XCTAssertEqual(problems.load(ordering: .relaxed), 0)
        XCTAssertEqual(Versioned.created.load(ordering: .relaxed) - createdBefore, publications + readers)
        XCTAssertEqual(Versioned.live.load(ordering: .relaxed), liveBefore, "no snapshot leaked")
        print("mailbox stress: \(publications) publications, \(reads.load(ordering: .relaxed)) reads by \(readers) readers")
    }
}

final class ParkerTests: XCTestCase {
    func testParkTimesOutWithoutAWakeUp() {
        let parker = Parker()
        let start = DispatchTime.now().uptimeNanoseconds
        parker.park(timeoutNanoseconds: 20_000_000)
        XCTAssertGreaterThanOrEqual(DispatchTime.now().uptimeNanoseconds - start, 15_000_000)
    }

    func testUnparkBeforeParkIsNotLost() {
        let parker = Parker()
        parker.unpark()
        let start = DispatchTime.now().uptimeNanoseconds
        parker.park(timeoutNanoseconds: 10_000_000_000)
        XCTAssertLessThan(DispatchTime.now().uptimeNanoseconds - start, 1_000_000_000)
    }

    func testWakeIfSleepingWakesOnlyASleeper() {
        let parker = Parker()
        let woke = DispatchSemaphore(value: 0)
        parker.prepareToSleep()
        Thread {
            parker.park(timeoutNanoseconds: 10_000_000_000)
            woke.signal()
        }.start()
        parker.wakeIfSleeping()
        XCTAssertEqual(woke.wait(timeout: .now() + 5), .success)
        // Not sleeping now: no permit is left behind, so the next park waits for its timeout.
        parker.wakeIfSleeping()
        let start = DispatchTime.now().uptimeNanoseconds
        parker.park(timeoutNanoseconds: 20_000_000)
        XCTAssertGreaterThanOrEqual(DispatchTime.now().uptimeNanoseconds - start, 15_000_000)
    }
}
