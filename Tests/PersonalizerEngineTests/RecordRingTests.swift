import Foundation
import PersonalizerEngine
import Synchronization
import XCTest

final class RecordRingTests: XCTestCase {
    private func push(_ ring: RecordRing, _ bytes: [UInt8]) -> Bool {
        guard ring.hasRoom(for: bytes.count) else { return false }
        ring.push(bytes.count) { region in region.copyBytes(from: bytes) }
        return true
    }

    private func drainAll(_ ring: RecordRing, limit: Int = .max) -> [[UInt8]] {
        var records: [[UInt8]] = []
        ring.drain(limit: limit) { records.append(Array($0)) }
        return records
    }

    func testCapacitiesAreRoundedAndTheLargestRecordIsHalfTheStorage() {
        XCTAssertEqual(RecordRing(byteCapacity: 1, recordCapacity: 1).byteCapacity, 64)
        let ring = RecordRing(byteCapacity: 1001, recordCapacity: 4)
        XCTAssertEqual(ring.byteCapacity, 1008)
        XCTAssertEqual(ring.maxRecordBytes, 496)
    }

    func testRecordCountBoundsTheRing() {
        let ring = RecordRing(byteCapacity: 4096, recordCapacity: 3)
        for value in 0..<3 { XCTAssertTrue(push(ring, [UInt8(value)])) }
        XCTAssertFalse(push(ring, [9]), "three records fill a ring of three")
        XCTAssertEqual(drainAll(ring, limit: 2), [[0], [1]])
        XCTAssertTrue(push(ring, [3]))
        XCTAssertEqual(drainAll(ring), [[2], [3]])
        XCTAssertTrue(ring.isEmpty)
        XCTAssertEqual(ring.drain { _ in XCTFail("an empty ring drained something") }, 0)
    }

    func testBytesBoundTheRingAndRecordsWrapWhole() {
        let ring = RecordRing(byteCapacity: 256, recordCapacity: 100)
        // 8-byte header + 40 bytes: 48 per record; five fit in 256, a sixth does not.
        let records = (0..<5).map { index in [UInt8](repeating: UInt8(index), count: 40) }
        for record in records { XCTAssertTrue(push(ring, record)) }
        XCTAssertFalse(push(ring, [UInt8](repeating: 9, count: 40)))
        XCTAssertEqual(drainAll(ring, limit: 3), Array(records[0..<3]))
        // 16 bytes are left at the end: the next record wraps to the start, whole.
        let wrapped = [UInt8](repeating: 7, count: 100)
        XCTAssertTrue(push(ring, wrapped))
        XCTAssertEqual(drainAll(ring), [records[3], records[4], wrapped])
        XCTAssertTrue(push(ring, []), "an empty record is a record")
        XCTAssertEqual(drainAll(ring), [[]])
    }

    /// Millions of records of varied sizes across two threads through a small ring (full and
    /// empty often, wrapping all the time): every record arrives once, in order, intact.
    func testTwoThreadStressKeepsOrderAndContent() {
        let total = 1_000_000
        let ring = RecordRing(byteCapacity: 16 << 10, recordCapacity: 1024)
        let consumerDone = DispatchSemaphore(value: 0)
        let result = Mutex<(count: Int, damaged: Int)>((0, 0))
        let consumer = Thread {
            var expected = 0
            var damaged = 0
            while expected < total {
                let drained = ring.drain(limit: 256) { record in
                    // Record n: its 8-byte index, then (n % 200) bytes of (n & 0xFF); both ends checked.
                    let index = record.loadUnaligned(as: Int.self)
                    let fill = UInt8(truncatingIfNeeded: expected)
                    if index != expected || record.count != 8 + expected % 200
                        || (record.count > 8 && (record[8] != fill || record[record.count - 1] != fill)) {
                        damaged += 1
                    }
                    expected += 1
                }
                if drained == 0 { sched_yield() }
            }
            result.withLock { $0 = (expected, damaged) }
            consumerDone.signal()
        }
        consumer.start()
        var fullCount = 0
        for index in 0..<total {
            let count = 8 + index % 200
            while !ring.hasRoom(for: count) {
                fullCount += 1
                sched_yield()
            }
            ring.push(count) { region in
                region.storeBytes(of: index, as: Int.self)
                UnsafeMutableRawBufferPointer(rebasing: region[8...]).initializeMemory(
                    as: UInt8.self, repeating: UInt8(truncatingIfNeeded: index))
            }
        }
        consumerDone.wait()
        let (count, damaged) = result.withLock { $0 }
        XCTAssertEqual(count, total)
        XCTAssertEqual(damaged, 0)
        XCTAssertTrue(ring.isEmpty)
        print("record ring stress: \(total) records, producer found the ring full \(fullCount) times")
    }
}
