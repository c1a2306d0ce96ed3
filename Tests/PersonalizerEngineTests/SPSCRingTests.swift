import Foundation
import PersonalizerEngine
import Synchronization
import XCTest

/// Counts live instances, to prove the ring neither leaks nor double-frees its elements.
private final class Tracked: Sendable {
    static let live = Atomic<Int>(0)
    let value: Int
    init(_ value: Int) {
        self.value = value
        Tracked.live.add(1, ordering: .relaxed)
    }
    deinit { Tracked.live.subtract(1, ordering: .relaxed) }
}

final class SPSCRingTests: XCTestCase {
    func testCapacityRoundsUpToAPowerOfTwo() {
        XCTAssertEqual(SPSCRing<Int>(capacity: 1).capacity, 2)
        XCTAssertEqual(SPSCRing<Int>(capacity: 1000).capacity, 1024)
        XCTAssertEqual(SPSCRing<Int>(capacity: 1024).capacity, 1024)
    }

    func testFullRingRefusesAndDrainFreesSlots() {
        let ring = SPSCRing<Int>(capacity: 4)
        for value in 0..<4 { XCTAssertTrue(ring.tryPush(value)) }
        XCTAssertFalse(ring.tryPush(99), "a full ring refuses")
        var drained: [Int] = []
        XCTAssertEqual(ring.drain(limit: 3) { drained.append($0) }, 3)
        XCTAssertEqual(drained, [0, 1, 2])
        for value in 4..<7 { XCTAssertTrue(ring.tryPush(value)) }
        XCTAssertFalse(ring.tryPush(99))
        XCTAssertEqual(ring.drain { drained.append($0) }, 4)
        XCTAssertEqual(drained, Array(0..<7))
        XCTAssertTrue(ring.isEmpty)
        XCTAssertEqual(ring.drain { _ in XCTFail("empty ring drained something") }, 0)
    }

    func testElementsLeftInTheRingAreReleased() {
        let before = Tracked.live.load(ordering: .relaxed)
        do {
            let ring = SPSCRing<Tracked>(capacity: 8)
            for value in 0..<6 { XCTAssertTrue(ring.tryPush(Tracked(value))) }
            ring.drain(limit: 2) { _ in }
            XCTAssertEqual(Tracked.live.load(ordering: .relaxed) - before, 4)
        }
        XCTAssertEqual(Tracked.live.load(ordering: .relaxed), before)
    }

    /// Millions of items across two threads through a small ring (so it is full and empty
    /// often): every item arrives once, in order.
    func testTwoThreadStressKeepsOrderAndLosesNothing() {
        let total = 5_000_000
        let ring = SPSCRing<Int>(capacity: 1024)
        let consumerDone = DispatchSemaphore(value: 0)
        let result = Mutex<(count: Int, outOfOrder: Int, sum: Int)>((0, 0, 0))
        let consumer = Thread {
            var expected = 0
            var outOfOrder = 0
            var sum = 0
            while expected < total {
                let drained = ring.drain(limit: 256) { value in
                    if value != expected { outOfOrder += 1 }
                    sum &+= value
                    expected += 1
                }
                if drained == 0 { sched_yield() }
            }
            result.withLock { $0 = (expected, outOfOrder, sum) }
            consumerDone.signal()
        }
        consumer.start()
        var fullCount = 0
        for value in 0..<total {
            while !ring.tryPush(value) {
                fullCount += 1
                sched_yield()
            }
        }
        consumerDone.wait()
        let (count, outOfOrder, sum) = result.withLock { $0 }
        XCTAssertEqual(count, total)
        XCTAssertEqual(outOfOrder, 0)
        XCTAssertEqual(sum, total * (total - 1) / 2)
        XCTAssertTrue(ring.isEmpty)
        print("ring stress: \(total) items, producer found the ring full \(fullCount) times")
    }

    /// Class elements across threads: every instance is released exactly once.
    func testTwoThreadStressWithReferenceElementsReleasesEach() {
        let before = Tracked.live.load(ordering: .relaxed)
        let total = 500_000
        let ring = SPSCRing<Tracked>(capacity: 64)
        let done = DispatchSemaphore(value: 0)
        let seen = Mutex(0)
        Thread {
            var count = 0
            var expected = 0
            while count < total {
                if ring.drain(limit: 16, { item in
                    XCTAssertEqual(item.value, expected)
                    expected += 1
                    count += 1
                }) == 0 { sched_yield() }
            }
            seen.withLock { $0 = count }
            done.signal()
        }.start()
        for value in 0..<total {
            let item = Tracked(value)
            while !ring.tryPush(item) { sched_yield() }
        }
        done.wait()
        XCTAssertEqual(seen.withLock { $0 }, total)
        XCTAssertEqual(Tracked.live.load(ordering: .relaxed), before)
    }
}
