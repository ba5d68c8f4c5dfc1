/// Reader for IDX u8 label files (magic 0x00000801: one dimension, the count).
public enum IDXLabels {
    /// Reads all labels from `path` (nil or "-" = stdin; gzip or plain).
    /// Throws `DataError.countMismatch` if `expectedCount` is given and differs from the header.
    public static func read(path: String?, expectedCount: Int? = nil) throws -> [UInt8] {
        try read(source: openByteStream(path: path), expectedCount: expectedCount)
    }

    /// Reads all labels from `source` (already decompressed).
    public static func read(source: any ByteSource, name: String? = nil, expectedCount: Int? = nil) throws -> [UInt8] {
        // Reuse a caller's BufferedReader (keeps peeked bytes) unless a different name is wanted.
        let reader = (name == nil ? source as? BufferedReader : nil) ?? BufferedReader(source, name: name)
        let streamName = reader.name
        let count = try readIDXHeader(reader, expectedMagic: idxLabelsMagic)[0]
        if let expectedCount, expectedCount != count {
            throw DataError.countMismatch(name: streamName, declared: count, expected: expectedCount)
        }
        var labels: [UInt8] = []
        labels.reserveCapacity(min(count, 1 << 20))
        let chunk = 1 << 16
        var chunkBuffer = [UInt8](repeating: 0, count: chunk)
        while labels.count < count {
            let want = min(chunk, count - labels.count)
            let got = try chunkBuffer.withUnsafeMutableBytes { try reader.readUpTo(into: $0.baseAddress!, count: want) }
            labels.append(contentsOf: chunkBuffer[0..<got])
            if got < want {
                throw DataError.truncated(name: streamName, record: labels.count, got: 0, expected: 1)
            }
        }
        if try !reader.isAtEnd() { throw DataError.trailingData(name: streamName, declared: count) }
        return labels
    }
}
