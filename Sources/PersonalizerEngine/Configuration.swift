import Foundation
import PersonalizerModel

/// The server's configuration: loops with their settings, and limits. Read from a JSON file:
///
///     { "loops": { "default": { "rewardWaitTimeSeconds": 60 }, "news": { ... } },
///       "limits": { "maxActionsPerRank": 100 } }
///
/// Unknown keys, wrong types and out-of-range values are errors that name the setting. The
/// `default` loop exists whether the file lists it or not.
public struct Configuration: Sendable, Equatable {
    public static let defaultLoopName = "default"

    public var loops: [String: LoopSettings]
    public var limits: ServerLimits

    public init(loops: [String: LoopSettings] = [:], limits: ServerLimits = ServerLimits()) {
        self.loops = loops
        self.limits = limits
        if self.loops[Self.defaultLoopName] == nil { self.loops[Self.defaultLoopName] = LoopSettings() }
    }

    public static func load(path: String) throws(ConfigurationError) -> Configuration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read configuration file \(path)")
        }
        do {
            return try parse(data)
        } catch {
            throw ConfigurationError("\(path): \(error.description)")
        }
    }

    public static func parse(_ data: Data) throws(ConfigurationError) -> Configuration {
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigurationError("not valid JSON (\(Self.describe(error)))")
        }
        guard case .object(let top) = document else {
            throw ConfigurationError("the configuration must be a JSON object with \"loops\" and/or \"limits\"")
        }
        try rejectUnknownKeys(top, allowed: ["loops", "limits"], at: "")
        var configuration = Configuration()
        if let loops = top["loops"] {
            guard case .object(let entries) = loops else { throw ConfigurationError("loops: must be an object") }
            for (name, value) in entries {
                try validateLoopName(name)
                configuration.loops[name] = try parseLoop(value, at: "loops.\(name)")
            }
        }
        if let limits = top["limits"] {
            configuration.limits = try parseLimits(limits)
        }
        for (name, settings) in configuration.loops {
            do {
                _ = try settings.effectivePolicy()
            } catch {
                throw ConfigurationError("loops.\(name).\(error.description)")
            }
        }
        return configuration
    }

    /// Loop names become folder names under the data directory.
    static func validateLoopName(_ name: String) throws(ConfigurationError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
        guard !name.isEmpty, name.utf8.count <= 128, allowed, name.first != "." else {
            throw ConfigurationError(
                "loops: invalid loop name \"\(name)\" (1 to 128 of A-Z a-z 0-9 . _ -, not starting with '.')")
        }
    }

    static func parseLoop(_ value: JSONValue, at path: String) throws(ConfigurationError) -> LoopSettings {
        guard case .object(let fields) = value else { throw ConfigurationError("\(path): must be an object") }
        try rejectUnknownKeys(fields, allowed: [
            "explorationPercentage", "rewardWaitTimeSeconds", "defaultReward", "rewardAggregation",
            "modelUpdateIntervalSeconds", "logRetentionDays", "learningPolicy", "learnOnFirstReward",
            "durability", "fsyncIntervalMilliseconds", "checkpointIntervalSeconds", "maxPendingEvents", "token",
        ], at: path)
        var settings = LoopSettings()
        let reader = FieldReader(fields: fields, path: path)
        if let value = try reader.number("explorationPercentage", in: 0...1) { settings.explorationPercentage = value }
        if let value = try reader.number("rewardWaitTimeSeconds", above: 0) { settings.rewardWaitTimeSeconds = value }
        if let value = try reader.number("defaultReward") { settings.defaultReward = value }
        if let value = try reader.string("rewardAggregation") {
            guard let aggregation = RewardAggregation(rawValue: value) else {
                throw ConfigurationError("\(path).rewardAggregation: must be \"earliest\" or \"sum\", got \"\(value)\"")
            }
            settings.rewardAggregation = aggregation
        }
        if let value = try reader.number("modelUpdateIntervalSeconds", above: 0) { settings.modelUpdateIntervalSeconds = value }
        if let value = try reader.number("logRetentionDays", above: 0) { settings.logRetentionDays = value }
        if let value = try reader.string("learningPolicy") { settings.learningPolicy = value }
        if let value = try reader.bool("learnOnFirstReward") { settings.learnOnFirstReward = value }
        if let value = try reader.string("durability") {
            guard let mode = DurabilityMode(rawValue: value) else {
                throw ConfigurationError("\(path).durability: must be \"interval\", \"ack\" or \"off\", got \"\(value)\"")
            }
            settings.durability = mode
        }
        if let value = try reader.number("fsyncIntervalMilliseconds", above: 0) { settings.fsyncIntervalMilliseconds = value }
        if let value = try reader.number("checkpointIntervalSeconds", above: 0) { settings.checkpointIntervalSeconds = value }
        if let value = try reader.integer("maxPendingEvents", in: 1...1_000_000_000) { settings.maxPendingEvents = value }
        if let value = fields["token"] {
            // Never echo a token, not even a malformed one.
            guard case .string(let token) = value, !token.isEmpty, token.utf8.count <= 256 else {
                throw ConfigurationError("\(path).token: must be a string of 1 to 256 bytes")
            }
            settings.token = token
        }
        return settings
    }

    static func parseLimits(_ value: JSONValue) throws(ConfigurationError) -> ServerLimits {
        guard case .object(let fields) = value else { throw ConfigurationError("limits: must be an object") }
        try rejectUnknownKeys(fields, allowed: [
            "maxFrameBytes", "maxActionsPerRank", "maxIdLength", "maxNamespacesPerRank", "maxFeaturesPerRank",
            "ringCapacity", "maxConnections", "maxBufferedOutputBytes", "partialFrameTimeoutSeconds",
        ], at: "limits")
        var limits = ServerLimits()
        let reader = FieldReader(fields: fields, path: "limits")
        if let value = try reader.integer("maxFrameBytes", in: 64...(256 * 1024 * 1024)) { limits.maxFrameBytes = value }
        if let value = try reader.integer("maxActionsPerRank", in: 1...65_536) { limits.maxActionsPerRank = value }
        if let value = try reader.integer("maxIdLength", in: 1...65_536) { limits.maxIdLength = value }
        if let value = try reader.integer("maxNamespacesPerRank", in: 1...1_000_000) { limits.maxNamespacesPerRank = value }
        if let value = try reader.integer("maxFeaturesPerRank", in: 1...10_000_000) { limits.maxFeaturesPerRank = value }
        if let value = try reader.integer("ringCapacity", in: 2...(1 << 24)) { limits.ringCapacity = value }
        if let value = try reader.integer("maxConnections", in: 1...1_000_000) { limits.maxConnections = value }
        if let value = try reader.integer("maxBufferedOutputBytes", in: 4096...(1 << 34)) {
            limits.maxBufferedOutputBytes = value
        }
        if let value = try reader.number("partialFrameTimeoutSeconds", above: 0) { limits.partialFrameTimeoutSeconds = value }
        return limits
    }

    static func rejectUnknownKeys(_ fields: [String: JSONValue], allowed: Set<String>, at path: String) throws(ConfigurationError) {
        for key in fields.keys.sorted() where !allowed.contains(key) {
            let known = allowed.sorted().joined(separator: ", ")
            let prefix = path.isEmpty ? "" : "\(path): "
            throw ConfigurationError("\(prefix)unknown setting \"\(key)\" (known: \(known))")
        }
    }

    static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return context.underlyingError.map { "\($0)" } ?? context.debugDescription
        }
        return "\(error)"
    }
}

/// Reads typed, range-checked fields of one JSON object, with errors that name them.
private struct FieldReader {
    let fields: [String: JSONValue]
    let path: String

    func number(_ key: String, in range: ClosedRange<Double>? = nil, above lower: Double? = nil) throws(ConfigurationError) -> Double? {
        guard let value = fields[key] else { return nil }
        guard case .number(let number) = value, number.isFinite else {
            throw ConfigurationError("\(path).\(key): must be a number, got \(value)")
        }
        if let range, !range.contains(number) {
            throw ConfigurationError("\(path).\(key): must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        if let lower, !(number > lower) {
            throw ConfigurationError("\(path).\(key): must be greater than \(JSONValue.number(lower)), got \(value)")
        }
        return number
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = fields[key] else { return nil }
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 1e15 else {
            throw ConfigurationError("\(path).\(key): must be a whole number, got \(value)")
        }
        guard range.contains(Int(number)) else {
            throw ConfigurationError("\(path).\(key): must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return Int(number)
    }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = fields[key] else { return nil }
        guard case .string(let string) = value else {
            throw ConfigurationError("\(path).\(key): must be a string, got \(value)")
        }
        return string
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = fields[key] else { return nil }
        guard case .bool(let flag) = value else {
            throw ConfigurationError("\(path).\(key): must be true or false, got \(value)")
        }
        return flag
    }
}
