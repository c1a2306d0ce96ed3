/// Strict parsing of VW-style learning-policy arguments: anything unknown or unsupported is an
/// error naming it, so a typo never silently changes how a loop learns.
extension LearningPolicy {
    public static func parse(_ arguments: String) throws(PolicyError) -> LearningPolicy {
        var tokens: [String] = []
        var current = ""
        for character in arguments {
            if character.isWhitespace {
                if !current.isEmpty { tokens.append(current); current = "" }
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return try parse(arguments: tokens)
    }

    /// Parses arguments already split into tokens (`["--epsilon", "0.1"]` or `["--epsilon=0.1"]`).
    public static func parse(arguments tokens: [String]) throws(PolicyError) -> LearningPolicy {
        var parser = PolicyParser()
        try parser.run(tokens)
        return try parser.finish()
    }
}

/// The flags understood, by canonical name.
enum PolicyFlag: String, CaseIterable {
    case cbExploreADF = "--cb_explore_adf"
    case quadratic = "--quadratic"
    case cubic = "--cubic"
    case interactions = "--interactions"
    case bits = "--bit_precision"
    case learningRate = "--learning_rate"
    case powerT = "--power_t"
    case initialT = "--initial_t"
    case cbType = "--cb_type"
    case epsilon = "--epsilon"
    case first = "--first"
    case softmax = "--softmax"
    case lambda = "--lambda"
    case squareCB = "--squarecb"
    case gammaScale = "--gamma_scale"
    case gammaExponent = "--gamma_exponent"
    case l1 = "--l1"
    case l2 = "--l2"
    case noConstant = "--noconstant"
    case quiet = "--quiet"
    case firstOnly = "--first_only"

    static func named(_ name: String) -> PolicyFlag? {
        switch name {
        case "-q": return .quadratic
        case "-b": return .bits
        case "-l": return .learningRate
        default: return PolicyFlag(rawValue: name)
        }
    }

    var takesValue: Bool {
        switch self {
        case .cbExploreADF, .softmax, .squareCB, .noConstant, .quiet, .firstOnly: return false
        default: return true
        }
    }

    /// Interaction flags may repeat; every other valued flag may appear once.
    var repeatable: Bool { self == .quadratic || self == .cubic || self == .interactions }
}

struct PolicyParser {
    var policy = LearningPolicy()
    var seen: Set<PolicyFlag> = []
    /// How each flag was spelled, for messages.
    var spelling: [PolicyFlag: String] = [:]
    var epsilon: Double?
    var firstCount: UInt64?
    var lambda: Double?
    var gammaScale: Double?
    var gammaExponent: Double?

    mutating func run(_ tokens: [String]) throws(PolicyError) {
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            index += 1
            var name: String
            var inlineValue: String?
            if token.hasPrefix("--") {
                if let equals = token.firstIndex(of: "=") {
                    name = String(token[..<equals])
                    inlineValue = String(token[token.index(after: equals)...])
                } else {
                    name = token
                }
            } else if token.hasPrefix("-") && token.count >= 2 {
                // Short flags may carry their value attached: -qab, -b20, -l0.1.
                name = String(token.prefix(2))
                if token.count > 2 { inlineValue = String(token.dropFirst(2)) }
            } else {
                throw .unexpectedArgument(token)
            }
            guard let flag = PolicyFlag.named(name) else { throw .unknownFlag(name) }
            if flag.takesValue {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < tokens.count else { throw .missingValue(flag: name) }
                    value = tokens[index]
                    index += 1
                }
                if seen.contains(flag) && !flag.repeatable { throw .duplicateFlag(name) }
                try apply(flag, name: name, value: value)
            } else {
                if let inlineValue { throw .invalidValue(flag: name, value: inlineValue, expected: "no value") }
                try apply(flag, name: name, value: nil)
            }
            seen.insert(flag)
            if spelling[flag] == nil { spelling[flag] = name }
        }
    }

    mutating func apply(_ flag: PolicyFlag, name: String, value: String?) throws(PolicyError) {
        let value = value ?? ""
        switch flag {
        case .cbExploreADF, .quiet, .firstOnly:
            break // --first_only: ties already go to the first action (see ExplorationStrategy)
        case .softmax, .squareCB:
            break
        case .noConstant:
            policy.noConstant = true
        case .quadratic:
            guard value.utf8.count == 2 else {
                throw .invalidValue(flag: name, value: value, expected: "two namespace characters (':' for any namespace)")
            }
            policy.interactions.append(Interaction(keys: Array(value.utf8)))
        case .cubic:
            guard value.utf8.count == 3 else {
                throw .invalidValue(flag: name, value: value, expected: "three namespace characters (':' for any namespace)")
            }
            policy.interactions.append(Interaction(keys: Array(value.utf8)))
        case .interactions:
            guard value.utf8.count == 2 || value.utf8.count == 3 else {
                throw .invalidValue(flag: name, value: value,
                                    expected: "2 or 3 namespace characters (higher orders are not supported)")
            }
            policy.interactions.append(Interaction(keys: Array(value.utf8)))
        case .bits:
            guard let bits = Int(value), (1...30).contains(bits) else {
                throw .invalidValue(flag: name, value: value, expected: "a whole number of bits in 1...30")
            }
            policy.bits = bits
        case .learningRate:
            policy.learningRate = try number(name, value, "a positive number") { $0 > 0 }
        case .powerT:
            policy.powerT = try number(name, value, "a number >= 0") { $0 >= 0 }
        case .initialT:
            policy.initialT = try number(name, value, "a number >= 0") { $0 >= 0 }
        case .l1:
            policy.l1 = try number(name, value, "a number >= 0") { $0 >= 0 }
        case .l2:
            policy.l2 = try number(name, value, "a number >= 0") { $0 >= 0 }
        case .cbType:
            guard let estimator = LearningPolicy.CostEstimator(rawValue: value) else {
                throw .invalidValue(flag: name, value: value, expected: "one of mtr, ips, dr")
            }
            policy.costEstimator = estimator
        case .epsilon:
            epsilon = try number(name, value, "a number in [0, 1]") { $0 >= 0 && $0 <= 1 }
        case .first:
            guard let count = UInt64(value) else {
                throw .invalidValue(flag: name, value: value, expected: "a whole number of examples >= 0")
            }
            firstCount = count
        case .lambda:
            // VW flips a negative lambda (lower cost is better either way); so do we.
            let given = try number(name, value, "a finite number") { _ in true }
            lambda = abs(given)
        case .gammaScale:
            gammaScale = try number(name, value, "a number >= 0") { $0 >= 0 }
        case .gammaExponent:
            gammaExponent = try number(name, value, "a number >= 0") { $0 >= 0 }
        }
    }

    func number(_ name: String, _ value: String, _ expected: String,
                _ valid: (Double) -> Bool) throws(PolicyError) -> Double {
        guard let x = Double(value), x.isFinite, valid(x) else {
            throw .invalidValue(flag: name, value: value, expected: expected)
        }
        return x
    }

    func spelled(_ flag: PolicyFlag) -> String { spelling[flag] ?? flag.rawValue }

    mutating func finish() throws(PolicyError) -> LearningPolicy {
        guard seen.contains(.cbExploreADF) else { throw .missingCBExploreADF }
        let explorers = [PolicyFlag.first, .softmax, .squareCB].filter { seen.contains($0) }
        if explorers.count > 1 { throw .conflictingFlags(spelled(explorers[0]), spelled(explorers[1])) }
        if let explorer = explorers.first, seen.contains(.epsilon) {
            // VW would use epsilon as a probability floor there; this model has no such mix.
            throw .conflictingFlags(spelled(.epsilon), spelled(explorer))
        }
        if seen.contains(.lambda) && !seen.contains(.softmax) {
            throw .requiresFlag(flag: spelled(.lambda), requires: "--softmax")
        }
        for flag in [PolicyFlag.gammaScale, .gammaExponent] where seen.contains(flag) && !seen.contains(.squareCB) {
            throw .requiresFlag(flag: spelled(flag), requires: "--squarecb")
        }
        if seen.contains(.squareCB) && policy.costEstimator != .mtr {
            throw .conflictingFlags(spelled(.squareCB), "\(spelled(.cbType)) \(policy.costEstimator.rawValue)")
        }
        if let firstCount {
            policy.exploration = .first(count: firstCount)
        } else if seen.contains(.softmax) {
            policy.exploration = .softmax(lambda: lambda ?? 1)
        } else if seen.contains(.squareCB) {
            policy.exploration = .squareCB(gammaScale: gammaScale ?? 10, gammaExponent: gammaExponent ?? 0.5)
        } else {
            policy.exploration = .epsilonGreedy(epsilon: epsilon ?? 0.05)
        }
        return policy
    }
}
