import CProtobufC
import PersonalizerProto
import PersonalizerTransport
import XCTest
@testable import PersonalizerProtocol

/// `StatusResponseEncoder` and `AcknowledgementEncoder` write by hand what protobuf-c packs:
/// the same message built from the generated structs and packed with
/// `personalizer__v1__response__pack` must give the same bytes.
final class StatusResponseEncoderTests: XCTestCase {
    private static let numbers: [UInt64] = [0, 1, 127, 128, 16_383, 16_384, 1 << 35, 1 << 63, .max]
    private static let errors = ["", "syncing the event log: No space left on device", "a\u{0}b", "\u{0}",
                                 String(repeating: "é", count: 100)]

    func testStatusIsWrittenAsProtobufCPacksIt() {
        continueAfterFailure = false
        var random = SplitMix64(seed: 0x57A7_05)
        for round in 0..<2_000 {
            func number() -> UInt64 {
                random.chance(30) ? 0 : random.chance(50) ? Self.numbers[random.below(Self.numbers.count)] : random.next()
            }
            let report = StatusReport(
                modelVersion: number(), rankCalls: number(), rewardCalls: number(), learnedEvents: number(),
                pendingEvents: number(), activateCalls: number(), unmatchedRewards: number(),
                unmatchedActivations: number(), droppedNotActivated: number(), backpressureStalls: number(),
                publishedAtMilliseconds: number(), logBytes: number(), oldestEventMilliseconds: number(),
                lastSyncMilliseconds: number(), overCapacityEvents: number())
            let pick = random.below(Self.errors.count + 1)
            let storageError = pick < Self.errors.count ? Self.errors[pick] : nil  // nil: no error in effect
            let id = round == 0 ? 0 : number()
            let output = ByteBuffer(capacity: 16)
            StatusResponseEncoder.write(id: id, report: report, storageError: storageError, into: output)
            XCTAssertEqual(Array(output.readableBytes), packedStatus(id: id, report, storageError: storageError),
                           "round \(round): \(report), \(String(describing: storageError))")
        }
    }

    func testAcknowledgementsAreWrittenAsProtobufCPacksThem() {
        for id in Self.numbers {
            for call in [AcknowledgementEncoder.Call.reward, .activate] {
                let output = ByteBuffer(capacity: 16)
                AcknowledgementEncoder.write(id: id, call: call, into: output)
                var response = Personalizer__V1__Response()
                personalizer__v1__response__init(&response)
                response.id = id
                var reward = Personalizer__V1__RewardResponse()
                personalizer__v1__reward_response__init(&reward)
                var activate = Personalizer__V1__ActivateResponse()
                personalizer__v1__activate_response__init(&activate)
                let expected = withUnsafeMutablePointer(to: &reward) { rewardPointer in
                    withUnsafeMutablePointer(to: &activate) { activatePointer in
                        if call == .reward {
                            response.result_case = PERSONALIZER__V1__RESPONSE__RESULT_REWARD
                            response.reward = rewardPointer
                        } else {
                            response.result_case = PERSONALIZER__V1__RESPONSE__RESULT_ACTIVATE
                            response.activate = activatePointer
                        }
                        return framed(&response)
                    }
                }
                XCTAssertEqual(Array(output.readableBytes), expected, "\(call) \(id)")
            }
        }
    }

    private func packedStatus(id: UInt64, _ report: StatusReport, storageError: String?) -> [UInt8] {
        var status = Personalizer__V1__StatusResponse()
        personalizer__v1__status_response__init(&status)
        status.model_version = report.modelVersion
        status.rank_calls = report.rankCalls
        status.reward_calls = report.rewardCalls
        status.learned_events = report.learnedEvents
        status.pending_events = report.pendingEvents
        status.activate_calls = report.activateCalls
        status.unmatched_rewards = report.unmatchedRewards
        status.unmatched_activations = report.unmatchedActivations
        status.dropped_not_activated = report.droppedNotActivated
        status.backpressure_stalls = report.backpressureStalls
        status.published_at_unix_ms = report.publishedAtMilliseconds
        status.log_bytes = report.logBytes
        status.oldest_event_unix_ms = report.oldestEventMilliseconds
        status.last_fsync_unix_ms = report.lastSyncMilliseconds
        status.over_capacity_events = report.overCapacityEvents
        var errorText = Array((storageError ?? "").utf8CString)
        return errorText.withUnsafeMutableBufferPointer { text in
            status.storage_error = text.baseAddress
            return withUnsafeMutablePointer(to: &status) { pointer in
                var response = Personalizer__V1__Response()
                personalizer__v1__response__init(&response)
                response.id = id
                response.result_case = PERSONALIZER__V1__RESPONSE__RESULT_STATUS
                response.status = pointer
                return framed(&response)
            }
        }
    }

    /// The response packed by protobuf-c behind its 4-byte big-endian length.
    private func framed(_ response: inout Personalizer__V1__Response) -> [UInt8] {
        let bytes = protobufCPacked(&response)
        return withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { Array($0) } + bytes
    }
}
