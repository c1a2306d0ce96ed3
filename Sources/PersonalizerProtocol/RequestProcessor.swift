import CProtobufC
import PersonalizerEngine
import PersonalizerModel
import PersonalizerProto
import PersonalizerTransport

/// What became of one request frame.
public enum ProcessOutcome {
    /// Answered (the response, or an error, is in the output).
    case done
    /// The loop's ring is full: nothing was answered or changed; process the same frame again
    /// once the loop has room.
    case retryLater(LearningLoop)
}

/// Turns request frames into responses: read the wire bytes → validate → engine → encode.
///
/// Owned by the I/O thread; all of its scratch space (hashed features, scores, the response's
/// ranked actions, the id table) is reused from one request to the next.
public final class RequestProcessor {
    public let limits: ServerLimits
    private let loops: LoopDirectory
    private let loopNamesForErrors: String
    private let clock: EngineClock

    private var header = RequestHeader()
    private var rankView = RankView()
    private var shared = HashedFeatures()
    /// The candidates' features: views of `hashedActions` or of `actionCache`'s entries, which
    /// stay unchanged until the request is answered (`candidateCount` of them).
    private let candidates: UnsafeMutablePointer<FeatureBlock>
    private var candidateCount = 0
    /// Where actions not found in `actionCache` are hashed, one per candidate position.
    private var hashedActions: [HashedFeatures] = []
    /// Request indices of the actions hashed in this request, kept in the cache once it is
    /// answered (not as they come: that could replace an entry another candidate is a view of).
    private let actionsToKeep: UnsafeMutablePointer<(requestIndex: Int, position: Int)>
    private var actionsToKeepCount = 0
    private let actionCache: ActionFeatureCache
    // Per-request scratch of at most `limits.maxActionsPerRank` entries, in raw memory: an
    // array would check its uniqueness on every write.
    /// The request index of each candidate.
    private let candidateRequestIndex: UnsafeMutablePointer<Int>
    /// The cache entry each candidate was found in (slot -1: hashed in this request).
    private let candidateEntries: UnsafeMutablePointer<ActionFeatureCache.EntryReference>
    /// By request index.
    private let isExcluded: UnsafeMutablePointer<Bool>
    /// The candidates other than the chosen one, in ranking order.
    private let order: UnsafeMutablePointer<Int>
    private let idTable = ActionIDTable()
    private var namespacesSeen = 0
    private var featuresSeen = 0
    private var idGenerator = EventIDGenerator()
    private let costs: UnsafeMutableBufferPointer<Double>
    /// The candidates' own parts of their scores (kept in the action cache per model).
    private let ownParts: UnsafeMutableBufferPointer<Float>
    private let probabilities: UnsafeMutableBufferPointer<Double>
    private let ranking: UnsafeMutablePointer<RankedEntry>
    private let generatedID: UnsafeMutablePointer<CChar>
    /// A Rank's probabilities in request order, for the log's export data.
    private let exportProbabilities: UnsafeMutableBufferPointer<Double>
    /// Actions whose features were found in the cache (tests).
    var actionCacheHits: Int { actionCache.hits }
    /// The last event submitted to a loop whose answers wait for the disk: the server holds the
    /// answer back until that event is durable. Read and cleared by the server after each frame.
    public var awaitingDurability: (producer: LoopProducer, ordinal: UInt64)?

    public convenience init(loops: [String: LearningLoop], limits: ServerLimits, clock: EngineClock = SystemClock()) {
        self.init(loops: loops, limits: limits, clock: clock, actionCacheSlots: ActionFeatureCache.defaultSlotCount)
    }

    /// - Parameter actionCacheSlots: actions whose hashed features are kept (0: none; tests).
    init(loops: [String: LearningLoop], limits: ServerLimits, clock: EngineClock, actionCacheSlots: Int) {
        actionCache = ActionFeatureCache(slotCount: actionCacheSlots)
        self.loops = LoopDirectory(loops)
        self.limits = limits
        self.clock = clock
        loopNamesForErrors = loops.keys.sorted().joined(separator: ", ")
        let maxActions = limits.maxActionsPerRank
        costs = .allocate(capacity: maxActions)
        candidates = .allocate(capacity: maxActions)
        actionsToKeep = .allocate(capacity: maxActions)
        candidateRequestIndex = .allocate(capacity: maxActions)
        candidateEntries = .allocate(capacity: maxActions)
        isExcluded = .allocate(capacity: maxActions)
        order = .allocate(capacity: maxActions)
        ownParts = .allocate(capacity: maxActions)
        probabilities = .allocate(capacity: maxActions)
        ranking = .allocate(capacity: maxActions)
        generatedID = .allocate(capacity: 64)
        exportProbabilities = .allocate(capacity: maxActions)
    }

    deinit {
        costs.deallocate()
        candidates.deallocate()
        actionsToKeep.deallocate()
        candidateRequestIndex.deallocate()
        candidateEntries.deallocate()
        isExcluded.deallocate()
        order.deallocate()
        ownParts.deallocate()
        probabilities.deallocate()
        ranking.deallocate()
        generatedID.deallocate()
        exportProbabilities.deallocate()
    }

    // MARK: dispatch

    /// Handles one request frame, appending one framed response to `output` unless it returns
    /// `.retryLater`.
    ///
    /// The frame is read straight from its bytes (`RequestWireReader`); a frame the reader
    /// declines is decoded by protobuf-c, which decides what is wrong with it.
    public func process(_ frame: UnsafeRawBufferPointer, into output: ByteBuffer) -> ProcessOutcome {
        if let call = RequestWireReader.read(frame, header: &header, into: &rankView, knownActions: actionCache) {
            return dispatch(call, frame: frame, into: output)
        }
        guard let request = personalizer__v1__request__unpack(
            nil, frame.count, frame.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else {
            writeError(id: 0, RequestError(.invalidArgument,
                "the frame (\(frame.count) bytes) is not a valid personalizer.v1.Request message"), into: output)
            return .done
        }
        defer { personalizer__v1__request__free_unpacked(request, nil) }
        let unpacked = request.pointee
        // The reader and protobuf-c agree on every frame (`WireReaderDifferential`), so a call
        // is only found here should they not: it is answered all the same.
        let call: RequestCall
        switch unpacked.call_case {
        case PERSONALIZER__V1__REQUEST__CALL_RANK:
            rankView.fill(from: unpacked.rank.pointee)
            call = .rank
        case PERSONALIZER__V1__REQUEST__CALL_REWARD:
            call = .reward(eventID: unpacked.reward.pointee.event_id.bytes, value: unpacked.reward.pointee.value)
        case PERSONALIZER__V1__REQUEST__CALL_ACTIVATE:
            call = .activate(eventID: unpacked.activate.pointee.event_id.bytes)
        case PERSONALIZER__V1__REQUEST__CALL_STATUS:
            call = .status
        default:
            // The loop, token and storage are checked first, as for a call.
            guard withAdmittedLoop(id: unpacked.id, loop: unpacked.loop.bytes, token: unpacked.token.bytes,
                                   isStatus: false, into: output, { _ in () }) != nil else { return .done }
            writeError(id: unpacked.id, RequestError(.invalidArgument,
                "the request has no call set (expected rank, reward, activate or status)"), into: output)
            return .done
        }
        header = RequestHeader(id: unpacked.id, loop: unpacked.loop.bytes, token: unpacked.token.bytes)
        return dispatch(call, frame: frame, into: output)
    }

    /// Answers `call`, whose request's fields are in `header` (and a Rank's in `rankView`).
    private func dispatch(_ call: RequestCall, frame: UnsafeRawBufferPointer, into output: ByteBuffer) -> ProcessOutcome {
        let id = header.id
        var isStatus = false
        if case .status = call { isStatus = true }
        let outcome = withAdmittedLoop(id: id, loop: header.loop, token: header.token, isStatus: isStatus,
                                       into: output) { loop -> ProcessOutcome in
            switch call {
            case .rank:
                return rank(id: id, loop: loop, frame: frame, into: output)
            case .reward(let eventID, let value):
                return reward(eventID: eventID, value: value, id: id, loop: loop, into: output)
            case .activate(let eventID):
                return activate(eventID: eventID, id: id, loop: loop, into: output)
            case .status:
                StatusResponseEncoder.write(id: id, report: StatusReport(loop.counters),
                                            storageError: loop.counters.currentStorageError, into: output)
                return .done
            }
        }
        return outcome ?? .done
    }

    /// Runs `body` with the loop a request names (borrowed, see `LoopDirectory`), once its token
    /// and the loop's storage allow the call; nil after answering with the error otherwise.
    @inline(__always)
    private func withAdmittedLoop<R>(id: UInt64, loop loopBytes: UnsafeRawBufferPointer, token: UnsafeRawBufferPointer,
                                     isStatus: Bool, into output: ByteBuffer, _ body: (LearningLoop) -> R) -> R? {
        let admitted: R?? = loops.withLoop(named: loopBytes) { loop in
            if let expected = loop.tokenBytes, !Self.constantTimeEquals(expected, token) {
                writeError(id: id, RequestError(.unauthenticated,
                    "loop \(loopBytes.quoted()) requires a token, and the request's is missing or wrong"), into: output)
                return nil
            }
            if !isStatus, loop.producer.answersWaitForDisk, let storageError = loop.producer.storageError {
                writeError(id: id, RequestError(.unavailable,
                    "loop \(loopBytes.quoted()) cannot make events durable right now (\(storageError)); try again later"),
                    into: output)
                return nil
            }
            return body(loop)
        }
        guard let admitted else {
            writeError(id: id, RequestError(.notFound,
                "no loop named \(loopBytes.quoted()) (loops: \(loopNamesForErrors))"), into: output)
            return nil
        }
        return admitted
    }

    /// The answer to a frame whose length prefix is over the limit (the connection closes after it).
    public func writeFrameTooLarge(length: UInt64, into output: ByteBuffer) {
        writeError(id: 0, RequestError(.resourceExhausted,
            "frame of \(length) bytes is larger than the limit of \(limits.maxFrameBytes) bytes; closing the connection"),
            into: output)
    }

    // MARK: Rank

    /// Ranks the request in `rankView`.
    private func rank(id: UInt64, loop: LearningLoop, frame: UnsafeRawBufferPointer,
                      into output: ByteBuffer) -> ProcessOutcome {
        do {
            try prepareRank()
        } catch {
            writeError(id: id, error, into: output)
            return .done
        }
        // Only now: keeping an action may replace a cache entry that a candidate is a view of.
        defer { keepHashedActions() }
        // The event id: the client's, or a new one.
        var eventIDBytes = rankView.eventID
        if eventIDBytes.count == 0 {
            let length = idGenerator.write(into: generatedID)
            eventIDBytes = UnsafeRawBufferPointer(start: generatedID, count: length)
        } else if eventIDBytes.count > limits.maxIdLength {
            writeError(id: id, RequestError(.invalidArgument,
                "rank: event id of \(eventIDBytes.count) bytes is longer than the limit of \(limits.maxIdLength)"),
                into: output)
            return .done
        }
        let now = clock.nowNanoseconds()
        let producer = loop.producer
        let eventDigest = EventIDDigest(eventIDBytes)
        if producer.isPending(eventDigest, now: now) {
            writeError(id: id, RequestError(.alreadyExists,
                "rank: event id \(eventIDBytes.quoted()) is still pending (its reward window has not closed)"),
                into: output)
            return .done
        }
        // The event's size is known before the decision: reserve its room in the ring first.
        let actionCount = rankView.actions.count
        let exportProbabilities = UnsafeMutableBufferPointer(rebasing: self.exportProbabilities[0..<actionCount])
        let export = producer.isLogging
            ? RankExportBytes(request: frame, chosenRequestIndex: 0, probabilities: UnsafeBufferPointer(exportProbabilities))
            : nil
        let count = candidateCount
        let sharedBlock = shared.unsafeBlock
        let actionBlocks = UnsafeBufferPointer(start: candidates, count: count)
        let eventBytes = LoopProducer.rankBytes(
            eventID: eventIDBytes,
            example: RankedExampleView(shared: sharedBlock, actions: actionBlocks, chosenIndex: 0, probability: 0,
                                       modelVersion: 0),
            export: export)
        guard eventBytes <= producer.maxEventBytes else {
            writeError(id: id, RequestError(.resourceExhausted,
                "rank: the event takes \(eventBytes) bytes, more than the loop's ring takes (\(producer.maxEventBytes))"),
                into: output)
            return .done
        }
        guard producer.reserve(bytes: eventBytes) else { return .retryLater(loop) }

        // Score, explore, sample.
        let costs = UnsafeMutableBufferPointer(rebasing: self.costs[0..<count])
        let probabilities = UnsafeMutableBufferPointer(rebasing: self.probabilities[0..<count])
        let ownParts = UnsafeMutableBufferPointer(rebasing: self.ownParts[0..<count])
        let modelVersion = producer.withSnapshot { snapshot in
            // Actions found in the cache bring their own parts, if this model scored them before.
            let model = snapshot.model
            for candidate in 0..<count {
                let entry = candidateEntries[candidate]
                ownParts[candidate] = entry.slot >= 0 ? actionCache.ownPart(entry, model: model.identity) : .nan
            }
            // Relative costs: exploration and the ranking below only compare costs.
            model.predictRelativeCosts(shared: sharedBlock, actions: actionBlocks, ownParts: ownParts, into: costs)
            for candidate in 0..<count where candidateEntries[candidate].slot >= 0 && !ownParts[candidate].isNaN {
                actionCache.keepOwnPart(candidateEntries[candidate], model: model.identity, ownParts[candidate])
            }
            loop.policy.exploration.probabilities(
                costs: UnsafeBufferPointer(costs), examplesLearned: model.examplesLearned, into: probabilities)
            return snapshot.version
        }
        let chosen = Sampling.sample(probabilities: UnsafeBufferPointer(probabilities),
                                     seed: Sampling.seed(eventID: eventIDBytes))

        // Ranking: the chosen action, the other candidates by probability (then predicted cost,
        // then request order), the excluded ones last with probability 0.
        var orderCount = 0
        for index in 0..<count where index != chosen {
            order[orderCount] = index
            orderCount += 1
        }
        let others = UnsafeMutableBufferPointer(start: order, count: orderCount)
        insertionSort(others) { a, b in
            if probabilities[a] != probabilities[b] { return probabilities[a] > probabilities[b] }
            if costs[a] != costs[b] { return costs[a] < costs[b] }
            return a < b
        }
        var position = 0
        func place(_ requestIndex: Int, _ probability: Double) {
            ranking[position] = RankedEntry(id: rankView.actions[requestIndex].id, probability: probability)
            position += 1
        }
        place(candidateRequestIndex[chosen], probabilities[chosen])
        for candidate in others { place(candidateRequestIndex[candidate], probabilities[candidate]) }
        for requestIndex in rankView.actions.indices where isExcluded[requestIndex] { place(requestIndex, 0) }

        let overCapacity = loop.counters.pendingEvents >= UInt64(loop.settings.maxPendingEvents)
        let example = RankedExampleView(shared: sharedBlock, actions: actionBlocks, chosenIndex: chosen,
                                        probability: probabilities[chosen], modelVersion: modelVersion)
        if var export {
            exportProbabilities.update(repeating: 0)
            for candidate in 0..<count { exportProbabilities[candidateRequestIndex[candidate]] = probabilities[candidate] }
            export.chosenRequestIndex = candidateRequestIndex[chosen]
            producer.submitRank(eventID: eventIDBytes, digest: eventDigest, size: eventBytes, time: now,
                                deferred: rankView.deferActivation, overCapacity: overCapacity, example: example,
                                export: export)
        } else {
            producer.submitRank(eventID: eventIDBytes, digest: eventDigest, size: eventBytes, time: now,
                                deferred: rankView.deferActivation, overCapacity: overCapacity, example: example,
                                export: nil)
        }
        noteSubmitted(to: producer)

        RankResponseEncoder.write(id: id, ranking: UnsafeBufferPointer(start: ranking, count: position),
                                  eventID: eventIDBytes, modelVersion: modelVersion, into: output)
        return .done
    }

    /// Validates the Rank in `rankView` and hashes its features into the scratch buffers.
    private func prepareRank() throws(RequestError) {
        let actionCount = rankView.actions.count
        guard actionCount > 0 else { throw RequestError(.invalidArgument, "rank: no actions given") }
        guard actionCount <= limits.maxActionsPerRank else {
            throw RequestError(.invalidArgument,
                "rank: \(actionCount) actions, more than the limit of \(limits.maxActionsPerRank)")
        }
        namespacesSeen = 0
        featuresSeen = 0
        idTable.reset(expecting: actionCount)
        for index in 0..<actionCount {
            let idBytes = rankView.actions[index].id
            guard idBytes.count > 0 else { throw RequestError(.invalidArgument, "rank: action \(index) has an empty id") }
            guard idBytes.count <= limits.maxIdLength else {
                throw RequestError(.invalidArgument,
                    "rank: action \(index) has an id of \(idBytes.count) bytes, longer than the limit of \(limits.maxIdLength)")
            }
            if let earlier = idTable.insert(idBytes) {
                throw RequestError(.invalidArgument,
                    "rank: duplicate action id \(idBytes.quoted()) (actions \(earlier) and \(index))")
            }
        }
        isExcluded.update(repeating: false, count: actionCount)
        for idBytes in rankView.excludedActionIDs {
            guard let actionIndex = idTable.index(of: idBytes) else {
                throw RequestError(.invalidArgument,
                    "rank: excluded action id \(idBytes.quoted()) is not one of the actions")
            }
            isExcluded[actionIndex] = true
        }

        shared.removeAll(keepingCapacity: true)
        // By position: iterating the array itself would retain its storage.
        for position in 0..<rankView.contextNamespaces.count {
            try hashNamespace(rankView.namespaces[rankView.contextNamespaces[position]], into: &shared, owner: "context")
        }

        candidateCount = 0
        actionsToKeepCount = 0
        for index in 0..<actionCount where !isExcluded[index] {
            if hashedActions.count == candidateCount { hashedActions.append(HashedFeatures()) }
            if let kept = keptFeatures(ofAction: index) {
                candidates[candidateCount] = kept
                candidateEntries[candidateCount] = actionCache.reference(rankView.actions[index].keptSlot)
            } else {
                candidateEntries[candidateCount] = ActionFeatureCache.EntryReference(slot: -1, generation: 0)
                let action = rankView.actions[index]
                hashedActions[candidateCount].removeAll(keepingCapacity: true)
                for namespaceIndex in rankView.namespaceRange(of: action) {
                    try hashNamespace(rankView.namespaces[namespaceIndex], into: &hashedActions[candidateCount],
                                      owner: "action \(action.id.quoted())")
                }
                candidates[candidateCount] = hashedActions[candidateCount].unsafeBlock
                actionsToKeep[actionsToKeepCount] = (index, candidateCount)
                actionsToKeepCount += 1
            }
            candidateRequestIndex[candidateCount] = index
            candidateCount += 1
        }
        guard candidateCount > 0 else {
            throw RequestError(.invalidArgument, "rank: every action is excluded")
        }
        // Excluded actions' features are not hashed, but they are checked all the same.
        for index in 0..<actionCount where isExcluded[index] {
            if rankView.actions[index].keptSlot >= 0 { RequestWireReader.readNamespaces(of: index, into: &rankView) }
            let action = rankView.actions[index]
            for namespaceIndex in rankView.namespaceRange(of: action) {
                try checkNamespace(rankView.namespaces[namespaceIndex], owner: "action \(action.id.quoted())")
            }
        }
    }

    /// The features of action `index` when it was found in the cache (validated and hashed
    /// then), counted against the request's limits; nil when it is new, or when it would pass a
    /// limit: its namespaces are then read, and the slow path counts them and names the place.
    @inline(__always)
    private func keptFeatures(ofAction index: Int) -> FeatureBlock? {
        let slot = rankView.actions[index].keptSlot
        guard slot >= 0 else { return nil }
        let (namespaceCount, featureCount) = actionCache.counts(slot)
        guard namespacesSeen + namespaceCount <= limits.maxNamespacesPerRank,
              featuresSeen + featureCount <= limits.maxFeaturesPerRank else {
            RequestWireReader.readNamespaces(of: index, into: &rankView)
            return nil
        }
        namespacesSeen += namespaceCount
        featuresSeen += featureCount
        return actionCache.block(slot)
    }

    /// Keeps the actions hashed in this request in the cache, for the next requests.
    private func keepHashedActions() {
        for (index, position) in UnsafeBufferPointer(start: actionsToKeep, count: actionsToKeepCount) {
            let action = rankView.actions[index]
            var featureCount = 0
            for namespaceIndex in rankView.namespaceRange(of: action) {
                featureCount += rankView.namespaces[namespaceIndex].featureCount
            }
            actionCache.keep(action.bytes, id: action.id, namespaceCount: action.namespaceCount,
                             featureCount: featureCount, features: hashedActions[position])
        }
    }

    private func hashNamespace(_ namespace: RankViewNamespace, into features: inout HashedFeatures,
                               owner: @autoclosure () -> String) throws(RequestError) {
        try countNamespace(namespace, owner: owner())
        features.beginNamespace(name: namespace.name)
        for featureIndex in rankView.featureRange(of: namespace) {
            let feature = rankView.features[featureIndex]
            switch feature.value {
            case .text:
                features.addText(name: feature.name, value: feature.text)
            case .number:
                try checkNumber(feature, namespace: namespace, owner: owner())
                features.addNumber(name: feature.name, value: feature.number)
            case .none:
                throw missingValue(feature, namespace: namespace, owner: owner())
            }
        }
    }

    private func checkNamespace(_ namespace: RankViewNamespace, owner: @autoclosure () -> String) throws(RequestError) {
        try countNamespace(namespace, owner: owner())
        for featureIndex in rankView.featureRange(of: namespace) {
            let feature = rankView.features[featureIndex]
            switch feature.value {
            case .text: break
            case .number: try checkNumber(feature, namespace: namespace, owner: owner())
            case .none: throw missingValue(feature, namespace: namespace, owner: owner())
            }
        }
    }

    private func countNamespace(_ namespace: RankViewNamespace, owner: @autoclosure () -> String) throws(RequestError) {
        namespacesSeen += 1
        featuresSeen += namespace.featureCount
        if namespacesSeen > limits.maxNamespacesPerRank {
            throw RequestError(.invalidArgument,
                "rank: more than the limit of \(limits.maxNamespacesPerRank) namespaces (at \(owner()))")
        }
        if featuresSeen > limits.maxFeaturesPerRank {
            throw RequestError(.invalidArgument,
                "rank: more than the limit of \(limits.maxFeaturesPerRank) features (at \(owner()))")
        }
    }

    private func checkNumber(_ feature: RankViewFeature, namespace: RankViewNamespace,
                             owner: @autoclosure () -> String) throws(RequestError) {
        let value = feature.number
        guard value.isFinite, Float(value).isFinite else {
            throw RequestError(.invalidArgument,
                "rank: feature \(feature.name.quoted()) in namespace \(namespace.name.quoted()) of \(owner()) "
                + "is \(value), not a finite number\(value.isFinite ? " in single-precision range" : "")")
        }
    }

    private func missingValue(_ feature: RankViewFeature, namespace: RankViewNamespace, owner: String) -> RequestError {
        RequestError(.invalidArgument,
            "rank: feature \(feature.name.quoted()) in namespace \(namespace.name.quoted()) of \(owner) has no value (set text or number)")
    }

    // MARK: Reward, Activate, Status

    private func reward(eventID eventIDBytes: UnsafeRawBufferPointer, value: Double, id: UInt64, loop: LearningLoop,
                        into output: ByteBuffer) -> ProcessOutcome {
        if let error = checkEventID(eventIDBytes, call: "reward") {
            writeError(id: id, error, into: output)
            return .done
        }
        guard value.isFinite else {
            writeError(id: id, RequestError(.invalidArgument,
                "reward: value \(value) for event \(eventIDBytes.quoted()) is not a finite number"), into: output)
            return .done
        }
        let producer = loop.producer
        guard producer.reserve(bytes: LoopProducer.rewardBytes(eventID: eventIDBytes)) else { return .retryLater(loop) }
        producer.submitReward(eventID: eventIDBytes, time: clock.nowNanoseconds(), value: value)
        noteSubmitted(to: producer)
        AcknowledgementEncoder.write(id: id, call: .reward, into: output)
        return .done
    }

    private func activate(eventID eventIDBytes: UnsafeRawBufferPointer, id: UInt64, loop: LearningLoop,
                          into output: ByteBuffer) -> ProcessOutcome {
        if let error = checkEventID(eventIDBytes, call: "activate") {
            writeError(id: id, error, into: output)
            return .done
        }
        let producer = loop.producer
        guard producer.reserve(bytes: LoopProducer.activateBytes(eventID: eventIDBytes)) else { return .retryLater(loop) }
        producer.submitActivate(eventID: eventIDBytes, time: clock.nowNanoseconds())
        noteSubmitted(to: producer)
        AcknowledgementEncoder.write(id: id, call: .activate, into: output)
        return .done
    }

    /// Compares every byte whatever the first difference, so timing tells nothing of the token.
    static func constantTimeEquals(_ expected: [UInt8], _ given: UnsafeRawBufferPointer) -> Bool {
        var difference = UInt8(truncatingIfNeeded: expected.count ^ given.count)
        for index in 0..<expected.count {
            difference |= expected[index] ^ (index < given.count ? given[index] : ~expected[index])
        }
        return difference == 0
    }

    /// Remembers an event whose answer must wait for the disk.
    private func noteSubmitted(to producer: LoopProducer) {
        if producer.answersWaitForDisk { awaitingDurability = (producer, producer.submittedEvents) }
    }

    private func checkEventID(_ bytes: UnsafeRawBufferPointer, call: String) -> RequestError? {
        if bytes.count == 0 { return RequestError(.invalidArgument, "\(call): event id is empty") }
        if bytes.count > limits.maxIdLength {
            return RequestError(.invalidArgument,
                "\(call): event id of \(bytes.count) bytes is longer than the limit of \(limits.maxIdLength)")
        }
        return nil
    }

    // MARK: encoding

    /// Answers with an error outside any request (id 0): refusing a connection, for instance.
    public func writeRefusal(_ error: RequestError, into output: ByteBuffer) {
        writeError(id: 0, error, into: output)
    }

    private func writeError(id: UInt64, _ error: RequestError, into output: ByteBuffer) {
        var message = error.message
        message.withUTF8 { utf8 in
            // protobuf-c wants a NUL-terminated string.
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: utf8.count + 1) { text in
                utf8.withMemoryRebound(to: CChar.self) { source in
                    _ = text.initialize(fromContentsOf: source)
                }
                text[utf8.count] = 0
                var errorMessage = Personalizer__V1__Error()
                personalizer__v1__error__init(&errorMessage)
                errorMessage.code = error.code.rawValue
                errorMessage.message = text.baseAddress
                withUnsafeMutablePointer(to: &errorMessage) { pointer in
                    var response = Personalizer__V1__Response()
                    personalizer__v1__response__init(&response)
                    response.id = id
                    response.result_case = PERSONALIZER__V1__RESPONSE__RESULT_ERROR
                    response.error = pointer
                    write(&response, into: output)
                }
            }
        }
    }

    /// Packs `response` behind its 4-byte big-endian length, straight into the output buffer.
    private func write(_ response: inout Personalizer__V1__Response, into output: ByteBuffer) {
        let size = personalizer__v1__response__get_packed_size(&response)
        let region = output.reserveWritable(FrameDecoder.headerSize + size)
        region.storeBytes(of: UInt32(size).bigEndian, as: UInt32.self)
        let body = (region.baseAddress! + FrameDecoder.headerSize).assumingMemoryBound(to: UInt8.self)
        let packed = personalizer__v1__response__pack(&response, body)
        output.commitWritten(FrameDecoder.headerSize + packed)
    }
}

/// Sorts a short array in place without allocating (rankings are at most a few hundred long).
@inline(__always)
private func insertionSort(_ values: UnsafeMutableBufferPointer<Int>, by isOrderedBefore: (Int, Int) -> Bool) {
    guard values.count > 1 else { return }
    for index in 1..<values.count {
        let value = values[index]
        var position = index
        while position > 0, isOrderedBefore(value, values[position - 1]) {
            values[position] = values[position - 1]
            position -= 1
        }
        values[position] = value
    }
}
