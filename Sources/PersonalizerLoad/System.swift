#if canImport(Glibc)
import Glibc
#endif

/// The few system calls the load generator makes, each with its error as text.
public struct LoadError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}

func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

func timespecFrom(nanoseconds: UInt64) -> timespec {
    timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
}

/// Sleeps until a monotonic time.
func sleep(untilNanoseconds deadline: UInt64) {
    var target = timespecFrom(nanoseconds: deadline)
    while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
}

enum UnixSocket {
    /// A connected, blocking stream socket whose blocking reads give up after `receiveTimeout`
    /// seconds (non-blocking calls pass MSG_DONTWAIT).
    static func connect(path: String, receiveTimeout: Double) throws(LoadError) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw LoadError("socket: \(errnoText())") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw LoadError("socket path too long (\(pathBytes.count) bytes): \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = errnoText()
            close(descriptor)
            throw LoadError("cannot connect to \(path): \(reason)")
        }
        var timeout = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - receiveTimeout.rounded(.down)) * 1e6))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return descriptor
    }

    /// Writes all of `bytes` (blocking).
    static func sendAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

/// Resident memory of a process in KiB (`VmRSS` of /proc/PID/status), or nil.
public func residentKilobytes(pid: Int32) -> Int? {
    let descriptor = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: 8192)
    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
    guard count > 0 else { return nil }
    let text = String(decoding: buffer[0..<count], as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
    }
    return nil
}

/// Runs `body` on a new POSIX thread.
final class PosixThread {
    private var thread = pthread_t()
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    init(_ body: @escaping () -> Void) throws(LoadError) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let status = pthread_create(&thread, nil, { argument in
            Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw LoadError("pthread_create: \(errnoText(status))")
        }
    }

    func join() { pthread_join(thread, nil) }
}

/// `ppoll` and `prctl` are not in Swift's Glibc module (they need `_GNU_SOURCE`); they are
/// looked up once in the C library instead of adding a C target for two declarations.
enum GNU {
    typealias PPoll = @convention(c) (UnsafeMutablePointer<pollfd>?, nfds_t, UnsafePointer<timespec>?, UnsafeRawPointer?) -> Int32
    typealias PRCtl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32

    static let ppoll: PPoll = unsafeBitCast(dlsym(nil, "ppoll")!, to: PPoll.self)
    static let prctl: PRCtl? = dlsym(nil, "prctl").map { unsafeBitCast($0, to: PRCtl.self) }

    /// Lets this thread's timed waits end within `nanoseconds` of their deadline (default 50 µs).
    static func setTimerSlack(nanoseconds: UInt) {
        let setTimerSlack: Int32 = 29  // PR_SET_TIMERSLACK
        _ = prctl?(setTimerSlack, nanoseconds, 0, 0, 0)
    }
}

/// CPU time a process has used, in nanoseconds: all its threads, and its main thread alone
/// (personalizerd's I/O thread is its main thread). From /proc/PID/task/*/schedstat.
public struct ProcessCPU: Sendable, Equatable {
    public var total: UInt64 = 0
    public var mainThread: UInt64 = 0

    public init() {}

    public static func read(pid: Int32) -> ProcessCPU? {
        guard let directory = opendir("/proc/\(pid)/task") else { return nil }
        defer { closedir(directory) }
        var cpu = ProcessCPU()
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let tid = Int32(name), let nanoseconds = schedstatRunTime("/proc/\(pid)/task/\(tid)/schedstat") else { continue }
            cpu.total += nanoseconds
            if tid == pid { cpu.mainThread = nanoseconds }
        }
        return cpu
    }

    /// This process's own user + system time.
    public static func own() -> UInt64 {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let user = UInt64(usage.ru_utime.tv_sec) * 1_000_000_000 + UInt64(usage.ru_utime.tv_usec) * 1000
        let system = UInt64(usage.ru_stime.tv_sec) * 1_000_000_000 + UInt64(usage.ru_stime.tv_usec) * 1000
        return user + system
    }

    static func schedstatRunTime(_ path: String) -> UInt64? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return UInt64(String(decoding: buffer[0..<count].prefix(while: { $0 != 0x20 }), as: UTF8.self))
    }
}
