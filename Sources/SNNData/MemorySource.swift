/// A `ByteSource` over an in-memory byte array (handy for tests and small inputs).
public struct MemorySource: ByteSource {
    public let name: String
    private let bytes: [UInt8]
    private var offset = 0
    /// At most this many bytes are returned per `read` call (to exercise short reads).
    public var maxChunk: Int

    public init(_ bytes: [UInt8], name: String = "<memory>", maxChunk: Int = .max) {
        self.bytes = bytes
        self.name = name
        self.maxChunk = max(1, maxChunk)
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset, maxChunk)
        guard n > 0, let dst = buffer.baseAddress else { return 0 }
        bytes.withUnsafeBytes { src in
            dst.copyMemory(from: src.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}
