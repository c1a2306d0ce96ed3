@testable import PersonalizerEngine
import XCTest

final class EventSequenceIndexTests: XCTestCase {
    /// Hashes drawn from a few values, so ids share hashes and home slots all the time: the
    /// index must still find each id (told apart by `isID`), through growth and removals in
    /// any order, exactly as a dictionary does.
    func testCollidingHashesAgreeWithADictionary() {
        let index = EventSequenceIndex(initialCapacity: 16)
        var reference: [UInt64: UInt64] = [:]  // sequence → hash
        var random = SplitMix(state: 7)
        var nextSequence: UInt64 = 0
        var mostAtOnce = 0
        for step in 0..<20_000 {
            if random.below(2) == 0 || reference.isEmpty {
                let hash = random.below(5) &* 0x1_0000_0001  // few hashes, few home slots
                index.insert(hash, sequence: nextSequence)
                reference[nextSequence] = hash
                nextSequence += 1
            } else {
                // Remove a random live sequence through its slot.
                let sequence = Array(reference.keys)[Int(random.below(UInt64(reference.count)))]
                let hash = reference[sequence]!
                guard let found = index.find(hash, isID: { $0 == sequence }) else {
                    return XCTFail("step \(step): sequence \(sequence) was not found")
                }
                XCTAssertEqual(found.sequence, sequence)
                index.remove(slot: found.slot)
                reference[sequence] = nil
            }
            XCTAssertEqual(index.count, reference.count, "step \(step)")
            mostAtOnce = max(mostAtOnce, reference.count)
            if step % 97 == 0 {
                for (sequence, hash) in reference {
                    XCTAssertEqual(index.find(hash, isID: { $0 == sequence })?.sequence, sequence, "step \(step)")
                }
                XCTAssertNil(index.find(0, isID: { $0 == nextSequence }), "a sequence never inserted")
            }
        }
        XCTAssertGreaterThan(mostAtOnce, 40, "the table grew from 16 slots")
    }

    func testTheHashDependsOnEveryByteOfTheID() {
        let index = EventSequenceIndex()
        let ids = ["", "a", "b", "ab", "ba", "event-000000001", "event-000000002", "event-0000000001x",
                   String(repeating: "z", count: 40), String(repeating: "z", count: 41)]
        XCTAssertEqual(Set(ids.map(index.hash)).count, ids.count)
        XCTAssertEqual(index.hash("same"), index.hash(String("sa") + "me"))
    }
}
