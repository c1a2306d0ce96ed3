// The C math library and allocator: the Swift standard library has no exp/pow, and calloc
// gives a weight table whose untouched pages stay unallocated (a 2^18..2^30 table is mostly
// zeros for a long time).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) func expFloat(_ x: Float) -> Float { exp(x) }
@inline(__always) func powFloat(_ x: Float, _ y: Float) -> Float { pow(x, y) }

/// Zero-filled memory for `count` values of `T`; traps when the system refuses.
func allocateZeroed<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
    guard let raw = calloc(max(count, 1), MemoryLayout<T>.stride) else {
        fatalError("PersonalizerModel: cannot allocate \(count * MemoryLayout<T>.stride) bytes")
    }
    return raw.bindMemory(to: T.self, capacity: max(count, 1))
}

func freeZeroed<T>(_ pointer: UnsafeMutablePointer<T>) {
    free(UnsafeMutableRawPointer(pointer))
}
