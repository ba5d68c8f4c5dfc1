import CJemalloc

/// Bytes allocated by the calling thread, read from jemalloc's `thread.allocated` counter.
/// jemalloc is linked into every binary of the package (it replaces malloc process-wide), so this
/// counts Swift arrays, strings and class instances alike. Used by the zero-allocation tests.
public enum AllocationCounter {
    /// Total bytes the current thread has allocated so far (monotone), or nil without jemalloc.
    public static func threadAllocatedBytes() -> UInt64? {
        var value: UInt64 = 0
        var size = MemoryLayout<UInt64>.size
        let rc = "thread.allocated".withCString { name in
            mallctl(name, &value, &size, nil, 0)
        }
        return rc == 0 ? value : nil
    }

    /// Bytes allocated by the current thread while running `body`.
    public static func bytesAllocated(_ body: () throws -> Void) rethrows -> UInt64 {
        let before = threadAllocatedBytes() ?? 0
        try body()
        let after = threadAllocatedBytes() ?? 0
        return after &- before
    }
}
