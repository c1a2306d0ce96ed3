#if canImport(Glibc)
import Glibc
#endif

/// Hands a log segment's pages back to the kernel once an fsync has put them on disk.
///
/// The log is written once and read again only by recovery and export, so a synced page does
/// nothing in the page cache. Released, it is among the first the kernel gives to the next
/// writes; kept, every write takes a page the machine has never used, which on a virtual machine
/// also costs a fault in the host (measured here: about 1.2 ms of write time per MB into fresh
/// pages, 0.16 ms per MB with released ones reused). Nor does the log push other programs' files
/// out of the cache. Failures are ignored: the pages are then only kept a little longer.
struct SyncedPageRelease {
    /// How much of which file an fsync is about to make durable.
    struct Mark {
        fileprivate let device: UInt64
        fileprivate let inode: UInt64
        fileprivate let wholePageBytes: Int64
    }

    private var device: UInt64 = 0
    private var inode: UInt64 = 0
    private var releasedBytes: Int64 = 0
    private static let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))

    /// Taken just before an fsync of `descriptor`: its whole pages written so far, which that
    /// fsync makes durable. A partly filled last page stays cached, so the next write completes
    /// it without reading it back from disk.
    static func mark(_ descriptor: Int32) -> Mark? {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        let wholePages = Int64(info.st_size) / pageSize * pageSize
        return Mark(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), wholePageBytes: wholePages)
    }

    /// After the fsync succeeded: releases the pages up to `mark` not released before.
    mutating func release(_ descriptor: Int32, upTo mark: Mark) {
        if mark.device != device || mark.inode != inode {
            (device, inode, releasedBytes) = (mark.device, mark.inode, 0)
        }
        guard mark.wholePageBytes > releasedBytes else { return }
        _ = posix_fadvise(descriptor, off_t(releasedBytes), off_t(mark.wholePageBytes - releasedBytes),
                          POSIX_FADV_DONTNEED)
        releasedBytes = mark.wholePageBytes
    }

    /// A closed segment, just fsynced: all of its pages go.
    static func releaseAll(_ descriptor: Int32) {
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
    }
}
