/// A pull-based stream of bytes.
public protocol ByteSource {
    /// Reads up to `buffer.count` bytes into `buffer` and returns how many were read.
    /// Returns 0 only at the end of the stream (or when `buffer` is empty); may return fewer bytes than asked.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int

    /// Name used in error messages (a path, or "<stdin>").
    var name: String { get }
}

extension ByteSource {
    public var name: String { "<stream>" }
}
