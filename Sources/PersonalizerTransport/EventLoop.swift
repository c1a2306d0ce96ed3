import CLibUV
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The I/O thread's libuv loop. Everything reachable from it (listener, connections, handlers)
/// belongs to the thread that calls `run()`; the only way in from other threads is `waker`.
public final class EventLoop {
    let raw: UnsafeMutablePointer<uv_loop_t>
    private let async: UnsafeMutablePointer<uv_async_t>
    private var wakeHandlers: [() -> Void] = []
    private var signalHandles: [UnsafeMutablePointer<uv_signal_t>] = []
    private var signalHandler: ((Int32) -> Void)?
    private var tickers: [Ticker] = []
    /// Runs deferred work at the start of the next iteration, before the loop polls (`uv_idle`:
    /// while it is active the poll does not block, so new I/O still gets its turn in between).
    private let nextTurn: UnsafeMutablePointer<uv_idle_t>
    private var deferred: [NextTurnWork] = []
    private var running: [NextTurnWork] = []
    private lazy var closer = HandleCloser(loop: self)
    /// Every connection reads into this when it holds no bytes of its own (see `Connection`):
    /// one read callback runs at a time, and nothing of it is kept after the callback.
    let sharedReadBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Connection.readChunk, alignment: 16)
    private var closed = false
    private var handlesClosed = false

    public init() throws(TransportError) {
        raw = .allocate(capacity: 1)
        try UVError.check(uv_loop_init(raw), "initializing the event loop")
        async = .allocate(capacity: 1)
        try UVError.check(uv_async_init(raw, async, eventLoopWoken), "creating the loop's wake-up handle")
        nextTurn = .allocate(capacity: 1)
        try UVError.check(uv_idle_init(raw, nextTurn), "creating the loop's next-turn handle")
        raw.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        precondition(closed, "EventLoop released without close()")
        raw.deallocate()
        sharedReadBuffer.deallocate()
    }

    /// A handle other threads may use to make the loop run its wake handlers.
    public var waker: LoopWaker { LoopWaker(async: async) }

    /// Runs `handler` on the loop thread after any `waker.wake()` (wake-ups coalesce).
    public func onWake(_ handler: @escaping () -> Void) { wakeHandlers.append(handler) }

    /// Calls `handler` on the loop thread when one of `signals` arrives.
    public func onSignals(_ signals: [Int32], _ handler: @escaping (Int32) -> Void) throws(TransportError) {
        signalHandler = handler
        for number in signals {
            let handle = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
            try UVError.check(uv_signal_init(raw, handle), "watching signal \(number)")
            handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
            try UVError.check(uv_signal_start(handle, signalArrived, number), "watching signal \(number)")
            signalHandles.append(handle)
        }
    }

    /// Calls `handler` on the loop thread about every `milliseconds` (it does not keep the loop
    /// alive).
    ///
    /// A Dispatch timer wakes the loop through its async handle; no libuv timer is used. With a
    /// libuv timer pending, every poll that blocks hands epoll_wait a timeout, and the kernel
    /// arms and cancels a timer each time: on a one-request-at-a-time client pinned to the
    /// server's CPU that was about 1 µs of every round trip (Status p50 5.9 → 4.9 µs).
    public func every(milliseconds: UInt64, _ handler: @escaping () -> Void) {
        let ticker = Ticker(handler: handler, waker: waker)
        tickers.append(ticker)
        ticker.start(milliseconds: milliseconds)
    }

    /// Calls `work.runNextTurn()` at the start of the loop's next iteration. Work that used up its
    /// share of an iteration (a client with more frames than its budget, a burst of connections)
    /// continues there, after every other ready client has been served once.
    public func runNextTurn(_ work: NextTurnWork) {
        // After `closeLoopHandles()` there is no next iteration (and the handle is going away).
        guard !handlesClosed else { return }
        if deferred.isEmpty, running.isEmpty {
            uv_idle_start(nextTurn, nextTurnArrived)
        }
        deferred.append(work)
    }

    fileprivate func runDeferredWork() {
        swap(&running, &deferred)
        for work in running { work.runNextTurn() }
        running.removeAll(keepingCapacity: true)
        if deferred.isEmpty { uv_idle_stop(nextTurn) }
    }

    /// Closes a connection's handle: at once while fewer than `HandleCloser.closesPerTurn` were
    /// closed in this iteration, else in a later one. Closing costs two system calls (leaving
    /// epoll, closing the socket); when hundreds of clients hang up together, the clients still
    /// connected are answered in between.
    func close(_ handle: UnsafeMutablePointer<uv_handle_t>, then callback: @escaping uv_close_cb) {
        closer.close(handle, then: callback)
    }

    /// Monotonic milliseconds of the loop's current iteration (cheap: cached by libuv).
    public var nowMilliseconds: UInt64 { uv_now(raw) }

    /// Stops watching signals and wake-ups, so `run()` returns once the remaining handles close.
    public func closeLoopHandles() {
        for ticker in tickers { ticker.stop() }
        tickers.removeAll()
        for handle in signalHandles {
            uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self), freeClosedHandle)
        }
        signalHandles.removeAll()
        handlesClosed = true
        closer.closeEverythingNow()
        deferred.removeAll()
        if !uv_is_closing(UnsafeRawPointer(nextTurn).assumingMemoryBound(to: uv_handle_t.self)).toBool {
            uv_close(UnsafeMutableRawPointer(nextTurn).assumingMemoryBound(to: uv_handle_t.self), freeClosedHandle)
        }
        if !uv_is_closing(UnsafeRawPointer(async).assumingMemoryBound(to: uv_handle_t.self)).toBool {
            uv_close(UnsafeMutableRawPointer(async).assumingMemoryBound(to: uv_handle_t.self), freeClosedHandle)
        }
    }

    /// Runs until no handle is active. Returns after `closeLoopHandles()` and every connection
    /// and listener has closed.
    public func run() {
        uv_run(raw, UV_RUN_DEFAULT)
    }

    /// Releases the loop's resources; call after `run()` returned.
    public func close() {
        guard !closed else { return }
        // Let close callbacks that are still due run, then free the loop.
        uv_run(raw, UV_RUN_NOWAIT)
        uv_loop_close(raw)
        closed = true
    }

    fileprivate func runWakeHandlers() {
        for ticker in tickers where ticker.takeDue() { ticker.handler() }
        for handler in wakeHandlers { handler() }
    }
    fileprivate func deliver(signal: Int32) { signalHandler?(signal) }
}

extension Int32 {
    fileprivate var toBool: Bool { self != 0 }
}

/// Work an `EventLoop` continues on its next iteration (see `runNextTurn`).
public protocol NextTurnWork: AnyObject {
    func runNextTurn()
}

/// Closes handles, at most `closesPerTurn` per iteration of the loop; the rest wait in order.
private final class HandleCloser: NextTurnWork {
    static let closesPerTurn = 32
    private unowned let loop: EventLoop
    private var closedThisTurn = 0
    private var waiting: [(handle: UnsafeMutablePointer<uv_handle_t>, callback: uv_close_cb)] = []
    private var nextWaiting = 0
    private var isScheduled = false
    /// Once the loop is shutting down there are no iterations to spread closes over.
    private var closesAtOnce = false

    init(loop: EventLoop) { self.loop = loop }

    func closeEverythingNow() {
        closesAtOnce = true
        for (handle, callback) in waiting[nextWaiting...] { uv_close(handle, callback) }
        waiting.removeAll()
        nextWaiting = 0
    }

    func close(_ handle: UnsafeMutablePointer<uv_handle_t>, then callback: @escaping uv_close_cb) {
        if closesAtOnce {
            uv_close(handle, callback)
            return
        }
        if closedThisTurn < Self.closesPerTurn, nextWaiting == waiting.count {
            closedThisTurn += 1
            uv_close(handle, callback)
        } else {
            waiting.append((handle, callback))
        }
        scheduleTurnEnd()
    }

    /// The count starts again in the next iteration, which also closes what waits.
    private func scheduleTurnEnd() {
        guard !isScheduled else { return }
        isScheduled = true
        loop.runNextTurn(self)
    }

    func runNextTurn() {
        isScheduled = false
        closedThisTurn = 0
        while closedThisTurn < Self.closesPerTurn, nextWaiting < waiting.count {
            let (handle, callback) = waiting[nextWaiting]
            nextWaiting += 1
            closedThisTurn += 1
            uv_close(handle, callback)
        }
        if nextWaiting == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            nextWaiting = 0
        }
        if closedThisTurn > 0 { scheduleTurnEnd() }
    }
}

/// One `EventLoop.every` registration: a Dispatch timer marks it due and wakes the loop, whose
/// wake-up callback runs the handler.
private final class Ticker: @unchecked Sendable {
    /// Loop thread only.
    let handler: () -> Void
    private let waker: LoopWaker
    private let isDue = Atomic<Bool>(false)
    /// False once the loop closes its handles: the async handle may be freed after that, so
    /// the timer must not touch it (a timer event may still be running when it is cancelled).
    private let isOpen = Mutex(true)
    private var source: DispatchSourceTimer?

    init(handler: @escaping () -> Void, waker: LoopWaker) {
        self.handler = handler
        self.waker = waker
    }

    func start(milliseconds: UInt64) {
        let source = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        let interval = DispatchTimeInterval.milliseconds(Int(milliseconds))
        source.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(Int(milliseconds / 10)))
        source.setEventHandler { [self] in
            isDue.store(true, ordering: .releasing)
            isOpen.withLock { if $0 { waker.wake() } }
        }
        source.resume()
        self.source = source
    }

    /// Whether the period has come round since the last call (loop thread).
    func takeDue() -> Bool {
        isDue.load(ordering: .relaxed) && isDue.exchange(false, ordering: .acquiring)
    }

    func stop() {
        isOpen.withLock { $0 = false }
        source?.cancel()
        source = nil
    }
}

/// Wakes an `EventLoop` from any thread (libuv's one thread-safe call). Calls coalesce.
public struct LoopWaker: @unchecked Sendable {
    fileprivate let async: UnsafeMutablePointer<uv_async_t>
    public func wake() { uv_async_send(async) }
}

private func eventLoopWoken(_ handle: UnsafeMutablePointer<uv_async_t>?) {
    guard let data = handle?.pointee.loop.pointee.data else { return }
    Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().runWakeHandlers()
}

private func nextTurnArrived(_ handle: UnsafeMutablePointer<uv_idle_t>?) {
    guard let data = handle?.pointee.loop.pointee.data else { return }
    Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().runDeferredWork()
}

private func signalArrived(_ handle: UnsafeMutablePointer<uv_signal_t>?, _ number: Int32) {
    guard let data = handle?.pointee.data else { return }
    Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().deliver(signal: number)
}

/// Close callback for handles allocated with `UnsafeMutablePointer.allocate` and owned by nobody else.
func freeClosedHandle(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    if let handle { UnsafeMutableRawPointer(handle).deallocate() }
}
