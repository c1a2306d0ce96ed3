import PersonalizerProtocol

/// Valid Rank requests of every shape, encoded as clients encode them (`MessageCodec`): empty
/// and full contexts, 0 to 40 actions, ids short and over 127 bytes, exclusions, event ids,
/// deferred activation, text and number features (NaN, -0, huge), names with NULs and non-ASCII.
enum RandomRankRequests {
    static let names = ["", "a", "user", "item", "é", "x\u{0}y", "\u{0}", ":", "segment", "price"]
    static let numbers: [Double] = [0, -0.0, 1, -1, 0.5, 1e-300, .leastNonzeroMagnitude, 3.5e38, 1e39,
                                    .greatestFiniteMagnitude, .infinity, -.infinity, .nan, 65536]

    static func request(_ random: inout SplitMix64) -> Request {
        let actionCount = random.chance(4) ? 20 + random.below(21) : random.below(7)
        let actions = (0..<actionCount).map { index in
            RankAction(id: id(index, &random), features: namespaces(maxCount: 3, &random))
        }
        var excluded: [String] = []
        if !actions.isEmpty, random.chance(40) {
            for _ in 0..<(1 + random.below(3)) { excluded.append(actions[random.below(actions.count)].id) }
            if random.chance(20) { excluded.append("not-an-action") }
        }
        let eventID = random.chance(40) ? "" : random.chance(10) ? String(repeating: "e", count: 130) : "event-\(random.below(1000))"
        let rank = RankCall(context: namespaces(maxCount: 4, &random), actions: actions, excludedActionIDs: excluded,
                            eventID: eventID, deferActivation: random.chance(30))
        let ids: [UInt64] = [0, 1, 127, 128, 300, 1 << 35, .max]
        let loops = ["", "default", "sum", "x\u{0}y"]
        return Request(id: ids[random.below(ids.count)], loop: loops[random.below(loops.count)],
                       token: random.chance(20) ? "secret" : "", call: .rank(rank))
    }

    private static func id(_ index: Int, _ random: inout SplitMix64) -> String {
        switch random.below(6) {
        case 0: return ""
        case 1: return String(repeating: "i", count: 128 + random.below(80)) + "\(index)"
        case 2: return "a\(index)\u{0}tail"
        default: return "a\(index)"
        }
    }

    private static func namespaces(maxCount: Int, _ random: inout SplitMix64) -> [FeatureNamespace] {
        (0..<random.below(maxCount + 1)).map { _ in
            let features = (0..<random.below(5)).map { _ in
                let name = names[random.below(names.count)]
                return random.chance(50)
                    ? Feature(name, .text(names[random.below(names.count)]))
                    : Feature(name, .number(numbers[random.below(numbers.count)]))
            }
            return FeatureNamespace(names[random.below(names.count)], features)
        }
    }
}
