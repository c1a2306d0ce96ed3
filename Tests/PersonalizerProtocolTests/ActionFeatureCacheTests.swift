import PersonalizerEngine
import PersonalizerModel
@testable import PersonalizerProtocol
import PersonalizerTransport
import XCTest

/// Actions found in `ActionFeatureCache` must be ranked and learned exactly as if their
/// features had been validated and hashed again, and the request limits must still count them.
final class ActionFeatureCacheTests: XCTestCase {
    private let clock = ManualClock()

    private func makeProcessor(cacheSlots: Int, limits change: (inout ServerLimits) -> Void = { _ in })
        throws -> (LearningLoop, RequestProcessor) {
        var settings = LoopSettings()
        settings.rewardWaitTimeSeconds = 1
        settings.modelUpdateIntervalSeconds = 0.5
        var limits = ServerLimits()
        limits.ringCapacity = 4096
        change(&limits)
        let loop = try LearningLoop(name: "default", settings: settings, ringCapacity: limits.ringCapacity, clock: clock,
                                    onSpaceAvailable: {})
        return (loop, RequestProcessor(loops: ["default": loop], limits: limits, clock: clock,
                                       actionCacheSlots: cacheSlots))
    }

    private func send(_ call: Call, id: UInt64, to processor: RequestProcessor) -> Response? {
        let output = ByteBuffer()
        let bytes = MessageCodec.encode(Request(id: id, call: call))
        guard case .done = bytes.withUnsafeBytes({ processor.process($0, into: output) }) else { return nil }
        let frame = output.readableBytes
        return MessageCodec.decodeResponse(UnsafeRawBufferPointer(rebasing: frame[4...]))
    }

    /// A catalog of actions with text and number features (zeros included: dropped when
    /// hashed), in one or two namespaces.
    private func catalogAction(_ index: Int) -> RankAction {
        var namespaces = [FeatureNamespace("item", [.text("topic", "t\(index % 5)"), .number("length", Double(index % 4)),
                                                    .text("id", "i\(index)")])]
        if index % 3 == 0 { namespaces.append(FeatureNamespace("price", [.number("p", Double(index) * 0.5 + 1)])) }
        return RankAction(id: "action-\(index)", features: namespaces)
    }

    func testCachedActionsRankAndLearnExactlyLikeFreshlyHashedOnes() throws {
        try assertRanksAndLearnsAsWithoutCache(cacheSlots: ActionFeatureCache.defaultSlotCount, minimumHits: 1000)
    }

    /// With two slots, keeping a new action replaces an entry that other actions of the same
    /// request were scored from (and are logged from): that must wait until the request is answered.
    func testATinyCacheThatReplacesEntriesEveryRequestChangesNothing() throws {
        try assertRanksAndLearnsAsWithoutCache(cacheSlots: 2, minimumHits: 100)
    }

    private func assertRanksAndLearnsAsWithoutCache(cacheSlots: Int, minimumHits: Int) throws {
        let (cachedLoop, cached) = try makeProcessor(cacheSlots: cacheSlots)
        let (plainLoop, plain) = try makeProcessor(cacheSlots: 0)
        var random = SystemRandomNumberGenerator()
        for index in 0..<400 {
            let actions = (0..<6).map { _ in Int.random(in: 0..<12, using: &random) }
            let unique = Array(Set(actions)).sorted().map(catalogAction)
            let context = [FeatureNamespace("user", [.text("segment", "s\(index % 3)"), .number("age", Double(index % 50))])]
            // Now and then one is excluded: its namespaces are then checked, found in the cache or not.
            let excluded = index % 4 == 0 && unique.count > 1 ? [unique[index % unique.count].id] : []
            let call = Call.rank(RankCall(context: context, actions: unique, excludedActionIDs: excluded,
                                          eventID: "e\(index)"))
            let fromCache = send(call, id: UInt64(index), to: cached)
            XCTAssertEqual(fromCache, send(call, id: UInt64(index), to: plain), "request \(index)")
            guard case .rank(let result) = fromCache?.result else { return XCTFail("request \(index): \(String(describing: fromCache))") }
            let reward = Call.reward(eventID: result.eventID, value: result.rewardActionID.hasSuffix("3") ? 1 : 0)
            _ = send(reward, id: 0, to: cached)
            _ = send(reward, id: 0, to: plain)
            clock.advance(seconds: 0.05)
            if index % 10 == 9 {
                cachedLoop.trainerStep(now: clock.nowNanoseconds())
                plainLoop.trainerStep(now: clock.nowNanoseconds())
            }
        }
        clock.advance(seconds: 5)
        cachedLoop.trainerStep(now: clock.nowNanoseconds())
        plainLoop.trainerStep(now: clock.nowNanoseconds())
        XCTAssertGreaterThan(cachedLoop.counters.learnedEvents.load(), 300)
        XCTAssertEqual(cachedLoop.learnerState(), plainLoop.learnerState(), "the same model, bit for bit")
        XCTAssertGreaterThan(cached.actionCacheHits, minimumHits, "the cache was used")
        XCTAssertEqual(plain.actionCacheHits, 0)
    }

    func testAnInvalidActionIsRefusedEveryTime() throws {
        let (_, processor) = try makeProcessor(cacheSlots: ActionFeatureCache.defaultSlotCount)
        let bad = RankAction(id: "bad", features: [FeatureNamespace("item", [.number("x", .infinity)])])
        for attempt in 0..<3 {
            let response = send(.rank(RankCall(actions: [catalogAction(1), bad])), id: UInt64(attempt), to: processor)
            guard case .error(let code, let message) = response?.result else { return XCTFail("attempt \(attempt) was accepted") }
            XCTAssertEqual(code, StatusCode.invalidArgument.rawValue)
            XCTAssertTrue(message.contains("not a finite number"), message)
        }
    }

    func testLimitsPassedByCachedActionsAreReportedAsWithoutTheCache() throws {
        for change in [{ (limits: inout ServerLimits) in limits.maxFeaturesPerRank = 11 },
                       { (limits: inout ServerLimits) in limits.maxNamespacesPerRank = 5 }] {
            let (_, cached) = try makeProcessor(cacheSlots: ActionFeatureCache.defaultSlotCount, limits: change)
            let (_, plain) = try makeProcessor(cacheSlots: 0, limits: change)
            for (id, count) in [(UInt64(1), 2), (2, 4), (3, 3), (4, 6), (5, 1)] {
                let call = Call.rank(RankCall(actions: (0..<count).map(catalogAction), excludedActionIDs: count > 2 ? ["action-1"] : [],
                                              eventID: "l\(id)"))
                XCTAssertEqual(send(call, id: id, to: cached), send(call, id: id, to: plain), "\(count) actions")
            }
            XCTAssertGreaterThan(cached.actionCacheHits, 0)
        }
    }

    func testCachedActionsStillCountTowardTheRequestLimits() throws {
        let (_, processor) = try makeProcessor(cacheSlots: ActionFeatureCache.defaultSlotCount) { $0.maxFeaturesPerRank = 8 }
        let action = { (index: Int) in RankAction(id: "a\(index)", features: [FeatureNamespace("item", [.text("f", "\(index)"), .text("g", "x")])]) }
        guard case .rank = send(.rank(RankCall(actions: (0..<4).map(action))), id: 1, to: processor)?.result else {
            return XCTFail("8 features are within the limit")
        }
        let response = send(.rank(RankCall(actions: (0..<5).map(action))), id: 2, to: processor)
        guard case .error(let code, let message) = response?.result else { return XCTFail("10 features passed a limit of 8") }
        XCTAssertEqual(code, StatusCode.invalidArgument.rawValue)
        XCTAssertTrue(message.contains("more than the limit of 8 features"), message)
        XCTAssertGreaterThanOrEqual(processor.actionCacheHits, 4, "the first four were found in the cache")
    }

    func testAReplacedEntryIsNeverTakenForAnotherAction() {
        let cache = ActionFeatureCache(slotCount: 16)
        func bytes(_ index: Int) -> [UInt8] { Array("id-\(index) and some namespace bytes".utf8) }
        func features(_ index: Int) -> HashedFeatures {
            var features = HashedFeatures()
            features.beginNamespace(name: "n")
            features.addNumber(name: "x", value: Double(index + 1))
            return features
        }
        for index in 0..<200 {
            bytes(index).withUnsafeBytes { raw in
                let id = UnsafeRawBufferPointer(rebasing: raw[0..<(3 + String(index).count)])
                cache.keep(raw, id: id, namespaceCount: 1, featureCount: index, features: features(index))
            }
        }
        var found = 0
        for index in 0..<200 {
            bytes(index).withUnsafeBytes { raw in
                guard let slot = cache.slot(holding: raw) else { return }
                XCTAssertEqual(cache.features(slot), features(index), "action \(index)")
                XCTAssertEqual(cache.counts(slot).features, index)
                XCTAssertEqual(String(decoding: cache.id(in: raw, slot: slot), as: UTF8.self), "id-\(index)")
                found += 1
            }
        }
        XCTAssertGreaterThan(found, 0)
        XCTAssertLessThanOrEqual(found, 16)
        let large = [UInt8](repeating: 7, count: ActionFeatureCache.maxActionBytes + 1)
        large.withUnsafeBytes { raw in
            cache.keep(raw, id: UnsafeRawBufferPointer(rebasing: raw[0..<1]), namespaceCount: 1, featureCount: 1,
                       features: features(0))
            XCTAssertNil(cache.slot(holding: raw), "larger actions are not kept")
        }
    }

    /// Two actions of the same set are both kept (a direct-mapped cache would lose one on
    /// every request); a third replaces the one used less recently.
    func testASetHoldsTwoActionsAndReplacesTheLeastRecentlyUsed() {
        let cache = ActionFeatureCache(slotCount: 2)  // one set: every action maps to it
        func keep(_ name: String) {
            Array(name.utf8).withUnsafeBytes { raw in
                var features = HashedFeatures()
                features.beginNamespace(name: "n")
                features.addText(name: "name", value: name)
                cache.keep(raw, id: raw, namespaceCount: 1, featureCount: 1, features: features)
            }
        }
        func isKept(_ name: String) -> Bool { Array(name.utf8).withUnsafeBytes { cache.slot(holding: $0) != nil } }
        keep("a")
        keep("b")
        XCTAssertTrue(isKept("a"))
        XCTAssertTrue(isKept("b"))
        XCTAssertTrue(isKept("a"))  // "b" is now the less recently used
        keep("c")
        XCTAssertTrue(isKept("a"))
        XCTAssertTrue(isKept("c"))
        XCTAssertFalse(isKept("b"))
        keep("c")  // kept again: stays in its slot, "a" stays too
        XCTAssertTrue(isKept("a"))
        XCTAssertTrue(isKept("c"))
    }
}
