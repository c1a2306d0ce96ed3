#if canImport(Glibc)
import Glibc
#endif

/// One request on the wire, oldest first (a connection's answers come in request order).
struct InFlight {
    var kind: ResponseKind
    var segment: Int32
    var requestID: UInt64
    var eventSequence: UInt64
    /// When the request was meant to go (open loop) or was put in the output (closed loop).
    var stamp: UInt64
}

/// Rewards waiting for their send time, oldest first. Grows by doubling (only while the backlog
/// is still building up), never shrinks.
struct RewardQueue {
    struct Entry {
        var eventSequence: UInt64
        var value: Double
        var due: UInt64
    }

    private var storage: UnsafeMutablePointer<Entry>
    private var capacity: Int
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(16, capacity)
        storage = .allocate(capacity: self.capacity)
    }

    func deallocate() { storage.deallocate() }

    var first: Entry? { count > 0 ? storage[head] : nil }

    mutating func push(_ entry: Entry) {
        if count == capacity { grow() }
        storage[(head + count) % capacity] = entry
        count += 1
    }

    mutating func removeFirst() {
        head = (head + 1) % capacity
        count -= 1
    }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<Entry>.allocate(capacity: capacity * 2)
        for index in 0..<count { larger[index] = storage[(head + index) % capacity] }
        storage.deallocate()
        storage = larger
        capacity *= 2
        head = 0
    }
}

/// One client connection: its templates, output and input buffers, the requests in flight and
/// the rewards still to send. Used by one worker thread only.
final class LoadConnection {
    let index: Int
    let descriptor: Int32
    let templates: TemplateSet
    let depth: Int
    let maxFrame: Int

    private let output: UnsafeMutableRawPointer
    private let outputCapacity: Int
    private var outputStart = 0
    private var outputEnd = 0

    private var input: UnsafeMutableRawPointer
    private var inputCapacity: Int
    private var inputStart = 0
    private var inputEnd = 0

    private let inFlight: UnsafeMutablePointer<InFlight>
    private var inFlightHead = 0
    private(set) var inFlightCount = 0

    var rewards = RewardQueue(capacity: 1024)
    private var requestSequence: UInt64 = 0
    private var eventSequence: UInt64 = 0
    /// Open loop: when the next primary call is due, and the spacing of this connection's calls.
    var nextIntended: UInt64 = 0
    var interval: UInt64 = 0
    var rng: SplitMix64
    private(set) var isOpen = true
    private(set) var closeReason: String?

    static let readChunk = 64 * 1024
    /// Replies longer than this are taken as a broken stream.
    static let maxReplyBytes = 64 * 1024 * 1024

    init(index: Int, descriptor: Int32, templates: TemplateSet, depth: Int, seed: UInt64) {
        self.index = index
        self.descriptor = descriptor
        self.templates = templates
        self.depth = depth
        maxFrame = templates.maxFrameBytes
        // Room for a full window of requests, but not more than ~1 MiB beyond one frame: the
        // sender flushes and goes on when a large window does not fit at once.
        outputCapacity = maxFrame * min(depth, max(1, (1 << 20) / max(1, maxFrame))) + maxFrame
        output = .allocate(byteCount: outputCapacity, alignment: 16)
        inputCapacity = 4 * Self.readChunk
        input = .allocate(byteCount: inputCapacity, alignment: 16)
        inFlight = .allocate(capacity: depth)
        rng = SplitMix64(seed: seed)
    }

    deinit {
        output.deallocate()
        input.deallocate()
        inFlight.deallocate()
        rewards.deallocate()
        if descriptor >= 0 { close(descriptor) }
    }

    var wantsWrite: Bool { outputEnd > outputStart }
    var canSend: Bool { isOpen && inFlightCount < depth }

    func markClosed(_ reason: String) {
        guard isOpen else { return }
        isOpen = false
        closeReason = reason
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    // MARK: sending

    /// Room for one more frame in the output buffer (moves unsent bytes to the front if needed).
    @inline(__always)
    private func hasRoomForFrame() -> Bool {
        if outputCapacity - outputEnd >= maxFrame { return true }
        if outputStart > 0 {
            let pending = outputEnd - outputStart
            output.copyMemory(from: output + outputStart, byteCount: pending)
            outputStart = 0
            outputEnd = pending
        }
        return outputCapacity - outputEnd >= maxFrame
    }

    @inline(__always)
    private func pushInFlight(_ entry: InFlight) {
        inFlight[(inFlightHead + inFlightCount) % depth] = entry
        inFlightCount += 1
    }

    /// Puts one Reward for a due entry into the output.
    @inline(__always)
    func appendReward(_ entry: RewardQueue.Entry, stamp: UInt64) {
        let id = RequestTemplate.requestID(sequence: requestSequence)
        requestSequence &+= 1
        outputEnd += templates.reward.write(to: output + outputEnd, requestID: id,
                                            eventSequence: entry.eventSequence, value: entry.value)
        pushInFlight(InFlight(kind: .reward, segment: 0, requestID: id, eventSequence: entry.eventSequence, stamp: stamp))
    }

    /// Puts one primary call (Rank or Status) into the output.
    @inline(__always)
    func appendPrimary(_ mix: CallMix, segments: Int, stamp: UInt64) {
        let id = RequestTemplate.requestID(sequence: requestSequence)
        requestSequence &+= 1
        if mix == .status {
            outputEnd += templates.status.write(to: output + outputEnd, requestID: id, eventSequence: 0, value: 0)
            pushInFlight(InFlight(kind: .status, segment: 0, requestID: id, eventSequence: 0, stamp: stamp))
            return
        }
        let segment = rng.next(below: segments)
        let event = eventSequence
        eventSequence &+= 1
        outputEnd += templates.rank[segment].write(to: output + outputEnd, requestID: id, eventSequence: event,
                                                   value: rng.nextUnit())
        pushInFlight(InFlight(kind: .rank, segment: Int32(segment), requestID: id, eventSequence: event, stamp: stamp))
    }

    /// Fills the window: due rewards first, then primary calls (closed loop: as many as the
    /// window takes; open loop: those whose intended time has come). Then writes what it can.
    func fill(now: UInt64, mix: CallMix, openLoop: Bool, segments: Int) {
        guard isOpen else { return }
        while inFlightCount < depth, hasRoomForFrame() {
            if let reward = rewards.first, reward.due <= now {
                rewards.removeFirst()
                appendReward(reward, stamp: openLoop ? reward.due : now)
                continue
            }
            if openLoop {
                guard nextIntended <= now else { break }
                appendPrimary(mix, segments: segments, stamp: nextIntended)
                nextIntended &+= interval
            } else {
                appendPrimary(mix, segments: segments, stamp: now)
            }
        }
        flush()
    }

    /// Writes as much of the output as the socket takes now.
    func flush() {
        while outputEnd > outputStart {
            let written = send(descriptor, output + outputStart, outputEnd - outputStart,
                               Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            if written > 0 {
                outputStart += written
                continue
            }
            if written < 0, errno == EINTR { continue }
            if written < 0, errno == EAGAIN || errno == EWOULDBLOCK { return }
            markClosed("send: \(errnoText())")
            return
        }
        outputStart = 0
        outputEnd = 0
    }

    /// When this connection next has something to send by the clock (UInt64.max: nothing).
    func nextDue(openLoop: Bool) -> UInt64 {
        guard isOpen, inFlightCount < depth else { return .max }
        var due = rewards.first?.due ?? .max
        if openLoop { due = min(due, nextIntended) }
        return due
    }

    // MARK: receiving

    /// Reads once (blocking up to the socket's receive timeout, or not at all) and hands every
    /// complete reply to `worker`. Returns false when nothing was read.
    @discardableResult
    func read(blocking: Bool, worker: LoadWorker) -> Bool {
        guard isOpen else { return false }
        if inputCapacity - inputEnd < Self.readChunk {
            let pending = inputEnd - inputStart
            if inputStart > 0 {
                input.copyMemory(from: input + inputStart, byteCount: pending)
                inputStart = 0
                inputEnd = pending
            }
            if inputCapacity - inputEnd < Self.readChunk { growInput(to: inputCapacity * 2) }
        }
        let count = recv(descriptor, input + inputEnd, inputCapacity - inputEnd, blocking ? 0 : Int32(MSG_DONTWAIT))
        if count > 0 {
            inputEnd += count
            processReplies(now: monotonicNanoseconds(), worker: worker)
            return true
        }
        if count == 0 {
            markClosed(inFlightCount > 0 ? "the server closed the connection with \(inFlightCount) requests unanswered"
                                         : "the server closed the connection")
            return false
        }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return false }
        markClosed("recv: \(errnoText())")
        return false
    }

    private func growInput(to capacity: Int) {
        let larger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        larger.copyMemory(from: input + inputStart, byteCount: inputEnd - inputStart)
        input.deallocate()
        input = larger
        inputEnd -= inputStart
        inputStart = 0
        inputCapacity = capacity
    }

    private func processReplies(now: UInt64, worker: LoadWorker) {
        while inputEnd - inputStart >= 4 {
            let length = Int(UInt32(bigEndian: (input + inputStart).loadUnaligned(as: UInt32.self)))
            guard length <= Self.maxReplyBytes else {
                worker.protocolError("a reply frame announces \(length) bytes; the stream is broken")
                markClosed("broken reply stream")
                return
            }
            if inputEnd - inputStart < 4 + length {
                // Make sure a large frame fits once the rest arrives.
                if 4 + length > inputCapacity - Self.readChunk { growInput(to: 4 + length + Self.readChunk) }
                break
            }
            let payload = UnsafeRawBufferPointer(start: input + inputStart + 4, count: length)
            inputStart += 4 + length
            guard inFlightCount > 0 else {
                worker.protocolError("a reply came with no request in flight")
                continue
            }
            let entry = inFlight[inFlightHead]
            inFlightHead = (inFlightHead + 1) % depth
            inFlightCount -= 1
            worker.complete(entry, payload: payload, frameBytes: 4 + length, now: now, on: self)
        }
        if inputStart == inputEnd {
            inputStart = 0
            inputEnd = 0
        }
    }
}
