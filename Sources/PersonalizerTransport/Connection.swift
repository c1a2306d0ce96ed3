import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// What the protocol layer does with the frames of one connection. Called on the loop thread.
/// The handler must outlive every connection given to it (the server owns its listener and
/// its connections): connections hold it without a reference count, since each frame would
/// otherwise pay for one.
public protocol ConnectionHandler: AnyObject {
    /// One whole frame's payload (valid only during the call). Responses are appended to
    /// `connection.output`; they are written when the current batch of frames is done.
    func handleFrame(_ payload: UnsafeRawBufferPointer, on connection: Connection) -> FrameDisposition
    /// The peer announced a frame longer than the limit. The connection closes after this call
    /// and after whatever the handler wrote has been sent.
    func frameTooLarge(length: UInt64, on connection: Connection)
    func connectionDidClose(_ connection: Connection)
}

public enum FrameDisposition {
    /// Done with the frame.
    case consumed
    /// Cannot take the frame now (backpressure): keep it and every later byte unread, stop
    /// reading from the peer until `resume()`.
    case retryLater
}

/// One accepted client. Reads into a reused input buffer, hands whole frames to the handler
/// and writes all the responses of one read in one go: `uv_try_write` first, and `uv_write`
/// only for what the socket did not take (copied to `inFlight`, where they live until the write
/// callback). At most one `uv_write` is in flight.
///
/// Fairness: one read handles at most `framesPerTurn` frames. A client that pipelines more
/// (thousands of tiny frames in one write) stops being read, and its remaining frames wait for
/// the loop's next iteration, so every other ready client is served in between.
///
/// Lifetime: the connection retains itself while its libuv handle is open (`handle.data`) and
/// releases that reference in the close callback, after libuv has run any cancelled write callback.
/// So the read callbacks, which run before that, borrow the connection without retaining it.
public final class Connection: NextTurnWork {
    public let id: UInt64
    /// Responses not yet handed to the socket.
    public let output = ByteBuffer(capacity: 16 * 1024)
    /// Whatever the protocol layer wants to keep per connection.
    public var context: AnyObject?

    let handle: UnsafeMutablePointer<uv_pipe_t>
    private let writeRequest: UnsafeMutablePointer<uv_write_t>
    private let input = ByteBuffer(capacity: 64 * 1024)
    private let inFlight = ByteBuffer(capacity: 16 * 1024)
    private let decoder: FrameDecoder
    private unowned(unsafe) let handler: ConnectionHandler
    private unowned let eventLoop: EventLoop
    /// The loop's `sharedReadBuffer`, kept here so a read touches no reference count.
    private let sharedReadBuffer: UnsafeMutableRawBufferPointer
    private let framesPerTurn: Int

    /// When bytes last arrived (the loop's milliseconds).
    public private(set) var lastReadMilliseconds: UInt64 = 0
    /// Part of a frame has arrived and the rest has not.
    public var hasPartialFrame: Bool { !input.isEmpty && !isPaused && !isDeferred }
    public private(set) var isPaused = false
    /// Whole frames are waiting for the loop's next iteration (this turn's budget is spent).
    public private(set) var isDeferred = false
    public private(set) var isClosed = false
    private var isReading = false
    private var isWriting = false
    private var closeWhenFlushed = false
    private var readingStopped = false

    static let readChunk = 64 * 1024

    /// The peer's user id (SO_PEERCRED), or nil when the system does not say.
    public var peerUserID: UInt32? {
        var descriptor: uv_os_fd_t = -1
        guard uv_fileno(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self), &descriptor) == 0
        else { return nil }
        // Linux's `struct ucred` (only visible to C with _GNU_SOURCE): pid, uid, gid.
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0,
              length == socklen_t(MemoryLayout.size(ofValue: credentials)) else { return nil }
        return credentials.uid
    }

    init(id: UInt64, loop: EventLoop, decoder: FrameDecoder, framesPerTurn: Int,
         handler: ConnectionHandler) throws(TransportError) {
        precondition(framesPerTurn > 0)
        self.id = id
        self.decoder = decoder
        self.handler = handler
        self.eventLoop = loop
        self.sharedReadBuffer = loop.sharedReadBuffer
        self.framesPerTurn = framesPerTurn
        handle = .allocate(capacity: 1)
        writeRequest = .allocate(capacity: 1)
        let status = uv_pipe_init(loop.raw, handle, 0)
        guard status == 0 else {
            handle.deallocate()
            writeRequest.deallocate()
            throw TransportError("creating a connection handle", UVError(status))
        }
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    var stream: UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
    }

    func startReading() {
        guard !isClosed, !isReading, !isPaused, !isDeferred, !readingStopped else { return }
        let status = uv_read_start(stream, allocateReadBuffer, connectionDidRead)
        if status < 0 { close(); return }
        isReading = true
    }

    private func stopReadingFromPeer() {
        guard isReading else { return }
        uv_read_stop(stream)
        isReading = false
    }

    /// Stops reading new bytes for good (shutdown); frames already read are still answered.
    public func stopReading() {
        readingStopped = true
        stopReadingFromPeer()
        if !isPaused, !isDeferred { closeAfterFlush() }
    }

    /// Processes frames held back by backpressure, then reads from the peer again.
    public func resume() {
        guard isPaused, !isClosed else { return }
        isPaused = false
        continueWithHeldFrames()
    }

    public func runNextTurn() {
        guard isDeferred, !isClosed else { return }
        isDeferred = false
        continueWithHeldFrames()
    }

    private func continueWithHeldFrames() {
        processInput()
        if readingStopped, !isPaused, !isDeferred { closeAfterFlush() }
        startReading()
    }

    /// Where the next read goes: the loop's shared read buffer when this connection holds no
    /// bytes (frames are then handled straight from it, and only what is left over is copied
    /// here), else the end of its own input. So a read that brings whole frames, or only the end
    /// of the stream, needs no buffer of the connection's own.
    fileprivate func readBuffer() -> uv_buf_t {
        let region = input.isEmpty ? sharedReadBuffer : input.reserveWritable(Self.readChunk)
        return uv_buf_init(region.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(region.count))
    }

    fileprivate func didRead(_ count: Int) {
        if count > 0 {
            lastReadMilliseconds = uv_now(handle.pointee.loop)
            if input.isEmpty {  // the read went into the shared buffer (see `readBuffer`)
                let bytes = UnsafeRawBufferPointer(rebasing: sharedReadBuffer[0..<count])
                let used = handleFrames(in: bytes)
                // A partial frame, or frames held for later: they outlive this read.
                if used < count, !isClosed { input.append(UnsafeRawBufferPointer(rebasing: bytes[used...])) }
            } else {
                input.commitWritten(count)
                processInput()
            }
        } else if count < 0 {
            // End of stream or a reset: answer what was read completely, then close.
            stopReadingFromPeer()
            readingStopped = true
            if Int32(count) == UVError.endOfFile.code { closeAfterFlush() } else { close() }
        }
    }

    private func processInput() {
        let used = handleFrames(in: input.readableBytes)
        input.consume(used)
    }

    /// Hands the whole frames at the start of `bytes` to the handler, up to this turn's budget,
    /// then sends the answers. Returns how many bytes are done with (all of them after an
    /// oversized frame, which ends the connection).
    private func handleFrames(in bytes: UnsafeRawBufferPointer) -> Int {
        var used = 0
        var framesLeft = framesPerTurn
        let handler = self.handler  // one retain per batch of frames, not one per frame
        while !isClosed, !isPaused {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[used...])
            switch decoder.decode(rest) {
            case .frame(let offset, let count):
                if framesLeft == 0 {
                    isDeferred = true
                    stopReadingFromPeer()
                    eventLoop.runNextTurn(self)
                    flush()
                    return used
                }
                framesLeft -= 1
                let payload = UnsafeRawBufferPointer(rebasing: rest[offset..<(offset + count)])
                switch handler.handleFrame(payload, on: self) {
                case .consumed:
                    used += offset + count
                case .retryLater:
                    isPaused = true
                    stopReadingFromPeer()
                }
            case .needMoreBytes:
                flush()
                return used
            case .tooLarge(let length):
                handler.frameTooLarge(length: length, on: self)
                stopReadingFromPeer()
                readingStopped = true
                closeAfterFlush()
                return bytes.count
            }
        }
        flush()
        return used
    }

    /// Output bytes may be sent up to this stream position (see `outputPosition`), or all of
    /// them when nil. The server holds answers back with it (answers that wait for the disk).
    public var sendLimit: UInt64?
    /// Bytes taken out of `output` so far (sent, or handed to libuv).
    private var outputTaken: UInt64 = 0

    /// The stream position of the end of `output`: what `sendLimit` is measured in.
    public var outputPosition: UInt64 { outputTaken + UInt64(output.readableCount) }

    /// Starts reading (after the handler accepted the connection).
    public func start() { startReading() }

    /// Sends what `output` holds, up to `sendLimit`.
    public func flush() {
        guard !isClosed, !isWriting else { return }
        var sendable = output.readableCount
        if let sendLimit { sendable = min(sendable, Int(sendLimit &- min(sendLimit, outputTaken))) }
        guard sendable > 0 else {
            if closeWhenFlushed, output.isEmpty { close() }
            return
        }
        let bytes = UnsafeRawBufferPointer(rebasing: output.readableBytes[0..<sendable])
        var buffer = uv_buf_init(
            UnsafeMutableRawPointer(mutating: bytes.baseAddress!).assumingMemoryBound(to: CChar.self),
            UInt32(bytes.count))
        let written = uv_try_write(stream, &buffer, 1)
        if written < 0, written != Int32(UV_EAGAIN.rawValue) {
            close()
            return
        }
        let sent = max(0, Int(written))
        output.consume(sent)
        outputTaken += UInt64(sent)
        let rest = sendable - sent
        if rest == 0 {
            if closeWhenFlushed, output.isEmpty { close() }
            return
        }
        // The socket is full: copy the rest for libuv, which owns those bytes until the callback.
        inFlight.append(UnsafeRawBufferPointer(rebasing: output.readableBytes[0..<rest]))
        output.consume(rest)
        outputTaken += UInt64(rest)
        let pending = inFlight.readableBytes
        var remaining = uv_buf_init(
            UnsafeMutableRawPointer(mutating: pending.baseAddress!).assumingMemoryBound(to: CChar.self),
            UInt32(pending.count))
        let status = uv_write(writeRequest, stream, &remaining, 1, connectionDidWrite)
        if status < 0 { close(); return }
        isWriting = true
    }

    fileprivate func didWrite(status: Int32) {
        isWriting = false
        inFlight.clear()
        if status < 0 { close(); return }
        flush()
    }

    /// Gives back the buffers of a connection that has nothing in flight (an idle client holds no
    /// memory but its handle); they are allocated again at its next request.
    public func releaseIdleBuffers() {
        guard !isPaused, !isWriting, input.isEmpty, output.isEmpty else { return }
        input.shrinkIfIdle(to: 1)
        output.shrinkIfIdle(to: 1)
        inFlight.shrinkIfIdle(to: 1)
    }

    /// Output bytes accepted but not yet on the socket (slow readers hold memory here).
    public var unsentByteCount: Int { output.readableCount + inFlight.readableCount }

    /// Closes once everything written so far has been sent.
    public func closeAfterFlush() {
        closeWhenFlushed = true
        flush()
    }

    /// Closes now; unsent output is dropped.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        stopReadingFromPeer()
        eventLoop.close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self), then: connectionClosed)
    }

    fileprivate func finishClose() {
        handler.connectionDidClose(self)
        writeRequest.deallocate()
    }
}

private func allocateReadBuffer(
    _ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buffer: UnsafeMutablePointer<uv_buf_t>?
) {
    guard let handle, let buffer, let data = handle.pointee.data else { return }
    buffer.pointee = Unmanaged<Connection>.fromOpaque(data)._withUnsafeGuaranteedRef { $0.readBuffer() }
}

private func connectionDidRead(
    _ stream: UnsafeMutablePointer<uv_stream_t>?, _ count: Int, _ buffer: UnsafePointer<uv_buf_t>?
) {
    guard let data = stream?.pointee.data else { return }
    Unmanaged<Connection>.fromOpaque(data)._withUnsafeGuaranteedRef { $0.didRead(count) }
}

private func connectionDidWrite(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    guard let data = request?.pointee.handle.pointee.data else { return }
    Unmanaged<Connection>.fromOpaque(data).takeUnretainedValue().didWrite(status: status)
}

private func connectionClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let handle, let data = handle.pointee.data else { return }
    let connection = Unmanaged<Connection>.fromOpaque(data).takeRetainedValue()
    handle.pointee.data = nil
    connection.finishClose()
    UnsafeMutableRawPointer(handle).deallocate()
}
