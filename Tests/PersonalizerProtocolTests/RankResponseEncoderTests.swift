import CProtobufC
import PersonalizerProto
import PersonalizerTransport
import XCTest
@testable import PersonalizerProtocol

#if canImport(Glibc)
import Glibc
#endif

/// `RankResponseEncoder` writes by hand what protobuf-c packs: the same message built from the
/// generated structs and packed with `personalizer__v1__response__pack` must give the same
/// bytes, for rankings of every shape.
final class RankResponseEncoderTests: XCTestCase {
    private static let probabilities: [Double] = [0, -0.0, 1, 0.5, .leastNonzeroMagnitude, 1e-300, 1 - 1e-16, .nan]
    private static let numbers: [UInt64] = [0, 1, 127, 128, 16_383, 16_384, 1 << 35, 1 << 63, .max]
    private static let idLengths = [0, 1, 2, 8, 127, 128, 129, 300, 16_383, 16_384]

    func testEncoderWritesTheBytesProtobufCPacks() {
        continueAfterFailure = false  // the first differing round says enough
        var random = SplitMix64(seed: 0xE4C0DE)
        for round in 0..<2_000 {
            let count = round < 10 ? round : random.chance(10) ? 100 + random.below(200) : random.below(12)
            // Ids of every length class in short rankings; long rankings of short ids.
            let ids = (0..<count).map { _ in
                Self.cBytes(count > 12 || random.chance(75) ? 1 + random.below(12)
                                : Self.idLengths[random.below(Self.idLengths.count)], &random)
            }
            let probabilities = (0..<count).map { _ in
                random.chance(50) ? Self.probabilities[random.below(Self.probabilities.count)]
                    : Double(bitPattern: random.next())
            }
            let eventID = Self.cBytes(random.chance(20) ? 0 : random.chance(10) ? 200 : 1 + random.below(40), &random)
            let id = random.chance(50) ? Self.numbers[random.below(Self.numbers.count)] : random.next()
            let modelVersion = random.chance(50) ? Self.numbers[random.below(Self.numbers.count)] : random.next()

            let written = encoderBytes(ids: ids, probabilities: probabilities, eventID: eventID, id: id,
                                       modelVersion: modelVersion)
            let packed = protobufCBytes(ids: ids, probabilities: probabilities, eventID: eventID, id: id,
                                        modelVersion: modelVersion)
            XCTAssertEqual(Array(written.prefix(4)), Self.bigEndian(UInt32(packed.count)), "round \(round): frame header")
            XCTAssertEqual(Array(written.dropFirst(4)), packed,
                           "round \(round): \(count) actions, id \(id), model version \(modelVersion)")
        }
    }

    /// `count` bytes without a NUL (ids and event ids are C strings to protobuf-c).
    private static func cBytes(_ count: Int, _ random: inout SplitMix64) -> [UInt8] {
        (0..<count).map { _ in UInt8(1 + random.below(255)) }
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    private func encoderBytes(ids: [[UInt8]], probabilities: [Double], eventID: [UInt8], id: UInt64,
                              modelVersion: UInt64) -> [UInt8] {
        let storage = ids.map { bytes -> UnsafeMutableRawBufferPointer in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            buffer.copyBytes(from: bytes)
            return buffer
        }
        defer { storage.forEach { $0.deallocate() } }
        let entries = zip(storage, zip(ids, probabilities)).map { buffer, value in
            RankedEntry(id: UnsafeRawBufferPointer(start: buffer.baseAddress, count: value.0.count), probability: value.1)
        }
        let output = ByteBuffer(capacity: 64)
        entries.withUnsafeBufferPointer { ranking in
            eventID.withUnsafeBytes { eventIDBytes in
                RankResponseEncoder.write(id: id, ranking: ranking, eventID: eventIDBytes, modelVersion: modelVersion,
                                          into: output)
            }
        }
        return Array(output.readableBytes)
    }

    private func protobufCBytes(ids: [[UInt8]], probabilities: [Double], eventID: [UInt8], id: UInt64,
                                modelVersion: UInt64) -> [UInt8] {
        var strings: [UnsafeMutablePointer<CChar>] = []
        defer { strings.forEach { free($0) } }
        func cString(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar> {
            let string = (bytes + [0]).withUnsafeBytes { strdup($0.baseAddress!.assumingMemoryBound(to: CChar.self))! }
            strings.append(string)
            return string
        }
        let count = ids.count
        let actions = UnsafeMutablePointer<Personalizer__V1__RankedAction>.allocate(capacity: max(count, 1))
        let actionPointers = UnsafeMutablePointer<UnsafeMutablePointer<Personalizer__V1__RankedAction>?>
            .allocate(capacity: max(count, 1))
        defer {
            actions.deallocate()
            actionPointers.deallocate()
        }
        for index in 0..<count {
            personalizer__v1__ranked_action__init(actions + index)
            actions[index].id = cString(ids[index])
            actions[index].probability = probabilities[index]
            actionPointers[index] = actions + index
        }
        var rank = Personalizer__V1__RankResponse()
        personalizer__v1__rank_response__init(&rank)
        rank.n_ranking = count
        rank.ranking = actionPointers
        rank.event_id = cString(eventID)
        rank.reward_action_id = count > 0 ? actions[0].id : cString([])
        rank.model_version = modelVersion
        return withUnsafeMutablePointer(to: &rank) { rankPointer in
            var response = Personalizer__V1__Response()
            personalizer__v1__response__init(&response)
            response.id = id
            response.result_case = PERSONALIZER__V1__RESPONSE__RESULT_RANK
            response.rank = rankPointer
            return protobufCPacked(&response)
        }
    }
}
