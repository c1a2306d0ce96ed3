#if canImport(Glibc)
import Glibc
#endif

/// The few system calls the log makes that can fail for reasons outside the program (a full
/// disk, an I/O error). Tests swap in failing versions to check that no failure is silent.
public struct FileOperations: Sendable {
    public var write: @Sendable (_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int
    public var fsync: @Sendable (_ descriptor: Int32) -> Int32

    public init(write: @escaping @Sendable (Int32, UnsafeRawPointer, Int) -> Int,
                fsync: @escaping @Sendable (Int32) -> Int32) {
        self.write = write
        self.fsync = fsync
    }

    public static let system = FileOperations(
        write: { descriptor, bytes, count in Glibc.write(descriptor, bytes, count) },
        fsync: { descriptor in Glibc.fsync(descriptor) })
}

/// A failed file operation: what, where, and the system's reason.
public struct StorageError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public let code: Int32

    init(_ operation: String, path: String, code: Int32 = errno) {
        self.code = code
        description = "\(operation) \(path): \(String(cString: strerror(code)))"
    }

    init(message: String) {
        code = 0
        description = message
    }
}

enum Files {
    /// fsync on a directory, so a rename or a new file in it survives a crash.
    static func syncDirectory(_ path: String) throws(StorageError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { throw StorageError("opening directory", path: path) }
        defer { close(descriptor) }
        guard Glibc.fsync(descriptor) == 0 else { throw StorageError("syncing directory", path: path) }
    }

    static func makeDirectory(_ path: String) throws(StorageError) {
        var partial = ""
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            partial += partial.isEmpty && path.hasPrefix("/") ? "/" + component : (partial.isEmpty ? "" : "/") + component
            if partial.isEmpty || partial == "/" { continue }
            if mkdir(partial, 0o755) != 0 && errno != EEXIST {
                throw StorageError("creating directory", path: partial)
            }
        }
    }

    /// File names in a directory (no "." or "..").
    static func list(_ path: String) throws(StorageError) -> [String] {
        guard let directory = opendir(path) else { throw StorageError("listing", path: path) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func readAll(_ path: String) throws(StorageError) -> [UInt8] {
        try read(path, upTo: .max)
    }

    /// The first `limit` bytes of a file (all of it when shorter).
    static func read(_ path: String, upTo limit: Int) throws(StorageError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw StorageError("opening", path: path) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw StorageError("reading size of", path: path) }
        var bytes = [UInt8](repeating: 0, count: min(limit, Int(info.st_size)))
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw StorageError("reading", path: path)
            }
            if count == 0 { break }
            offset += count
        }
        if offset < bytes.count { bytes.removeLast(bytes.count - offset) }
        return bytes
    }

    static func size(_ path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }

    static func modificationTimeNanoseconds(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_mtim.tv_sec) * 1_000_000_000 + UInt64(info.st_mtim.tv_nsec)
    }
}
