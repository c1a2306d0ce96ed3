@testable import PersonalizerEngine
import PersonalizerModel
import XCTest

final class EncodedExampleTests: XCTestCase {
    private func example(seed: Int, actions actionCount: Int) -> RankedExample {
        var shared = HashedFeatures()
        for namespace in 0..<(1 + seed % 3) {
            shared.beginNamespace(name: "n\(namespace)")
            for feature in 0..<(seed % 5) { shared.addText(name: "f\(feature)", value: "v\(seed)") }
        }
        let actions = (0..<actionCount).map { index -> HashedFeatures in
            var action = HashedFeatures()
            action.beginNamespace(name: "item")
            for feature in 0..<((seed + index) % 4) { action.addNumber(name: "x\(feature)", value: Double(index) + 0.5) }
            return action
        }
        return RankedExample(shared: shared, actions: actions, chosenIndex: seed % actionCount,
                             probability: 1 / Double(actionCount), modelVersion: UInt64(seed))
    }

    /// A Rank event's size, measured before it is written (its ring room is reserved first),
    /// is the size of what is written: the measuring sink adds a feature block's size at once.
    func testMeasuredRankSizeIsTheWrittenSize() {
        for seed in 0..<40 {
            example(seed: seed, actions: 1 + (seed * 5) % 11).withView { view in
                let request: [UInt8] = Array(repeating: 7, count: seed * 13)
                let probabilities = [Double](repeating: 0.25, count: view.actions.count)
                request.withUnsafeBytes { requestBytes in
                    probabilities.withUnsafeBufferPointer { probabilities in
                        let eventID: [UInt8] = Array("event-\(seed)".utf8)
                        eventID.withUnsafeBytes { id in
                            for export in [nil, RankExportBytes(request: requestBytes, chosenRequestIndex: 0,
                                                                probabilities: probabilities)] {
                                var writer = BinaryWriter()
                                LogRecord.encodeRank(eventID: id, time: 1, deferred: false, overCapacity: false,
                                                     example: view, export: export, into: &writer)
                                XCTAssertEqual(LoopProducer.rankBytes(eventID: id, example: view, export: export),
                                               writer.bytes.count, "seed \(seed)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Decoding into the same buffers over examples that grow and shrink gives each example
    /// exactly, as `decoded()` does.
    func testDecodingIntoReusedBuffersGivesEachExample() throws {
        var buffers = ExampleBuffers()
        for seed in 0..<60 {
            let original = example(seed: seed, actions: 1 + (seed * 7) % 9)
            let encoded = EncodedExample(original)
            XCTAssertEqual(try encoded.decoded(), original)
            XCTAssertEqual(encoded.modelVersion, UInt64(seed))
            let (chosen, probability) = encoded.decode(into: &buffers)
            XCTAssertEqual(chosen, original.chosenIndex)
            XCTAssertEqual(probability, original.probability)
            XCTAssertEqual(buffers.shared, original.shared)
            XCTAssertEqual(Array(buffers.pool[0..<buffers.actionCount]), original.actions)
        }
    }

    /// A learner fed through the buffers ends with the same weights as one fed the arrays.
    func testLearningFromBuffersEqualsLearningFromArrays() throws {
        let policy = try LearningPolicy.parse("--cb_explore_adf -q :: --epsilon 0.2")
        let direct = LinearLearner(policy: policy)
        let buffered = LinearLearner(policy: policy)
        var buffers = ExampleBuffers()
        for seed in 0..<200 {
            let original = example(seed: seed, actions: 2 + seed % 6)
            let cost = Double(seed % 3) - 1
            direct.learn(shared: original.shared, actions: original.actions, chosen: original.chosenIndex,
                         probability: original.probability, cost: cost)
            let (chosen, probability) = EncodedExample(original).decode(into: &buffers)
            buffers.withBlocks { shared, actions in
                buffered.learn(shared: shared, actions: actions, chosen: chosen, probability: probability, cost: cost)
            }
        }
        XCTAssertEqual(direct.serializedState(), buffered.serializedState())
    }

    /// Decoding the chosen action alone gives the same context and chosen action, empties the
    /// others, and an mtr learner fed that way ends with the same weights as one fed everything.
    func testDecodingTheChosenActionAloneLearnsTheSameWithMTR() throws {
        let policy = try LearningPolicy.parse("--cb_explore_adf -q :: --cb_type mtr")
        let full = LinearLearner(policy: policy)
        let chosenOnly = LinearLearner(policy: policy)
        XCTAssertTrue(chosenOnly.learnsFromChosenActionOnly)
        XCTAssertFalse(LinearLearner(policy: try LearningPolicy.parse("--cb_explore_adf --cb_type dr")).learnsFromChosenActionOnly)
        XCTAssertFalse(LinearLearner(policy: try LearningPolicy.parse("--cb_explore_adf --cb_type ips")).learnsFromChosenActionOnly)
        var fullBuffers = ExampleBuffers(), partialBuffers = ExampleBuffers()
        for seed in 0..<200 {
            let original = example(seed: seed, actions: 2 + seed % 6)
            let encoded = EncodedExample(original)
            let cost = Double(seed % 3) - 1
            let decision = encoded.decode(into: &fullBuffers)
            let partial = encoded.decode(into: &partialBuffers, chosenActionOnly: true)
            XCTAssertTrue(decision == partial)
            XCTAssertEqual(partialBuffers.shared, original.shared)
            XCTAssertEqual(partialBuffers.actionCount, original.actions.count)
            for index in 0..<original.actions.count {
                XCTAssertEqual(partialBuffers.pool[index], index == original.chosenIndex ? original.actions[index] : HashedFeatures())
            }
            for (learner, buffers) in [(full, fullBuffers), (chosenOnly, partialBuffers)] {
                var buffers = buffers
                buffers.withBlocks { shared, actions in
                    learner.learn(shared: shared, actions: actions, chosen: decision.chosen, probability: decision.probability,
                                  cost: cost)
                }
            }
        }
        XCTAssertEqual(full.serializedState(), chosenOnly.serializedState())
    }

    func testDamagedBytesAreRefusedWhenStored() {
        let bytes = EncodedExample(example(seed: 4, actions: 3)).bytes
        for cut in [0, 7, 20, bytes.count - 1] {
            let refused = bytes.withUnsafeBytes { raw -> Bool in
                var reader = BinaryReader(UnsafeRawBufferPointer(rebasing: raw[0..<cut]))
                do {
                    _ = try reader.exampleBytes()
                    return false
                } catch {
                    return true
                }
            }
            XCTAssertTrue(refused, "cut at \(cut)")
        }
    }
}
