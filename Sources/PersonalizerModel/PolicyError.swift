/// Why a learning-policy argument string was refused; the description names the flag or value.
public enum PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingCBExploreADF
    case unknownFlag(String)
    case unexpectedArgument(String)
    case missingValue(flag: String)
    case invalidValue(flag: String, value: String, expected: String)
    case duplicateFlag(String)
    case conflictingFlags(String, String)
    /// `flag` only means something together with `requires`.
    case requiresFlag(flag: String, requires: String)

    public var description: String {
        switch self {
        case .missingCBExploreADF:
            return "the learning policy needs '--cb_explore_adf' (contextual bandit with action-dependent features)"
        case .unknownFlag(let flag):
            return "unknown learning-policy flag '\(flag)'"
        case .unexpectedArgument(let argument):
            return "unexpected learning-policy argument '\(argument)' (not a value of any flag)"
        case .missingValue(let flag):
            return "'\(flag)' needs a value"
        case .invalidValue(let flag, let value, let expected):
            return "'\(flag)' needs \(expected), got '\(value)'"
        case .duplicateFlag(let flag):
            return "'\(flag)' is given more than once"
        case .conflictingFlags(let first, let second):
            return "'\(first)' cannot be combined with '\(second)'"
        case .requiresFlag(let flag, let requires):
            return "'\(flag)' only applies with '\(requires)'"
        }
    }
}
