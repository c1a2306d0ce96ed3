/// The simulated personalization problem the load generator plays.
///
/// Users come in `segments`; each action has a `topic`; a hidden click model makes a user of
/// segment `s` click an action of topic `preferredTopic(s)` with probability `clickBest` and any
/// other with `clickBase`. The context carries the segment as a text feature and the actions
/// carry their topic, so a learner that pairs context and action namespaces (`-q ::` or `-q UA`)
/// can find the best action: the average reward then climbs from about `firstActionReward` (an
/// untrained server shows the first action) toward `clickBest`.
///
/// Every other feature is filler of the requested shape (text and number features alternating,
/// values fixed per segment or per action) so the request has realistic size and hashing cost.
/// One context number feature, `noise`, gets a fresh random value in every request.
public struct EnvironmentSpec: Sendable, Equatable {
    public var actions = 10
    public var actionFeatures = 5
    public var actionNamespaces = 1
    public var contextFeatures = 15
    public var contextNamespaces = 3
    public var segments = 8
    public var clickBest = 0.7
    public var clickBase = 0.1

    public init() {}

    /// Actions are named `a000` … `a999`: fixed width, so templates of every action count have
    /// the same layout and the chosen action's index is read from the reply without a lookup.
    public static let maxActions = 1000
    public static let actionIDLength = 4

    public var topics: Int { max(1, min(actions, 8)) }

    public static func actionID(_ index: Int) -> String {
        let digits = String(index)
        return "a" + String(repeating: "0", count: max(0, actionIDLength - 1 - digits.count)) + digits
    }

    /// The index in `a000`-style id bytes, or nil for any other id.
    public static func actionIndex(_ id: UnsafeRawBufferPointer) -> Int? {
        guard id.count == actionIDLength, id[0] == UInt8(ascii: "a") else { return nil }
        var value = 0
        for position in 1..<actionIDLength {
            let digit = Int(id[position]) - 0x30
            guard digit >= 0, digit <= 9 else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    public func topic(ofAction action: Int) -> Int { action % topics }

    public func preferredTopic(ofSegment segment: Int) -> Int { (segment * 5 + 1) % topics }

    public func clickProbability(segment: Int, action: Int) -> Double {
        topic(ofAction: action) == preferredTopic(ofSegment: segment) ? clickBest : clickBase
    }

    /// Expected reward of always showing the best action (every topic has an action).
    public var bestReward: Double { clickBest }

    /// Expected reward of a uniformly random choice.
    public var randomReward: Double {
        var total = 0.0
        for segment in 0..<segments {
            for action in 0..<actions { total += clickProbability(segment: segment, action: action) }
        }
        return total / Double(segments * actions)
    }

    /// Expected reward of always showing the first action (an untrained server's choice).
    public var firstActionReward: Double {
        var total = 0.0
        for segment in 0..<segments { total += clickProbability(segment: segment, action: 0) }
        return total / Double(segments)
    }

    // MARK: feature layout

    static let contextNamespaceNames = ["user", "device", "session", "geo", "time", "app", "page", "cart"]
    static let actionNamespaceNames = ["item", "offer", "brand", "layout", "vendor", "quality", "region", "kind"]

    static func name(_ names: [String], _ index: Int, fallback: String) -> String {
        index < names.count ? names[index] : "\(fallback)\(index)"
    }

    /// How many of `total` features namespace `index` of `count` gets (as even as possible).
    static func share(_ total: Int, among count: Int, index: Int) -> Int {
        total / count + (index < total % count ? 1 : 0)
    }

    /// The context of a user of `segment`; the `noise` feature (last, if there are two or more)
    /// holds 0 here and is patched per request.
    public func context(segment: Int) -> [SimNamespace] {
        var namespaces: [SimNamespace] = []
        var remaining = contextFeatures
        for namespaceIndex in 0..<contextNamespaces {
            let count = Self.share(contextFeatures, among: contextNamespaces, index: namespaceIndex)
            var features: [SimFeature] = []
            for featureIndex in 0..<count {
                remaining -= 1
                if namespaceIndex == 0, featureIndex == 0 {
                    features.append(SimFeature(name: "segment", value: .text("s\(segment)")))
                } else if remaining == 0 {
                    features.append(SimFeature(name: "noise", value: .number(0)))
                } else {
                    let mix = SplitMix64.hash(UInt64(segment), UInt64(namespaceIndex), UInt64(featureIndex))
                    features.append(Self.filler(namespace: namespaceIndex, feature: featureIndex, mix: mix))
                }
            }
            namespaces.append(SimNamespace(
                name: Self.name(Self.contextNamespaceNames, namespaceIndex, fallback: "ctx"), features: features))
        }
        return namespaces
    }

    /// The features of action `index`: its topic first, then its id, then filler.
    public func actionFeatureNamespaces(action: Int) -> [SimNamespace] {
        var namespaces: [SimNamespace] = []
        for namespaceIndex in 0..<actionNamespaces {
            let count = Self.share(actionFeatures, among: actionNamespaces, index: namespaceIndex)
            var features: [SimFeature] = []
            for featureIndex in 0..<count {
                if namespaceIndex == 0, featureIndex == 0 {
                    features.append(SimFeature(name: "topic", value: .text("t\(topic(ofAction: action))")))
                } else if namespaceIndex == 0, featureIndex == 1 {
                    features.append(SimFeature(name: "id", value: .text(Self.actionID(action))))
                } else {
                    let mix = SplitMix64.hash(UInt64(action) | 1 << 40, UInt64(namespaceIndex), UInt64(featureIndex))
                    features.append(Self.filler(namespace: namespaceIndex, feature: featureIndex, mix: mix))
                }
            }
            namespaces.append(SimNamespace(
                name: Self.name(Self.actionNamespaceNames, namespaceIndex, fallback: "act"), features: features))
        }
        return namespaces
    }

    static func filler(namespace: Int, feature: Int, mix: UInt64) -> SimFeature {
        let name = "f\(namespace)_\(feature)"
        if feature % 2 == 0 {
            return SimFeature(name: name, value: .text("v\(mix % 5)"))
        }
        return SimFeature(name: name, value: .number(Double(mix % 1000) / 100 + 0.5))
    }
}

public enum SimValue: Sendable, Equatable {
    case text(String)
    case number(Double)
}

public struct SimFeature: Sendable, Equatable {
    public var name: String
    public var value: SimValue
    public init(name: String, value: SimValue) { self.name = name; self.value = value }
}

public struct SimNamespace: Sendable, Equatable {
    public var name: String
    public var features: [SimFeature]
    public init(name: String, features: [SimFeature]) { self.name = name; self.features = features }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
public struct SplitMix64: Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    @inline(__always)
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in 0..<bound (bound > 0; the tiny modulo bias does not matter here).
    @inline(__always)
    public mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }

    static func hash(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        var generator = SplitMix64(seed: a &* 0x100_0000_01B3 ^ b &* 0x9E37_79B9 ^ c &+ 0x5851_F42D)
        return generator.next()
    }
}
