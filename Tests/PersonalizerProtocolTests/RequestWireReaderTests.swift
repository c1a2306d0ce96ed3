import XCTest
@testable import PersonalizerProtocol

/// `RequestWireReader` against protobuf-c 1.4.1, the definition of the format: every frame must be
/// accepted exactly when protobuf-c unpacks it as a call, with the same call and content
/// (`WireReaderDifferential`). Hand-written edge cases first, each with the answer protobuf-c
/// gives; then mutated encodings of random valid requests.
final class RequestWireReaderTests: XCTestCase {
    private typealias W = WireBytes
    private typealias WireType = WireBytes.WireType

    /// Asserts that reader and protobuf-c agree on `frame` and that they accept it as `call`
    /// (or decline it); then runs `inspect` on what the reader read.
    private func check(_ frame: [UInt8], accepted: Bool, call expectedCall: String = "rank", _ what: String,
                       file: StaticString = #filePath, line: UInt = #line,
                       inspect: (RequestHeader, RankView) -> Void = { _, _ in }) {
        frame.withUnsafeBytes { bytes in
            let verdict = WireReaderDifferential.compare(bytes)
            XCTAssertEqual(verdict, accepted ? .bothAccept : .bothDecline, "\(what): \(hex(frame))", file: file, line: line)
            var header = RequestHeader()
            var view = RankView()
            if let call = RequestWireReader.read(bytes, header: &header, into: &view) {
                XCTAssertEqual(call.name, expectedCall, what, file: file, line: line)
                inspect(header, view)
            }
        }
    }

    /// The call the reader reads from `frame`, which must agree with protobuf-c.
    private func readCall(_ frame: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> RequestCall? {
        frame.withUnsafeBytes { bytes in
            XCTAssertNil(WireReaderDifferential.differential(bytes), hex(frame), file: file, line: line)
            var header = RequestHeader()
            var view = RankView()
            return RequestWireReader.read(bytes, header: &header, into: &view)
        }
    }

    private func text(_ bytes: UnsafeRawBufferPointer) -> String { bytes.string }

    private var simpleRank: [UInt8] { W.rank(W.field(2, W.action("a"))) }

    // MARK: repeated fields and oneofs

    func testASecondRankReplacesTheFirstRatherThanMerging() {
        let first = W.rank(W.field(1, W.namespace("ctx", [W.textFeature("f", "v")])) + W.field(4, "e1")
                           + W.varintField(5, 1))
        let second = W.rank(W.field(2, W.action("b")))
        check(W.request(id: 3, first + second), accepted: true, "rank, rank") { header, view in
            XCTAssertEqual(header.id, 3)
            XCTAssertEqual(view.contextNamespaces.count, 0)
            XCTAssertEqual(view.actions.map { self.text($0.id) }, ["b"])
            XCTAssertEqual(view.eventID.count, 0)
            XCTAssertFalse(view.deferActivation)
        }
    }

    func testTheLastCallOfTheOneofDecides() {
        let reward = W.field(11, W.field(1, "e") + W.doubleField(2, 1))
        let activate = W.field(12, W.field(1, "e"))
        let status = W.field(13, [])
        check(simpleRank + reward, accepted: true, call: "reward", "rank, reward")
        check(simpleRank + status, accepted: true, call: "status", "rank, status")
        check(simpleRank + activate, accepted: true, call: "activate", "rank, activate")
        check(status + reward, accepted: true, call: "reward", "status, reward")
        check(simpleRank + reward + simpleRank, accepted: true, "rank, reward, rank")
        check(reward + activate + status + simpleRank, accepted: true, "reward, activate, status, rank")
        // A malformed earlier call fails the whole frame, even when a Rank follows.
        check(W.field(11, W.varintField(2, 1)) + simpleRank, accepted: false, "reward with a varint value, rank")
        check(W.field(12, [0xFF]) + simpleRank, accepted: false, "activate with a bad tag, rank")
        check(W.varintField(13, 0) + simpleRank, accepted: false, "status as a varint, rank")
    }

    func testTheLastValueOfAScalarOrStringWins() {
        let frame = W.varintField(1, 5) + W.field(2, "a") + W.varintField(1, 9) + W.field(2, "b")
            + W.rank(W.field(4, "x") + W.field(2, W.action("a")) + W.field(4, "y") + W.varintField(5, 1)
                     + W.varintField(5, 0))
        check(frame, accepted: true, "repeated scalars") { header, view in
            XCTAssertEqual(header.id, 9)
            XCTAssertEqual(self.text(header.loop), "b")
            XCTAssertEqual(self.text(view.eventID), "y")
            XCTAssertFalse(view.deferActivation)
        }
    }

    func testAFeatureValueIsTheLastMemberOfItsOneof() {
        let textThenNumber = W.field(1, "f") + W.field(2, "t") + W.doubleField(3, 2.5)
        let numberThenText = W.field(1, "f") + W.doubleField(3, 2.5) + W.field(2, "t")
        let numberTwice = W.field(1, "f") + W.doubleField(3, 1) + W.doubleField(3, -0.0)
        let noValue = W.field(1, "f")
        let frame = W.rank(W.field(1, W.namespace("n", [textThenNumber, numberThenText, numberTwice, noValue]))
                           + W.field(2, W.action("a")))
        check(frame, accepted: true, "feature oneof") { _, view in
            let features = view.features
            XCTAssertEqual(features.map(\.value), [.number, .text, .number, .none])
            XCTAssertEqual(features[0].number, 2.5)
            XCTAssertEqual(self.text(features[1].text), "t")
            XCTAssertEqual(features[2].number.bitPattern, (-0.0).bitPattern)
        }
    }

    /// Features in the usual layout are read by position; near misses of that layout (long
    /// names and values, fields in another order or repeated, a wrong length, trailing bytes)
    /// must come out exactly as protobuf-c reads them.
    func testUsualAndNearlyUsualFeatureLayoutsAgreeWithProtobufC() {
        let long127 = String(repeating: "n", count: 127), long128 = String(repeating: "m", count: 128)
        let features: [[UInt8]] = [
            W.textFeature("f", "v"), W.numberFeature("x", -1.5), W.textFeature("", ""),
            W.textFeature(long127, long127), W.textFeature(long128, "v"), W.textFeature("f", long128),
            W.numberFeature(long127, 2), W.numberFeature(long128, 3),
            W.field(2, "v") + W.field(1, "f"), W.doubleField(3, 4) + W.field(1, "f"),
            W.field(1, "f") + W.field(1, "g") + W.field(2, "v"), W.textFeature("f", "v") + W.varintField(9, 1),
            W.field(1, Array("f".utf8), lengthBytes: 2) + W.field(2, "v"),
            W.field(1, "f") + W.field(2, Array("v".utf8), lengthBytes: 2),
        ]
        let frame = W.rank(W.field(1, W.namespace("n", features)) + W.field(2, W.action("a")))
        check(frame, accepted: true, "usual and nearly usual features") { _, view in
            XCTAssertEqual(view.features.count, features.count)
            XCTAssertEqual(self.text(view.features[3].name), long127)
            XCTAssertEqual(self.text(view.features[4].name), long128)
            XCTAssertEqual(view.features[7].number, 3)
            XCTAssertEqual(self.text(view.features[10].name), "g")
        }
        // The number under the wrong wire type fails the frame, as in protobuf-c.
        check(W.rank(W.field(1, W.namespace("n", [W.field(1, "f") + W.fixed32Field(3, 7)])) + W.field(2, W.action("a"))),
              accepted: false, "a number as fixed32")
        for (index, feature) in features.enumerated() {
            // Cut short anywhere, each must fail or pass as it does for protobuf-c.
            for cut in 0..<feature.count {
                let truncated = Array(feature[..<cut])
                let bytes = W.rank(W.field(1, W.namespace("n", [truncated])) + W.field(2, W.action("a")))
                bytes.withUnsafeBytes { raw in
                    let verdict = WireReaderDifferential.compare(raw)
                    XCTAssertTrue(verdict == .bothAccept || verdict == .bothDecline, "feature \(index) cut at \(cut)")
                }
            }
        }
    }

    // MARK: unknown fields, tags, varints, lengths

    func testUnknownFieldsOfEveryWireTypeAreSkippedAtEveryLevel() {
        let unknown = W.varintField(99, 1) + W.fixed64Field(98, 7) + W.field(97, "x") + W.fixed32Field(96, 1)
            + W.varintField((1 << 29) - 1, .max)
        let feature = W.textFeature("f", "v") + unknown
        let namespace = W.field(1, "n") + unknown + W.field(2, feature)
        let action = unknown + W.action("a", [namespace])
        let rank = W.field(1, namespace) + unknown + W.field(2, action)
        check(unknown + W.field(20, W.field(2, "not a rank")) + W.rank(rank) + unknown, accepted: true, "unknown fields") { _, view in
            XCTAssertEqual(view.contextNamespaces.count, 1)
            XCTAssertEqual(view.actions.count, 1)
            XCTAssertEqual(view.features.count, 2)
            XCTAssertEqual(self.text(view.features[1].text), "v")
        }
        // Every wire type beyond 0, 1, 2 and 5 (groups 3 and 4, and 6, 7) fails the frame.
        for wireType: UInt8 in [3, 4, 6, 7] {
            check(W.tag(99, wireType) + [0] + simpleRank, accepted: false, "wire type \(wireType) at the top")
            check(W.rank(W.tag(99, wireType) + [0] + W.field(2, W.action("a"))), accepted: false,
                  "wire type \(wireType) in the rank")
        }
    }

    func testNonMinimalTagsAndLengthsAreRead() {
        let feature = W.tag(1, WireType.lengthDelimited, minBytes: 5) + W.varint(1, minBytes: 5) + Array("f".utf8)
            + W.tag(3, WireType.fixed64, minBytes: 3) + W.doubleField(3, 4).dropFirst()
        let namespace = W.field(1, Array("n".utf8), lengthBytes: 3) + W.field(2, feature, lengthBytes: 5, tagBytes: 4)
        let rank = W.field(1, namespace, lengthBytes: 2, tagBytes: 2) + W.field(2, W.action("a"), lengthBytes: 4)
            + W.tag(5, WireType.varint, minBytes: 5) + W.varint(1, minBytes: 10)
        let frame = W.tag(1, WireType.varint, minBytes: 3) + W.varint(42, minBytes: 10)
            + W.field(10, rank, lengthBytes: 5, tagBytes: 5)
        check(frame, accepted: true, "non-minimal encodings") { header, view in
            XCTAssertEqual(header.id, 42)
            XCTAssertTrue(view.deferActivation)
            XCTAssertEqual(view.features.first?.number, 4)
        }
        // Six-byte tags and length prefixes, and eleven-byte varints, are refused.
        check(W.tag(10, WireType.lengthDelimited, minBytes: 6) + [0], accepted: false, "a 6-byte tag")
        check(W.tag(10, WireType.lengthDelimited) + W.varint(0, minBytes: 6), accepted: false, "a 6-byte length")
        check(W.tag(1, WireType.varint) + W.varint(1, minBytes: 11) + simpleRank, accepted: false, "an 11-byte varint")
        // A ten-byte varint keeps only bit 63 of its last byte, as protobuf-c does.
        check(W.tag(1, WireType.varint) + Array(repeating: 0x80, count: 9) + [0x7F] + simpleRank, accepted: true,
              "a 10-byte varint") { header, _ in XCTAssertEqual(header.id, 1 << 63) }
    }

    func testFieldZeroIsRefusedOnlyAsAOneByteTag() {
        // protobuf-c refuses a tag whose first byte holds no field number and no continuation,
        // and reads a longer encoding of field 0 as an unknown field.
        check([0x00, 0x00] + simpleRank, accepted: false, "field 0, varint, one byte")
        check([0x02, 0x00] + simpleRank, accepted: false, "field 0, length-delimited, one byte")
        check([0x80, 0x00, 0x00] + simpleRank, accepted: true, "field 0, varint, two bytes")
        check(simpleRank + [0x82, 0x80, 0x00, 0x01, 0x41], accepted: true, "field 0, length-delimited, three bytes")
        check(W.rank([0x85, 0x00, 1, 2, 3, 4] + W.field(2, W.action("a"))), accepted: true, "field 0 in the rank")
        check(W.rank(W.field(2, [0x01] + W.action("a"))), accepted: false, "field 0 in one byte in an action")
    }

    func testFieldNumbersBeyond29BitsAreUnknownFields() {
        // A 5-byte tag carries 32 bits of field number; none of them is a field of Request.
        check([0xD2, 0x80, 0x80, 0x80, 0x70, 0x00], accepted: false, "field 10 + 0x0E000000 alone")
        check([0xD2, 0x80, 0x80, 0x80, 0x70, 0x00] + simpleRank, accepted: true, "field 10 + 0x0E000000, then rank")
        check([0xD2, 0x80, 0x80, 0x80, 0x00, 0x00], accepted: true, "field 10 in a 5-byte tag")
    }

    func testLengthPrefixesDoNotWrapAt32Bits() {
        // 2^32 + 2 in five bytes: protobuf-c reads it as a length beyond the frame.
        let wrapped: [UInt8] = [0x82, 0x80, 0x80, 0x80, 0x10]
        check([0x52] + wrapped + W.field(2, W.action("a")).prefix(2), accepted: false, "rank of 2^32 + 2 bytes")
        check(W.rank(W.field(2, [0x0A] + wrapped + [0x61, 0x62])), accepted: false, "action id of 2^32 + 2 bytes")
        check([0x52, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00], accepted: false, "rank of 2^32 - 1 bytes")
        check([0x52, 0xFD, 0xFF, 0xFF, 0xFF, 0x0F] + [0x28, 0x01], accepted: false, "rank of 2^32 - 3 bytes")
        check(W.rank(W.field(2, [0x0A, 0x85, 0x80, 0x80, 0x80, 0x00] + Array("abcde".utf8))), accepted: true,
              "a valid length in five bytes") { _, view in XCTAssertEqual(view.actions.first.map { self.text($0.id) }, "abcde") }
    }

    func testTruncatedFieldsFailTheFrame() {
        let frame = MessageCodec.encode(Request(id: 7, loop: "default", call: .rank(RankCall(
            context: [FeatureNamespace("u", [.text("a", "b"), .number("n", 1)])],
            actions: [RankAction(id: "x", features: [FeatureNamespace("i", [.number("p", 0.5)])])],
            excludedActionIDs: ["x"], eventID: "e", deferActivation: true))))
        var accepted = 0
        for count in 0...frame.count {
            frame.prefix(count).withUnsafeBytes { bytes in
                let verdict = WireReaderDifferential.compare(bytes)
                if case .mismatch(let message) = verdict { XCTFail("prefix \(count): \(message)") }
                if verdict == .bothAccept { accepted += 1 }
            }
        }
        XCTAssertEqual(accepted, 1, "only the whole frame is a Rank (the rank field comes last)")
        check(simpleRank + [0x09, 1, 2, 3], accepted: false, "a cut fixed64")
        check(simpleRank + [0x0D, 1, 2], accepted: false, "a cut fixed32")
        check(simpleRank + [0x08, 0x80], accepted: false, "a cut varint")
        check(simpleRank + [0x80], accepted: false, "a cut tag")
    }

    // MARK: strings

    func testStringsEndAtTheirFirstNUL() {
        let frame = W.request(id: 1, loop: "de\u{0}fault", W.field(3, "t\u{0}k") + W.rank(
            W.field(1, W.namespace("u\u{0}ser", [W.textFeature("n\u{0}1", "v\u{0}2")]))
            + W.field(2, W.action("\u{0}a")) + W.field(2, W.action("b\u{0}")) + W.field(3, "b\u{0}\u{0}c")
            + W.field(4, "ev\u{0}")))
        check(frame, accepted: true, "NULs in strings") { header, view in
            XCTAssertEqual(self.text(header.loop), "de")
            XCTAssertEqual(self.text(header.token), "t")
            XCTAssertEqual(self.text(view.namespaces[0].name), "u")
            XCTAssertEqual(self.text(view.features[0].name), "n")
            XCTAssertEqual(self.text(view.features[0].text), "v")
            XCTAssertEqual(view.actions.map { self.text($0.id) }, ["", "b"])
            XCTAssertEqual(view.excludedActionIDs.map { self.text($0) }, ["b"])
            XCTAssertEqual(self.text(view.eventID), "ev")
        }
    }

    // MARK: wire types

    func testDeferActivationIsReadUnderAnyWireType() {
        // protobuf-c reads a bool from every byte after the tag: true when one of them has a
        // non-zero low 7 bits (a length-delimited value's own length prefix included).
        let cases: [(String, [UInt8], Bool)] = [
            ("varint 1", W.varintField(5, 1), true),
            ("varint 2", W.varintField(5, 2), true),
            ("varint 0 in 2 bytes", W.tag(5, WireType.varint) + [0x80, 0x00], false),
            ("varint 1 in the second byte", W.tag(5, WireType.varint) + [0x80, 0x01], true),
            ("varint 0 in 10 bytes", W.tag(5, WireType.varint) + W.varint(0, minBytes: 10), false),
            ("varint 2^63", W.varintField(5, 1 << 63), true),
            ("fixed64 0", W.fixed64Field(5, 0), false),
            ("fixed64 0x80", W.fixed64Field(5, 0x80), false),
            ("fixed64 1 << 56", W.fixed64Field(5, 1 << 56), true),
            ("fixed32 0", W.fixed32Field(5, 0), false),
            ("fixed32 0x200", W.fixed32Field(5, 0x200), true),
            ("length-delimited, empty", W.field(5, []), false),
            ("length-delimited, one zero byte", W.field(5, [0]), true),
            ("length-delimited, empty, 2-byte prefix", W.field(5, [], lengthBytes: 2), false),
            ("true then false", W.varintField(5, 1) + W.fixed64Field(5, 0), false),
            ("false then true", W.fixed32Field(5, 0) + W.field(5, [0x80]), true),
        ]
        for (what, field, value) in cases {
            check(W.rank(W.field(2, W.action("a")) + field), accepted: true, what) { _, view in
                XCTAssertEqual(view.deferActivation, value, what)
            }
        }
        for wireType: UInt8 in [3, 4] {
            check(W.rank(W.tag(5, wireType) + [0x01]), accepted: false, "defer_activation in wire type \(wireType)")
        }
    }

    func testOtherFieldsUnderAWrongWireTypeFailTheFrame() {
        let action = W.field(2, W.action("a"))
        let cases: [(String, [UInt8])] = [
            ("request id as fixed64", W.fixed64Field(1, 1) + simpleRank),
            ("loop as varint", W.varintField(2, 1) + simpleRank),
            ("token as fixed32", W.fixed32Field(3, 1) + simpleRank),
            ("rank as varint", W.varintField(10, 0)),
            ("context namespace as varint", W.rank(W.varintField(1, 0) + action)),
            ("action as fixed64", W.rank(W.fixed64Field(2, 0))),
            ("excluded id as varint", W.rank(action + W.varintField(3, 0))),
            ("event id as fixed32", W.rank(action + W.fixed32Field(4, 0))),
            ("action id as varint", W.rank(W.field(2, W.varintField(1, 1)))),
            ("action namespace as fixed64", W.rank(W.field(2, W.action("a") + W.fixed64Field(2, 0)))),
            ("namespace name as varint", W.rank(W.field(1, W.varintField(1, 0)) + action)),
            ("feature as fixed32", W.rank(W.field(1, W.fixed32Field(2, 0)) + action)),
            ("feature name as fixed64", W.rank(W.field(1, W.field(2, W.fixed64Field(1, 0))) + action)),
            ("feature text as varint", W.rank(W.field(1, W.field(2, W.varintField(2, 0))) + action)),
            ("feature number as fixed32", W.rank(W.field(1, W.field(2, W.fixed32Field(3, 0))) + action)),
            ("feature number as length-delimited", W.rank(W.field(1, W.field(2, W.field(3, Array(repeating: 0, count: 8)))) + action)),
        ]
        for (what, frame) in cases { check(frame, accepted: false, what) }
    }

    func testFramesWithoutACallAreDeclined() {
        check([], accepted: false, "the empty frame")
        check(W.request(id: 1, loop: "default", []), accepted: false, "no call")
        check(W.varintField(1, 1) + W.field(2, "l") + W.field(20, W.field(1, "x")), accepted: false, "unknown fields only")
        check(W.rank([]), accepted: true, "an empty rank is still a Rank (validation refuses it later)")
    }

    func testRewardActivateAndStatusAreReadWithTheirArguments() {
        check(MessageCodec.encode(Request(id: 2, loop: "l", call: .status)), accepted: true, call: "status",
              "status") { header, _ in
            XCTAssertEqual(header.id, 2)
            XCTAssertEqual(self.text(header.loop), "l")
        }
        check(MessageCodec.encode(Request(id: 3, call: .reward(eventID: "e", value: 1))), accepted: true,
              call: "reward", "reward")
        check(MessageCodec.encode(Request(id: 4, token: "t", call: .activate(eventID: "e"))), accepted: true,
              call: "activate", "activate") { header, _ in XCTAssertEqual(self.text(header.token), "t") }

        guard case .reward(let eventID, let value)? = readCall(W.field(11, W.field(1, "ev") + W.doubleField(2, 0.25))) else {
            return XCTFail("a reward")
        }
        XCTAssertEqual(text(eventID), "ev")
        XCTAssertEqual(value, 0.25)
        // The last event id and value win; a NaN keeps its payload; a missing value is 0.
        let nan = Double(nan: 0x1234, signaling: false)
        guard case .reward(let lastID, let lastValue)? = readCall(W.field(11,
            W.field(1, "a") + W.doubleField(2, 1) + W.field(1, "b\u{0}c") + W.doubleField(2, nan)))
        else { return XCTFail("a reward") }
        XCTAssertEqual(text(lastID), "b")
        XCTAssertEqual(lastValue.bitPattern, nan.bitPattern)
        guard case .reward(let bareID, let bareValue)? = readCall(W.field(11, [])) else { return XCTFail("a reward") }
        XCTAssertEqual(bareID.count, 0)
        XCTAssertEqual(bareValue.bitPattern, 0)
        // A second reward replaces the first rather than merging with it.
        guard case .reward(let replacedID, let replacedValue)? = readCall(
            W.field(11, W.field(1, "a") + W.doubleField(2, 1)) + W.field(11, W.doubleField(2, 2)))
        else { return XCTFail("a reward") }
        XCTAssertEqual(replacedID.count, 0)
        XCTAssertEqual(replacedValue, 2)
        guard case .activate(let activated)? = readCall(W.field(12, W.field(1, "x") + W.field(1, "y\u{0}z") + W.varintField(7, 1)))
        else { return XCTFail("an activate") }
        XCTAssertEqual(text(activated), "y")

        // Their fields under a wrong wire type, or bytes that do not parse, fail the frame.
        check(W.field(11, W.varintField(2, 1)), accepted: false, "reward value as a varint")
        check(W.field(11, W.fixed32Field(2, 1)), accepted: false, "reward value as fixed32")
        check(W.field(11, W.varintField(1, 1)), accepted: false, "reward event id as a varint")
        check(W.field(12, W.fixed64Field(1, 1)), accepted: false, "activate event id as fixed64")
        check(W.field(13, [0xFF]), accepted: false, "status with a cut tag")
        check(W.field(13, W.varintField(3, 5) + W.field(9, "x")), accepted: true, call: "status",
              "status with unknown fields")
    }

    // MARK: mutated valid requests

    /// Random valid Rank requests (as `MessageCodec` encodes them), mutated field by field
    /// (duplicated, dropped, swapped, spliced from another request, wire types changed, tags and
    /// lengths in non-minimal encodings, strings with NULs, unknown fields, other calls of the
    /// oneof, feature values and defer_activation in every wire type) and byte by byte (flips,
    /// insertions, deletions, truncations, copied slices): reader and protobuf-c must agree on
    /// every input, and enough inputs must stay calls for the agreement on content to count.
    func testMutatedRankRequestsAreReadAsProtobufCReadsThem() {
        let inputCount = 200_000
        var random = SplitMix64(seed: 0x5EED_D1FF)
        let bases = (0..<128).map { _ in MessageCodec.encode(RandomRankRequests.request(&random)) }
        let trees = bases.map { WireTree.parse($0[...], as: .request)! }
        for (base, tree) in zip(bases, trees) { XCTAssertEqual(WireTree.serialize(tree), base, "the tree round-trips") }

        var mutator = WireMutator(random: SplitMix64(seed: 0xF00D))
        var accepted = 0
        var declined = 0
        var mismatchCount = 0
        var mismatches: [String] = []
        func compare(_ frame: [UInt8]) {
            switch frame.withUnsafeBytes(WireReaderDifferential.compare) {
            case .bothAccept: accepted += 1
            case .bothDecline: declined += 1
            case .mismatch(let message):
                mismatchCount += 1
                if mismatches.count < 10 { mismatches.append("\(message) — frame \(hex(frame))") }
            }
        }
        for base in bases { compare(base) }
        XCTAssertEqual(accepted, bases.count, "every unmutated request is a Rank to both")
        for _ in bases.count..<inputCount {
            let tree = trees[random.below(trees.count)]
            let donor = trees[random.below(trees.count)]
            compare(mutator.mutate(tree, donor: donor))
        }

        let compared = accepted + declined + mismatchCount
        XCTAssertEqual(mismatches, [], "reader and protobuf-c disagree on \(mismatchCount) inputs")
        XCTAssertGreaterThanOrEqual(compared, inputCount)
        XCTAssertGreaterThan(accepted, compared / 4, "too few mutated inputs stay calls for the test to mean much")
        XCTAssertGreaterThan(declined, compared / 10, "too few mutations break the frame")
        print("RequestWireReaderTests: \(compared) inputs compared, \(accepted) accepted by both, "
              + "\(declined) declined by both, \(mismatchCount) disagreements")
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.prefix(512).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + (bytes.count > 512 ? "…" : "")
}
