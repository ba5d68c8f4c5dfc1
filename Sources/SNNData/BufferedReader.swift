/// A fixed-size read buffer over another `ByteSource`, with `peek` and exact reads.
///
/// The buffer is allocated once at init; no read allocates. Large reads bypass the
/// buffer and go straight from the underlying source into the caller's memory.
public final class BufferedReader: ByteSource {
    public let name: String
    private var base: any ByteSource
    private let storage: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var baseAtEnd = false

    /// Wraps `base`; `name` defaults to `base.name`. `capacity` bounds what `peek` can return.
    public init(_ base: any ByteSource, name: String? = nil, capacity: Int = 1 << 16) {
        self.base = base
        self.name = name ?? base.name
        self.storage = .allocate(byteCount: max(capacity, 16), alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Maximum number of bytes `peek` can return.
    public var capacity: Int { storage.count }

    private func readBase(_ dst: UnsafeMutableRawBufferPointer) throws -> Int {
        if baseAtEnd { return 0 }
        let n = try base.read(into: dst)
        if n == 0 { baseAtEnd = true }
        return n
    }

    /// Returns the next `min(count, capacity)` bytes without consuming them
    /// (fewer only at end of stream). The pointer is valid until the next call on this reader.
    public func peek(_ count: Int) throws -> UnsafeRawBufferPointer {
        let want = min(max(count, 0), storage.count)
        while end - start < want && !baseAtEnd {
            if storage.count - start < want {
                // Compact: move the buffered bytes to the front.
                let live = end - start
                if live > 0 { storage.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: live) }
                start = 0
                end = live
            }
            end += try readBase(UnsafeMutableRawBufferPointer(rebasing: storage[end...]))
        }
        return UnsafeRawBufferPointer(rebasing: storage[start..<min(end, start + want)])
    }

    /// True when no byte remains.
    public func isAtEnd() throws -> Bool {
        try peek(1).isEmpty
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let dst = buffer.baseAddress, buffer.count > 0 else { return 0 }
        if start == end {
            if buffer.count >= storage.count { return try readBase(buffer) }
            start = 0
            end = try readBase(storage)
            if end == 0 { return 0 }
        }
        let n = min(end - start, buffer.count)
        dst.copyMemory(from: storage.baseAddress! + start, byteCount: n)
        start += n
        return n
    }

    /// Reads until `count` bytes are copied to `dst` or the stream ends; returns the number copied.
    public func readUpTo(into dst: UnsafeMutableRawPointer, count: Int) throws -> Int {
        var done = 0
        while done < count {
            if start < end {
                let n = min(end - start, count - done)
                (dst + done).copyMemory(from: storage.baseAddress! + start, byteCount: n)
                start += n
                done += n
                continue
            }
            if baseAtEnd { break }
            let remaining = count - done
            if remaining >= storage.count {
                let n = try readBase(UnsafeMutableRawBufferPointer(start: dst + done, count: remaining))
                if n == 0 { break }
                done += n
            } else {
                start = 0
                end = try readBase(storage)
                if end == 0 { break }
            }
        }
        return done
    }

    /// Reads exactly `count` bytes into `dst`. Returns false only if the stream was already at
    /// its end (no byte read); throws `DataError.truncated` (naming `record`) if it ends part way.
    public func readExactly(into dst: UnsafeMutableRawPointer, count: Int, record: Int? = nil) throws -> Bool {
        let got = try readUpTo(into: dst, count: count)
        if got == count { return true }
        if got == 0 && count > 0 { return false }
        throw DataError.truncated(name: name, record: record, got: got, expected: count)
    }
}
