import PersonalizerProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The committed seed corpus (fuzz/corpus/), written by `personalizer-fuzz --write-seeds DIR`:
/// every kind of request, valid and broken, as raw wire streams under several control bytes,
/// and structure-aware programs. Deterministic: the same build writes the same files.
enum SeedCorpus {
    /// Control bytes of raw-mode seeds: whole / 1-byte / 7-byte reads, default and tight limits,
    /// trainer every frame / every 5 / only on backpressure, clock steps of 0 to 6 s.
    static let rawControls: [UInt8] = [0x00, 0x02, 0x14, 0x48, 0x8C, 0xC0, 0x36, 0xE6]

    static func write(to directory: String) -> Bool {
        mkdir(directory, 0o755)
        var count = 0
        func save(_ name: String, _ bytes: [UInt8]) -> Bool {
            let path = "\(directory)/\(name)"
            guard let file = fopen(path, "wb") else { return false }
            defer { fclose(file) }
            count += 1
            return fwrite(bytes, 1, bytes.count, file) == bytes.count
        }
        var ok = true
        for (name, stream) in streams() {
            // The loops byte: the default loop with `-q ::`, and the loop a stream names.
            var loops: UInt8 = 0x01
            if name.hasPrefix("loop-"), let index = FuzzSession.loopNames.firstIndex(of: String(name.dropFirst(5))) {
                loops |= 1 << UInt8(index)
            }
            for (index, control) in rawControls.enumerated() where index == 0 || stream.count < 4096 {
                // Each stream under the first control; a third of them under each other one too.
                if index > 0, (name.hashValueStable + index) % 3 != 0 { continue }
                let variant = index % 2 == 1 ? loops & ~1 : loops
                ok = save("raw-\(name)-\(hexByte(control))", [control, variant] + stream) && ok
            }
        }
        var random = SplitMix(seed: 0x5EED)
        for index in 0..<24 {
            let control = UInt8(truncatingIfNeeded: random.next()) | 1
            let loops = UInt8(truncatingIfNeeded: random.next()) & 0x1F
            let length = 32 + Int(random.next() % 480)
            var program = [control, loops]
            for _ in 0..<length { program.append(UInt8(truncatingIfNeeded: random.next())) }
            ok = save("gen-\(String(index, radix: 10))-\(hexByte(control))", program) && ok
        }
        print("personalizer-fuzz: wrote \(count) seeds to \(directory)")
        return ok
    }

    /// Named wire streams (frames back to back).
    static func streams() -> [(String, [UInt8])] {
        let context = [FeatureNamespace("user", [.text("segment", "s1"), .number("age", 31)]),
                       FeatureNamespace("time", [.text("day", "mon")])]
        let actions = (0..<3).map { index in
            RankAction(id: "a\(index)", features: [FeatureNamespace("item", [.text("id", "a\(index)"),
                                                                          .number("price", Double(index) + 0.5)])])
        }
        let rank = RankCall(context: context, actions: actions, eventID: "e1")
        func frame(_ id: UInt64, _ loop: String = "", _ call: Call) -> [UInt8] {
            MessageCodec.frame(Request(id: id, loop: loop, call: call))
        }
        var streams: [(String, [UInt8])] = []
        streams.append(("rank", frame(1, "", .rank(rank))))
        streams.append(("rank-minimal", frame(1, "", .rank(RankCall(actions: [RankAction(id: "a")])))))
        streams.append(("rank-generated-id", frame(7, "", .rank(RankCall(context: context, actions: actions)))))
        streams.append(("rank-excluded", frame(2, "", .rank(RankCall(context: context, actions: actions,
                                                                      excludedActionIDs: ["a0", "a2"], eventID: "e2")))))
        streams.append(("rank-deferred-activate", frame(3, "", .rank(RankCall(actions: actions, eventID: "d1",
                                                                               deferActivation: true)))
                        + frame(4, "", .activate(eventID: "d1")) + frame(5, "", .reward(eventID: "d1", value: 1))))
        streams.append(("rank-reward-status", frame(1, "", .rank(rank)) + frame(2, "", .reward(eventID: "e1", value: 1))
                        + frame(3, "", .status)))
        for loop in FuzzSession.loopNames where loop != "default" {
            streams.append(("loop-\(loop)", frame(1, loop, .rank(rank)) + frame(2, loop, .reward(eventID: "e1", value: 2))
                            + frame(3, loop, .reward(eventID: "e1", value: 3)) + frame(4, loop, .status)))
        }
        streams.append(("reward", frame(9, "", .reward(eventID: "e9", value: -0.5))))
        streams.append(("activate", frame(9, "", .activate(eventID: "e9"))))
        streams.append(("status", frame(10, "", .status)))
        streams.append(("no-call", frame(11, "", .none)))
        streams.append(("unknown-loop", frame(12, "nope", .status)))
        streams.append(("empty-frame", [0, 0, 0, 0]))
        streams.append(("garbage-frame", MessageCodec.frame([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])))
        streams.append(("truncated-frame", Array(frame(1, "", .rank(rank)).dropLast(3))))
        streams.append(("too-large", [0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3]))
        streams.append(("over-limit-by-one", [0x00, 0x40, 0x00, 0x01]))
        streams.append(("duplicate-ids", frame(1, "", .rank(RankCall(actions: [RankAction(id: "a"), RankAction(id: "a")])))))
        streams.append(("empty-id", frame(1, "", .rank(RankCall(actions: [RankAction(id: "")])))))
        streams.append(("no-actions", frame(1, "", .rank(RankCall(context: context, actions: [])))))
        streams.append(("all-excluded", frame(1, "", .rank(RankCall(actions: actions, excludedActionIDs: ["a0", "a1", "a2"])))))
        streams.append(("unknown-excluded", frame(1, "", .rank(RankCall(actions: actions, excludedActionIDs: ["zz"])))))
        for (name, value) in [("nan", Double.nan), ("inf", Double.infinity), ("over-float", 1e39)] {
            streams.append(("feature-\(name)", frame(1, "", .rank(RankCall(
                context: [FeatureNamespace("u", [.number("x", value)])], actions: actions)))))
        }
        streams.append(("reward-nan", frame(1, "", .reward(eventID: "e1", value: .nan))))
        streams.append(("reward-empty-id", frame(1, "", .reward(eventID: "", value: 1))))
        streams.append(("long-event-id", frame(1, "", .rank(RankCall(actions: actions,
                                                                     eventID: String(repeating: "e", count: 257))))))
        streams.append(("too-many-actions", frame(1, "", .rank(RankCall(actions: (0..<257).map { RankAction(id: "a\($0)") })))))
        streams.append(("pending-event-id", frame(1, "", .rank(rank)) + frame(2, "", .rank(rank))))
        // A feature with no value (a oneof left unset): MessageCodec cannot say that, so by hand:
        // Request{id 1, rank{actions{id "a"}, context{name "u", features{name "f"}}}}.
        let featureNoValue: [UInt8] = [0x0A, 0x01, 0x66]
        let namespace: [UInt8] = [0x0A, 0x01, 0x75, 0x12, UInt8(featureNoValue.count)] + featureNoValue
        let rankBody: [UInt8] = [0x0A, UInt8(namespace.count)] + namespace + [0x12, 0x03, 0x0A, 0x01, 0x61]
        streams.append(("feature-no-value", MessageCodec.frame([0x08, 0x01, 0x52, UInt8(rankBody.count)] + rankBody)))
        // Enough Ranks to fill the 64-slot ring between trainer passes (backpressure).
        var burst: [UInt8] = []
        let small = [RankAction(id: "a"), RankAction(id: "b")]
        for index in 0..<70 { burst += frame(UInt64(100 + index), "", .rank(RankCall(actions: small, eventID: "b\(index)"))) }
        streams.append(("backpressure-burst", burst))
        return streams + WireEdgeSeeds.streams()
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

/// A small deterministic generator for the seed programs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private extension String {
    /// A hash that is the same in every run (Swift's `hashValue` is seeded per process).
    var hashValueStable: Int { utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF } }
}
