/// Streams the records of an IDX u8 image file (magic 0x00000803: count × rows × cols).
///
/// Holds one fixed record buffer allocated at init; reading a record allocates nothing.
/// Records are numbered from 0 in errors.
public struct IDXImageStream {
    /// Stream name used in errors.
    public let name: String
    /// Number of records declared in the header.
    public let count: Int
    public let rows: Int
    public let cols: Int
    /// rows × cols: bytes per raw record, Floats per converted record.
    public let pixelsPerImage: Int
    /// Records read so far (index of the next record).
    public private(set) var recordsRead = 0

    private let reader: BufferedReader
    private let record: RecordBuffer
    private var done = false

    /// Largest accepted rows × cols (guards against absurd headers).
    public static let maxPixelsPerImage = 1 << 26

    /// Reads the header from `source`. If `expectedCount` is given and differs from the
    /// header's count, throws `DataError.countMismatch`.
    public init(source: any ByteSource, name: String? = nil, expectedCount: Int? = nil) throws {
        // Reuse a caller's BufferedReader (keeps peeked bytes) unless a different name is wanted.
        let reader = (name == nil ? source as? BufferedReader : nil) ?? BufferedReader(source, name: name)
        let streamName = reader.name
        let dims = try readIDXHeader(reader, expectedMagic: idxImagesMagic)
        let (count, rows, cols) = (dims[0], dims[1], dims[2])
        // each side checked first: two 32-bit sides can overflow Int in rows * cols
        guard rows > 0, cols > 0, rows <= Self.maxPixelsPerImage, cols <= Self.maxPixelsPerImage,
              rows * cols <= Self.maxPixelsPerImage else {
            throw DataError.unsupportedIDX(name: streamName, detail: "image size \(rows)x\(cols)")
        }
        if let expectedCount, expectedCount != count {
            throw DataError.countMismatch(name: streamName, declared: count, expected: expectedCount)
        }
        self.reader = reader
        self.name = streamName
        self.count = count
        self.rows = rows
        self.cols = cols
        self.pixelsPerImage = rows * cols
        self.record = RecordBuffer(count: rows * cols)
    }

    /// Opens `path` (nil or "-" = stdin; gzip detected automatically) and reads the header.
    public init(path: String?, expectedCount: Int? = nil) throws {
        try self.init(source: openByteStream(path: path), expectedCount: expectedCount)
    }

    /// True when all `count` records have been read; then no byte may follow
    /// (throws `DataError.trailingData` at the first extra byte).
    public mutating func isAtEnd() throws -> Bool {
        guard recordsRead == count else { return false }
        done = true
        if try !reader.isAtEnd() { throw DataError.trailingData(name: name, declared: count) }
        return true
    }

    /// Copies the next record's `pixelsPerImage` bytes into `pixels`.
    /// Returns false after exactly `count` records; throws if a record is truncated,
    /// the stream ends early, or bytes follow the last declared record.
    public mutating func nextRaw(into pixels: UnsafeMutablePointer<UInt8>) throws -> Bool {
        if done { return false }
        if try isAtEnd() { return false }
        let ok = try reader.readExactly(into: pixels, count: pixelsPerImage, record: recordsRead)
        guard ok else {
            throw DataError.truncated(name: name, record: recordsRead, got: 0, expected: pixelsPerImage)
        }
        recordsRead += 1
        return true
    }

    /// Reads the next record and writes `pixelsPerImage` Floats (byte / 255, in [0, 1]) into `pixels`.
    /// Same end/error behaviour as `nextRaw(into:)`.
    public mutating func next(into pixels: UnsafeMutablePointer<Float>) throws -> Bool {
        let raw = record.bytes
        guard try nextRaw(into: raw) else { return false }
        for i in 0..<pixelsPerImage {
            pixels[i] = Float(raw[i]) / 255
        }
        return true
    }
}

/// Owns the fixed u8 record buffer of an `IDXImageStream`.
private final class RecordBuffer {
    let bytes: UnsafeMutablePointer<UInt8>
    init(count: Int) {
        bytes = .allocate(capacity: count)
        bytes.initialize(repeating: 0, count: count)
    }
    deinit { bytes.deallocate() }
}
