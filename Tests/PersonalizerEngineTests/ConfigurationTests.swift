import Foundation
import PersonalizerEngine
import PersonalizerModel
import XCTest

final class ConfigurationTests: XCTestCase {
    private func parse(_ json: String) throws(ConfigurationError) -> Configuration {
        try Configuration.parse(Data(json.utf8))
    }

    private func assertRefused(_ json: String, mentions text: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try parse(json)
            XCTFail("accepted \(json)", file: file, line: line)
        } catch {
            XCTAssertTrue(error.description.contains(text), "\"\(error.description)\" lacks \"\(text)\"", file: file, line: line)
        }
    }

    func testDefaultsMatchTheDesign() throws {
        let configuration = try parse("{}")
        XCTAssertEqual(Array(configuration.loops.keys), ["default"])
        let settings = configuration.loops["default"]!
        XCTAssertNil(settings.explorationPercentage)
        XCTAssertEqual(settings.rewardWaitTimeSeconds, 600)
        XCTAssertEqual(settings.defaultReward, 0)
        XCTAssertEqual(settings.rewardAggregation, .earliest)
        XCTAssertEqual(settings.modelUpdateIntervalSeconds, 60)
        XCTAssertEqual(settings.logRetentionDays, 90)
        XCTAssertEqual(settings.learningPolicy, "--cb_explore_adf --epsilon 0.2 --power_t 0 -l 0.5 --cb_type mtr -q ::")
        XCTAssertFalse(settings.learnOnFirstReward)
        XCTAssertEqual(settings.durability, .interval)
        XCTAssertEqual(settings.fsyncIntervalMilliseconds, 50)
        XCTAssertEqual(settings.checkpointIntervalSeconds, 60)
        XCTAssertEqual(try settings.effectivePolicy().exploration, .epsilonGreedy(epsilon: 0.2))
        XCTAssertEqual(configuration.limits.maxActionsPerRank, 256)
        XCTAssertEqual(configuration.limits.maxIdLength, 256)
        XCTAssertEqual(configuration.limits.maxFrameBytes, 4 * 1024 * 1024)
    }

    func testEverySettingIsRead() throws {
        let configuration = try parse("""
            {"loops": {"news": {"explorationPercentage": 0.1, "rewardWaitTimeSeconds": 5.5, "defaultReward": -1,
                                "rewardAggregation": "sum", "modelUpdateIntervalSeconds": 0.25, "logRetentionDays": 7,
                                "learningPolicy": "--cb_explore_adf -q UA", "learnOnFirstReward": false,
                                "durability": "ack", "fsyncIntervalMilliseconds": 5, "checkpointIntervalSeconds": 30}},
             "limits": {"maxFrameBytes": 1024, "maxActionsPerRank": 10, "maxIdLength": 64,
                        "maxNamespacesPerRank": 20, "maxFeaturesPerRank": 300, "ringCapacity": 128}}
            """)
        XCTAssertEqual(Set(configuration.loops.keys), ["default", "news"], "default always exists")
        let news = configuration.loops["news"]!
        XCTAssertEqual(news.explorationPercentage, 0.1)
        XCTAssertEqual(news.rewardWaitTimeSeconds, 5.5)
        XCTAssertEqual(news.defaultReward, -1)
        XCTAssertEqual(news.rewardAggregation, .sum)
        XCTAssertEqual(news.modelUpdateIntervalSeconds, 0.25)
        XCTAssertEqual(news.logRetentionDays, 7)
        XCTAssertEqual(news.durability, .ack)
        XCTAssertEqual(news.fsyncIntervalMilliseconds, 5)
        XCTAssertEqual(news.checkpointIntervalSeconds, 30)
        XCTAssertEqual(news.joinSettings.rewardWaitNanoseconds, 5_500_000_000)
        XCTAssertEqual(try news.effectivePolicy().exploration, .epsilonGreedy(epsilon: 0.1),
                       "explorationPercentage overrides the policy's epsilon")
        XCTAssertEqual(configuration.limits.maxFrameBytes, 1024)
        XCTAssertEqual(configuration.limits.maxActionsPerRank, 10)
        XCTAssertEqual(configuration.limits.maxIdLength, 64)
        XCTAssertEqual(configuration.limits.maxNamespacesPerRank, 20)
        XCTAssertEqual(configuration.limits.maxFeaturesPerRank, 300)
        XCTAssertEqual(configuration.limits.ringCapacity, 128)
    }

    func testMistakesAreRefusedNamingTheSetting() {
        assertRefused("[]", mentions: "must be a JSON object")
        assertRefused("{\"loop\": {}}", mentions: "unknown setting \"loop\"")
        assertRefused("{\"loops\": []}", mentions: "loops: must be an object")
        assertRefused("{\"loops\": {\"a b\": {}}}", mentions: "invalid loop name \"a b\"")
        assertRefused("{\"loops\": {\".hidden\": {}}}", mentions: "invalid loop name")
        assertRefused("{\"loops\": {\"x\": 3}}", mentions: "loops.x: must be an object")
        assertRefused("{\"loops\": {\"x\": {\"explorationPercentage\": -0.1}}}", mentions: "loops.x.explorationPercentage: must be between 0")
        assertRefused("{\"loops\": {\"x\": {\"rewardWaitTimeSeconds\": 0}}}", mentions: "loops.x.rewardWaitTimeSeconds: must be greater than 0")
        assertRefused("{\"loops\": {\"x\": {\"rewardWaitTimeSeconds\": true}}}", mentions: "must be a number, got true")
        assertRefused("{\"loops\": {\"x\": {\"defaultReward\": \"1\"}}}", mentions: "loops.x.defaultReward: must be a number")
        assertRefused("{\"loops\": {\"x\": {\"rewardAggregation\": \"max\"}}}", mentions: "\"earliest\" or \"sum\", got \"max\"")
        assertRefused("{\"loops\": {\"x\": {\"modelUpdateIntervalSeconds\": -1}}}", mentions: "modelUpdateIntervalSeconds")
        assertRefused("{\"loops\": {\"x\": {\"logRetentionDays\": 0}}}", mentions: "logRetentionDays")
        assertRefused("{\"loops\": {\"x\": {\"learningPolicy\": 5}}}", mentions: "learningPolicy: must be a string")
        assertRefused("{\"loops\": {\"x\": {\"learningPolicy\": \"--cb_explore_adf --nope\"}}}", mentions: "loops.x.learningPolicy")
        assertRefused("{\"loops\": {\"x\": {\"learnOnFirstReward\": 1}}}", mentions: "must be true or false, got 1")
        assertRefused("{\"loops\": {\"x\": {\"learnOnFirstReward\": true, \"rewardAggregation\": \"sum\"}}}",
                      mentions: "learnOnFirstReward needs rewardAggregation \"earliest\"")
        assertRefused("{\"loops\": {\"x\": {\"explorationPercentage\": 0.1, \"learningPolicy\": \"--cb_explore_adf --softmax --lambda 2\"}}}",
                      mentions: "explorationPercentage applies to epsilon-greedy exploration only")
        assertRefused("{\"loops\": {\"x\": {\"durability\": \"always\"}}}", mentions: "\"interval\", \"ack\" or \"off\", got \"always\"")
        assertRefused("{\"loops\": {\"x\": {\"fsyncIntervalMilliseconds\": 0}}}", mentions: "loops.x.fsyncIntervalMilliseconds")
        assertRefused("{\"loops\": {\"x\": {\"checkpointIntervalSeconds\": -5}}}", mentions: "loops.x.checkpointIntervalSeconds")
        assertRefused("{\"loops\": {\"x\": {\"token\": 12345}}}", mentions: "loops.x.token: must be a string of 1 to 256 bytes")
        assertRefused("{\"loops\": {\"x\": {\"token\": \"\"}}}", mentions: "loops.x.token")
        assertRefused("{\"loops\": {\"x\": {\"maxPendingEvents\": 0}}}", mentions: "loops.x.maxPendingEvents")
        assertRefused("{\"limits\": {\"maxConnections\": 0}}", mentions: "limits.maxConnections")
        assertRefused("{\"limits\": {\"maxBufferedOutputBytes\": 10}}", mentions: "limits.maxBufferedOutputBytes")
        assertRefused("{\"limits\": {\"partialFrameTimeoutSeconds\": 0}}", mentions: "limits.partialFrameTimeoutSeconds")
        assertRefused("{\"limits\": {\"maxIdLength\": 2.5}}", mentions: "limits.maxIdLength: must be a whole number")
        assertRefused("{\"limits\": {\"ringCapacity\": 1}}", mentions: "limits.ringCapacity: must be between 2")
        assertRefused("{\"limits\": {\"maxFrames\": 1}}", mentions: "limits: unknown setting \"maxFrames\"")
        assertRefused("{\"loops\": ", mentions: "not valid JSON")
    }

    func testMissingFileIsAnError() {
        XCTAssertThrowsError(try Configuration.load(path: "/nonexistent/personalizer.json")) { error in
            XCTAssertTrue("\(error)".contains("cannot read configuration file /nonexistent/personalizer.json"))
        }
    }
}
