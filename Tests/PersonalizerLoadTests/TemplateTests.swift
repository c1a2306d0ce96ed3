import CProtobufC
import PersonalizerEngine
import PersonalizerLoad
import PersonalizerProto
import PersonalizerProtocol
import PersonalizerTransport
import XCTest

/// The pre-encoded, patched requests are what the server's own decoder (protobuf-c, through the
/// real `RequestProcessor`) accepts, and the reply scanner reads the replies as `MessageCodec` does.
final class TemplateTests: XCTestCase {
    private var loop: LearningLoop!
    private var processor: RequestProcessor!
    private let output = ByteBuffer()

    override func setUpWithError() throws {
        var settings = LoopSettings()
        settings.rewardWaitTimeSeconds = 60
        loop = try LearningLoop(name: "default", settings: settings, ringCapacity: 1024, onSpaceAvailable: {})
        processor = RequestProcessor(loops: ["default": loop], limits: ServerLimits())
    }

    /// Patches a copy of `template` the way the sender does and returns the frame.
    private func patched(_ template: RequestTemplate, sequence: UInt64, event: UInt64, value: Double) -> [UInt8] {
        var frame = [UInt8](repeating: 0xEE, count: template.count)
        let written = frame.withUnsafeMutableBytes {
            template.write(to: $0.baseAddress!, requestID: RequestTemplate.requestID(sequence: sequence),
                           eventSequence: event, value: value)
        }
        XCTAssertEqual(written, template.count)
        return frame
    }

    /// Runs one framed request through the server's processor; returns the reply's payload.
    private func serve(_ frame: [UInt8]) -> [UInt8] {
        let length = Int(frame[0]) << 24 | Int(frame[1]) << 16 | Int(frame[2]) << 8 | Int(frame[3])
        XCTAssertEqual(length + 4, frame.count, "the length prefix covers the payload exactly")
        let outcome = frame.withUnsafeBytes { processor.process(UnsafeRawBufferPointer(rebasing: $0[4...]), into: output) }
        guard case .done = outcome else { XCTFail("the processor asked for a retry"); return [] }
        let reply = Array(output.readableBytes)
        output.clear()
        let replyLength = Int(reply[0]) << 24 | Int(reply[1]) << 16 | Int(reply[2]) << 8 | Int(reply[3])
        XCTAssertEqual(replyLength + 4, reply.count)
        return Array(reply[4...])
    }

    private func scan(_ payload: [UInt8]) -> ScannedResponse? { payload.withUnsafeBytes { ResponseScanner.scan($0) } }
    private func decode(_ payload: [UInt8]) -> Response? { payload.withUnsafeBytes { MessageCodec.decodeResponse($0) } }

    func testRankTemplateMatchesMessageCodecEncoding() {
        let spec = EnvironmentSpec()
        let set = TemplateSet(environment: spec, loop: "")
        for segment in [0, 3] {
            let call = RankCall(
                context: spec.context(segment: segment).map(Self.namespace),
                actions: (0..<spec.actions).map {
                    RankAction(id: EnvironmentSpec.actionID($0), features: spec.actionFeatureNamespaces(action: $0).map(Self.namespace))
                },
                eventID: String(repeating: "0", count: RequestTemplate.eventIDLength))
            let expected = MessageCodec.frame(Request(id: RequestTemplate.requestIDBase, call: .rank(call)))
            XCTAssertEqual(set.rank[segment].frame, expected, "segment \(segment): same bytes as the project's encoder")
        }
    }

    func testPatchedRankIsDecodedByProtobufC() throws {
        let spec = EnvironmentSpec()
        let set = TemplateSet(environment: spec, loop: "news").forConnection(nonce: 0xDEAD_BEEF, connection: 7)
        let frame = patched(set.rank[2], sequence: 12_345, event: 0xABCDEF, value: 0.625)
        let request = try XCTUnwrap(frame.withUnsafeBytes {
            personalizer__v1__request__unpack(nil, $0.count - 4, $0.baseAddress!.assumingMemoryBound(to: UInt8.self) + 4)
        })
        defer { personalizer__v1__request__free_unpacked(request, nil) }
        XCTAssertEqual(request.pointee.id, RequestTemplate.requestIDBase + 12_345)
        XCTAssertEqual(String(cString: request.pointee.loop), "news")
        XCTAssertEqual(request.pointee.call_case, PERSONALIZER__V1__REQUEST__CALL_RANK)
        let rank = request.pointee.rank.pointee
        XCTAssertEqual(String(cString: rank.event_id), "deadbeef0007000000abcdef")
        XCTAssertEqual(rank.n_actions, 10)
        XCTAssertEqual(rank.n_context_features, 3)
        var contextFeatures = 0
        var noise: Double?
        for index in 0..<rank.n_context_features {
            let namespace = rank.context_features[index]!.pointee
            contextFeatures += namespace.n_features
            for featureIndex in 0..<namespace.n_features {
                let feature = namespace.features[featureIndex]!.pointee
                if String(cString: feature.name) == "noise" { noise = feature.number }
                if String(cString: feature.name) == "segment" { XCTAssertEqual(String(cString: feature.text), "s2") }
            }
        }
        XCTAssertEqual(contextFeatures, 15)
        XCTAssertEqual(noise, 0.625)
        let action = rank.actions[9]!.pointee
        XCTAssertEqual(String(cString: action.id), "a009")
        XCTAssertEqual(action.n_features, 1)
        XCTAssertEqual(action.features[0]!.pointee.n_features, 5)
        XCTAssertEqual(RequestTemplate.eventID(prefix: RequestTemplate.eventIDPrefix(nonce: 0xDEAD_BEEF, connection: 7),
                                               sequence: 0xABCDEF), "deadbeef0007000000abcdef")
    }

    func testPatchedRankRewardAndStatusAreServedAndScannedLikeMessageCodec() throws {
        var spec = EnvironmentSpec()
        spec.actions = 50
        let set = TemplateSet(environment: spec, loop: "").forConnection(nonce: 1, connection: 0)
        for sequence: UInt64 in [0, 1, 2] {
            let payload = serve(patched(set.rank[Int(sequence)], sequence: sequence, event: sequence, value: 0.5))
            let scanned = try XCTUnwrap(scan(payload))
            guard case .rank(let result) = try XCTUnwrap(decode(payload)).result else { return XCTFail("not a Rank reply") }
            XCTAssertEqual(scanned.kind, .rank)
            XCTAssertEqual(scanned.id, RequestTemplate.requestID(sequence: sequence))
            XCTAssertEqual(decode(payload)?.id, scanned.id)
            XCTAssertEqual(EnvironmentSpec.actionID(scanned.chosenAction), result.rewardActionID)
            XCTAssertEqual(scanned.modelVersion, result.modelVersion)
            XCTAssertEqual(result.ranking.count, 50)
            XCTAssertEqual(result.eventID, RequestTemplate.eventID(prefix: RequestTemplate.eventIDPrefix(nonce: 1, connection: 0),
                                                                   sequence: sequence))
        }
        let rewardPayload = serve(patched(set.reward, sequence: 3, event: 1, value: 1))
        XCTAssertEqual(scan(rewardPayload)?.kind, .reward)
        XCTAssertEqual(scan(rewardPayload)?.id, RequestTemplate.requestID(sequence: 3))
        XCTAssertEqual(decode(rewardPayload)?.result, .reward)

        let statusPayload = serve(patched(set.status, sequence: 4, event: 0, value: 0))
        let scanned = try XCTUnwrap(scan(statusPayload))
        guard case .status(let status) = try XCTUnwrap(decode(statusPayload)).result else { return XCTFail("not a Status reply") }
        XCTAssertEqual(scanned.kind, .status)
        XCTAssertEqual(scanned.status.rankCalls, status.rankCalls)
        XCTAssertEqual(scanned.status.rankCalls, 3)
        XCTAssertEqual(scanned.status.rewardCalls, 1)
        XCTAssertEqual(scanned.status.pendingEvents, status.pendingEvents)
        XCTAssertEqual(scanned.status.learnedEvents, status.learnedEvents)
        XCTAssertEqual(scanned.status.modelVersion, status.modelVersion)
        XCTAssertEqual(scanned.status.trainerLag, status.rankCalls - status.learnedEvents)
    }

    func testErrorRepliesAreScannedWithCodeAndMessage() throws {
        let set = TemplateSet(environment: EnvironmentSpec(), loop: "nope")
        let payload = serve(patched(set.status, sequence: 9, event: 0, value: 0))
        let scanned = try XCTUnwrap(scan(payload))
        guard case .error(let code, let message) = try XCTUnwrap(decode(payload)).result else { return XCTFail("expected an error") }
        XCTAssertEqual(scanned.kind, .error)
        XCTAssertEqual(scanned.errorCode, code)
        XCTAssertEqual(ResponseScanner.codeName(code), "NOT_FOUND")
        let scannedMessage = String(decoding: payload[scanned.errorMessageOffset..<(scanned.errorMessageOffset + scanned.errorMessageLength)],
                                    as: UTF8.self)
        XCTAssertEqual(scannedMessage, message)
    }

    func testRequestIDsAreAlwaysFiveByteCanonicalVarints() {
        for sequence: UInt64 in [0, 1, 127, 1 << 20, (1 << 35) - (1 << 28) - 1, (1 << 35) - (1 << 28), UInt64.max] {
            let id = RequestTemplate.requestID(sequence: sequence)
            var minimal = WireBytes()
            minimal.rawVarint(id)
            XCTAssertEqual(minimal.count, RequestTemplate.requestIDBytes, "sequence \(sequence) → id \(id)")
        }
    }

    func testScannerRejectsTruncatedAndMalformedReplies() {
        var writer = WireBytes()
        writer.varint(field: 1, 300)
        writer.message(field: 10) { $0.string(field: 3, "a007"); $0.varint(field: 4, 9) }
        let good = writer.bytes
        let scanned = good.withUnsafeBytes { ResponseScanner.scan($0) }
        XCTAssertEqual(scanned?.id, 300)
        XCTAssertEqual(scanned?.chosenAction, 7)
        XCTAssertEqual(scanned?.modelVersion, 9)
        for cut in 1..<good.count where cut != 3 {  // 3: just the id, a valid Response
            XCTAssertNil(Array(good[0..<cut]).withUnsafeBytes { ResponseScanner.scan($0) }, "cut at \(cut)")
        }
        XCTAssertNil([UInt8]([0x00]).withUnsafeBytes { ResponseScanner.scan($0) }, "field 0 is invalid")
        XCTAssertNil([UInt8]([0x0B]).withUnsafeBytes { ResponseScanner.scan($0) }, "wire type 3 is not supported")
        XCTAssertEqual([UInt8]().withUnsafeBytes { ResponseScanner.scan($0) }?.kind, ResponseKind.none)
    }

    static func namespace(_ namespace: SimNamespace) -> FeatureNamespace {
        FeatureNamespace(namespace.name, namespace.features.map { feature in
            switch feature.value {
            case .text(let text): .text(feature.name, text)
            case .number(let number): .number(feature.name, number)
            }
        })
    }
}
