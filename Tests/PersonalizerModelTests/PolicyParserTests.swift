import XCTest
import PersonalizerModel

final class PolicyParserTests: XCTestCase {
    private func parse(_ text: String) throws -> LearningPolicy { try LearningPolicy.parse(text) }

    private func assertError(_ text: String, _ expected: PolicyError, mentions: String? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try LearningPolicy.parse(text)
            XCTFail("'\(text)' parsed", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
            if let mentions {
                XCTAssertTrue(error.description.contains(mentions), "\(error.description) lacks \(mentions)",
                              file: file, line: line)
            }
        }
    }

    func testDefaultArguments() throws {
        let policy = try parse(LearningPolicy.defaultArguments)
        XCTAssertEqual(policy.exploration, .epsilonGreedy(epsilon: 0.2))
        XCTAssertEqual(policy.powerT, 0)
        XCTAssertEqual(policy.learningRate, 0.5)
        XCTAssertEqual(policy.costEstimator, .mtr)
        XCTAssertEqual(policy.interactions, [Interaction("::")])
        XCTAssertEqual(policy.bits, 18)
        XCTAssertEqual(policy.initialT, 0)
        XCTAssertFalse(policy.noConstant)
    }

    func testVWDefaults() throws {
        let policy = try parse("--cb_explore_adf")
        XCTAssertEqual(policy.exploration, .epsilonGreedy(epsilon: 0.05))
        XCTAssertEqual(policy.powerT, 0.5)
        XCTAssertEqual(policy.learningRate, 0.5)
        XCTAssertEqual(policy.bits, 18)
        XCTAssertEqual(policy.costEstimator, .mtr)
        XCTAssertEqual(policy.interactions, [])
        XCTAssertEqual(policy.l1, 0)
        XCTAssertEqual(policy.l2, 0)
        XCTAssertEqual(policy, LearningPolicy())
    }

    func testEveryFlag() throws {
        let p = try parse("""
            --cb_explore_adf -q ab --quadratic c: --cubic abc --interactions :: --interactions xyz -b 20 \
            --learning_rate 0.25 --power_t 0.3 --initial_t 1.5 --cb_type dr --epsilon 0.1 --l1 1e-6 --l2 0.001 \
            --noconstant --quiet --first_only
            """)
        XCTAssertEqual(p.interactions.map(\.description), ["ab", "c:", "abc", "::", "xyz"])
        XCTAssertEqual(p.bits, 20)
        XCTAssertEqual(p.learningRate, 0.25)
        XCTAssertEqual(p.powerT, 0.3)
        XCTAssertEqual(p.initialT, 1.5)
        XCTAssertEqual(p.costEstimator, .dr)
        XCTAssertEqual(p.weightsPerSlot, 2)
        XCTAssertEqual(p.exploration, .epsilonGreedy(epsilon: 0.1))
        XCTAssertEqual(p.l1, 1e-6)
        XCTAssertEqual(p.l2, 0.001)
        XCTAssertTrue(p.noConstant)

        XCTAssertEqual(try parse("--cb_explore_adf -l 0.1 --bit_precision 12").learningRate, 0.1)
        XCTAssertEqual(try parse("--cb_explore_adf --bit_precision 12").bits, 12)
        XCTAssertEqual(try parse("--cb_explore_adf --cb_type ips").costEstimator, .ips)
        XCTAssertEqual(try parse("--cb_explore_adf --cb_type mtr").costEstimator, .mtr)
        XCTAssertEqual(try parse("--cb_explore_adf --first 10").exploration, .first(count: 10))
        XCTAssertEqual(try parse("--cb_explore_adf --softmax").exploration, .softmax(lambda: 1))
        XCTAssertEqual(try parse("--cb_explore_adf --softmax --lambda 4").exploration, .softmax(lambda: 4))
        XCTAssertEqual(try parse("--cb_explore_adf --softmax --lambda -4").exploration, .softmax(lambda: 4))
        XCTAssertEqual(try parse("--cb_explore_adf --squarecb").exploration,
                       .squareCB(gammaScale: 10, gammaExponent: 0.5))
        XCTAssertEqual(try parse("--cb_explore_adf --squarecb --gamma_scale 3 --gamma_exponent 0.25").exploration,
                       .squareCB(gammaScale: 3, gammaExponent: 0.25))
    }

    func testSyntaxVariants() throws {
        let spaced = try parse("  --cb_explore_adf\t--epsilon   0.3 \n -q UA ")
        XCTAssertEqual(try parse("--cb_explore_adf --epsilon=0.3 -qUA"), spaced)
        XCTAssertEqual(try LearningPolicy.parse(arguments: ["--cb_explore_adf", "--epsilon", "0.3", "-q", "UA"]), spaced)
        XCTAssertEqual(try parse("--cb_explore_adf -b20 -l0.1").bits, 20)
        XCTAssertEqual(try parse("--cb_explore_adf -b20 -l0.1").learningRate, 0.1)
    }

    func testCanonicalArgumentsRoundTrip() throws {
        for text in [LearningPolicy.defaultArguments, "--cb_explore_adf",
                     "--cb_explore_adf --softmax --lambda 2 -q ab --cubic abc -b 12 --l2 0.01 --noconstant",
                     "--cb_explore_adf --squarecb --gamma_scale 5 --initial_t 3 --l1 0.5",
                     "--cb_explore_adf --first 7 --cb_type dr --power_t 0.25"] {
            let policy = try parse(text)
            XCTAssertEqual(try parse(policy.arguments), policy, policy.arguments)
        }
    }

    func testErrors() {
        assertError("--epsilon 0.1", .missingCBExploreADF, mentions: "--cb_explore_adf")
        assertError("", .missingCBExploreADF)
        assertError("--cb_explore_adf --foo", .unknownFlag("--foo"), mentions: "'--foo'")
        assertError("--cb_explore_adf -x 1", .unknownFlag("-x"), mentions: "'-x'")
        assertError("--cb_explore_adf --bag 5", .unknownFlag("--bag"))
        assertError("--cb_explore_adf stray", .unexpectedArgument("stray"), mentions: "'stray'")
        assertError("--cb_explore_adf --epsilon", .missingValue(flag: "--epsilon"), mentions: "'--epsilon'")
        assertError("--cb_explore_adf --epsilon x",
                    .invalidValue(flag: "--epsilon", value: "x", expected: "a number in [0, 1]"),
                    mentions: "'--epsilon' needs a number in [0, 1], got 'x'")
        assertError("--cb_explore_adf --epsilon 1.5",
                    .invalidValue(flag: "--epsilon", value: "1.5", expected: "a number in [0, 1]"))
        assertError("--cb_explore_adf --epsilon nan",
                    .invalidValue(flag: "--epsilon", value: "nan", expected: "a number in [0, 1]"))
        assertError("--cb_explore_adf -b 31",
                    .invalidValue(flag: "-b", value: "31", expected: "a whole number of bits in 1...30"))
        assertError("--cb_explore_adf -b 0",
                    .invalidValue(flag: "-b", value: "0", expected: "a whole number of bits in 1...30"))
        assertError("--cb_explore_adf -l 0", .invalidValue(flag: "-l", value: "0", expected: "a positive number"))
        assertError("--cb_explore_adf --learning_rate -1",
                    .invalidValue(flag: "--learning_rate", value: "-1", expected: "a positive number"))
        assertError("--cb_explore_adf --power_t -0.5",
                    .invalidValue(flag: "--power_t", value: "-0.5", expected: "a number >= 0"))
        assertError("--cb_explore_adf --initial_t inf",
                    .invalidValue(flag: "--initial_t", value: "inf", expected: "a number >= 0"))
        assertError("--cb_explore_adf --l1 -1", .invalidValue(flag: "--l1", value: "-1", expected: "a number >= 0"))
        assertError("--cb_explore_adf --l2 abc", .invalidValue(flag: "--l2", value: "abc", expected: "a number >= 0"))
        assertError("--cb_explore_adf --cb_type dm",
                    .invalidValue(flag: "--cb_type", value: "dm", expected: "one of mtr, ips, dr"), mentions: "'dm'")
        assertError("--cb_explore_adf --first -1",
                    .invalidValue(flag: "--first", value: "-1", expected: "a whole number of examples >= 0"))
        assertError("--cb_explore_adf --softmax --lambda big",
                    .invalidValue(flag: "--lambda", value: "big", expected: "a finite number"))
        assertError("--cb_explore_adf --squarecb --gamma_scale -1",
                    .invalidValue(flag: "--gamma_scale", value: "-1", expected: "a number >= 0"))
        assertError("--cb_explore_adf --squarecb --gamma_exponent x",
                    .invalidValue(flag: "--gamma_exponent", value: "x", expected: "a number >= 0"))
        assertError("--cb_explore_adf -q abc",
                    .invalidValue(flag: "-q", value: "abc", expected: "two namespace characters (':' for any namespace)"))
        assertError("--cb_explore_adf --quadratic a",
                    .invalidValue(flag: "--quadratic", value: "a",
                                  expected: "two namespace characters (':' for any namespace)"))
        assertError("--cb_explore_adf --cubic ab",
                    .invalidValue(flag: "--cubic", value: "ab",
                                  expected: "three namespace characters (':' for any namespace)"))
        assertError("--cb_explore_adf --interactions abcd",
                    .invalidValue(flag: "--interactions", value: "abcd",
                                  expected: "2 or 3 namespace characters (higher orders are not supported)"),
                    mentions: "'abcd'")
        assertError("--cb_explore_adf --quiet=1", .invalidValue(flag: "--quiet", value: "1", expected: "no value"))
        assertError("--cb_explore_adf --epsilon 0.1 --epsilon 0.2", .duplicateFlag("--epsilon"),
                    mentions: "more than once")
        assertError("--cb_explore_adf -l 0.1 --learning_rate 0.2", .duplicateFlag("--learning_rate"))
        assertError("--cb_explore_adf --softmax --squarecb", .conflictingFlags("--softmax", "--squarecb"))
        assertError("--cb_explore_adf --first 3 --softmax", .conflictingFlags("--first", "--softmax"))
        assertError("--cb_explore_adf --squarecb --epsilon 0.1", .conflictingFlags("--epsilon", "--squarecb"))
        assertError("--cb_explore_adf --squarecb --cb_type ips", .conflictingFlags("--squarecb", "--cb_type ips"))
        assertError("--cb_explore_adf --lambda 2", .requiresFlag(flag: "--lambda", requires: "--softmax"),
                    mentions: "'--lambda'")
        assertError("--cb_explore_adf --gamma_scale 2", .requiresFlag(flag: "--gamma_scale", requires: "--squarecb"))
        assertError("--cb_explore_adf --gamma_exponent 2",
                    .requiresFlag(flag: "--gamma_exponent", requires: "--squarecb"))
    }

    func testRepeatableInteractionsAndBooleans() throws {
        let p = try parse("--cb_explore_adf -q ab -q ab --quiet --quiet")
        XCTAssertEqual(p.interactions.count, 2)
    }
}
