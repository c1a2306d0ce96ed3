@testable import PersonalizerEngine
import XCTest

/// A producer paused on a full ring waits for the trainer to hand room back. The trainer does
/// so after each chunk of events it learns, not only at the end of a batch: a batch is
/// thousands of events, milliseconds of learning, and the paused clients would wait all of it.
final class TrainerBackpressureTests: XCTestCase {
    private final class Observation: @unchecked Sendable {
        var loop: LearningLoop?
        var eventsLeftAtSignal: [Int] = []
    }

    func testRoomIsHandedBackAfterEachChunk() throws {
        let observation = Observation()
        let loop = try LearningLoop(name: "room", settings: LoopSettings(), ringCapacity: 8192,
                                    onSpaceAvailable: {
                                        observation.eventsLeftAtSignal.append(observation.loop!.trainer.ring.count)
                                    })
        observation.loop = loop
        let events = Trainer.drainChunk * 3
        for index in 0..<events {
            XCTAssertTrue(loop.producer.submit(.reward(eventID: "e\(index)", time: 1, value: 1)))
        }
        loop.trainer.spaceWanted.store(true, ordering: .sequentiallyConsistent)  // as a paused producer does
        XCTAssertEqual(loop.trainer.step(now: 1), events)
        XCTAssertEqual(observation.eventsLeftAtSignal, [events - Trainer.drainChunk],
                       "signalled once, as soon as the first chunk's room was free")
    }
}
