@testable import PersonalizerEngine
import XCTest

final class PendingEventIDsTests: XCTestCase {
    func testIDsExpireWithTheirWindow() {
        let pending = PendingEventIDs()
        pending.insert("a", deadline: 10)
        pending.insert("b", deadline: 20)
        XCTAssertTrue(pending.contains("a", now: 9))
        XCTAssertFalse(pending.contains("a", now: 10))
        XCTAssertTrue(pending.contains("b", now: 10))
        pending.insert("a", deadline: 30)
        XCTAssertTrue(pending.contains("a", now: 25), "a reused id gets its own window")
        XCTAssertFalse(pending.contains("b", now: 25))
        XCTAssertEqual(pending.count, 1)
    }

    /// Equal bytes give equal digests wherever they are; ids that differ in one byte, in length
    /// alone or by a trailing zero byte give different ones.
    func testDigestsTellIdsApartAndAgreeOnEqualBytes() {
        var ids: [[UInt8]] = [[], [0], [0, 0], Array("a".utf8), Array("a".utf8) + [0], Array("ab".utf8), Array("ba".utf8)]
        for length in [7, 8, 15, 16, 17, 36, 64] {
            let base = (0..<length).map { UInt8(65 + $0 % 26) }
            ids.append(base)
            for position in [0, length / 2, length - 1] {
                var changed = base
                changed[position] ^= 1
                ids.append(changed)
            }
        }
        ids += (0..<1500).map { Array("event-\($0)".utf8) }
        let digests = ids.map { id in id.withUnsafeBytes { EventIDDigest($0) } }
        for a in ids.indices {
            // The same bytes in other memory.
            let copy = Array(ids[a])
            XCTAssertEqual(copy.withUnsafeBytes { EventIDDigest($0) }, digests[a])
            for b in (a + 1)..<ids.count { XCTAssertNotEqual(digests[a], digests[b], "\(ids[a]) \(ids[b])") }
        }
    }

    /// The table against a plain dictionary, through growth and many expiries: entries whose
    /// home slots collide (a tiny table probes a lot) must stay reachable as others leave.
    func testTheTableAgreesWithADictionary() {
        let pending = PendingEventIDs(initialCapacity: 16)
        var reference: [String: UInt64] = [:]
        var random = SplitMix(state: 42)
        var now: UInt64 = 0
        var mostAtOnce = 0
        for step in 0..<20_000 {
            now += random.below(3)
            let id = "id-\(random.below(400))"
            let isPending = reference[id].map { $0 > now } ?? false
            XCTAssertEqual(pending.contains(id, now: now), isPending, "step \(step): \(id)")
            reference = reference.filter { $0.value > now }
            XCTAssertEqual(pending.count, reference.count, "step \(step)")
            mostAtOnce = max(mostAtOnce, reference.count)
            if !isPending {
                let deadline = now + 100  // every window has the loop's length
                pending.insert(id, deadline: deadline)
                reference[id] = deadline
            }
        }
        XCTAssertGreaterThan(mostAtOnce, 40, "the table grew from 16 slots")
    }
}

/// A small deterministic generator for the engine tests.
struct SplitMix {
    var state: UInt64
    mutating func below(_ bound: UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) % bound
    }
}

private extension PendingEventIDs {
    func insert(_ id: String, deadline: UInt64) {
        var id = id
        id.withUTF8 { insert(EventIDDigest(UnsafeRawBufferPointer($0)), deadline: deadline) }
    }

    func contains(_ id: String, now: UInt64) -> Bool {
        var id = id
        return id.withUTF8 { contains(EventIDDigest(UnsafeRawBufferPointer($0)), now: now) }
    }
}
