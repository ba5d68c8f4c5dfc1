/// Streams CIFAR-10 binary records: each record is 1 label byte followed by 3072 pixel bytes
/// (3 × 32 × 32, channel-major: the 1024 red values, then green, then blue; each plane row-major).
///
/// The format has no header, so the record count is known only at the end of the stream. A stream
/// whose length is not a multiple of 3073 bytes ends with `DataError.truncated` naming the
/// zero-based index of the partial record and the bytes it got, e.g.
/// `<stdin>: record 7 is truncated (got 1000 of 3073 bytes)`. An empty stream is an error
/// (`DataError.emptyStream`), as an empty IDX stream is (its header is missing).
///
/// Holds one fixed record buffer allocated at init; reading a record allocates nothing.
/// The label byte is returned as is (0…9 in CIFAR-10); checking it against a model's classes
/// is the caller's job.
public struct CIFAR10Stream {
    public static let channels = 3
    public static let height = 32
    public static let width = 32
    /// 3 × 32 × 32 = 3072: pixel bytes per record, Floats per converted record.
    public static let pixelsPerImage = channels * height * width
    /// 1 + 3072 = 3073 bytes per record.
    public static let recordSize = 1 + pixelsPerImage

    /// Stream name used in errors.
    public let name: String
    /// Records read so far (index of the next record).
    public private(set) var recordsRead = 0

    private let reader: BufferedReader
    private let record: CIFARRecordBuffer
    private var done = false

    /// Wraps `source` (already decompressed; `openByteStream` handles gzip). Reads nothing yet.
    public init(source: any ByteSource, name: String? = nil) {
        // Reuse a caller's BufferedReader (keeps peeked bytes) unless a different name is wanted.
        let reader = (name == nil ? source as? BufferedReader : nil) ?? BufferedReader(source, name: name)
        self.reader = reader
        self.name = reader.name
        self.record = CIFARRecordBuffer(count: Self.recordSize)
    }

    /// Opens `path` (nil or "-" = stdin; gzip detected automatically).
    public init(path: String?) throws {
        self.init(source: try openByteStream(path: path))
    }

    /// Copies the next record's 3072 pixel bytes (C×H×W) into `pixels` and returns its label;
    /// nil at a clean end of stream (and on every later call). Throws `DataError.truncated`
    /// if the stream ends inside a record.
    public mutating func nextRaw(into pixels: UnsafeMutablePointer<UInt8>) throws -> Int? {
        guard let label = try readRecord() else { return nil }
        pixels.update(from: record.bytes + 1, count: Self.pixelsPerImage)
        return label
    }

    /// Reads the next record and writes 3072 Floats (byte / 255, in [0, 1], C×H×W order) into
    /// `pixels`; returns its label, or nil at a clean end. Same errors as `nextRaw(into:)`.
    public mutating func next(into pixels: UnsafeMutablePointer<Float>) throws -> Int? {
        guard let label = try readRecord() else { return nil }
        let src = record.bytes + 1
        for i in 0..<Self.pixelsPerImage {
            pixels[i] = Float(src[i]) / 255
        }
        return label
    }

    /// True when no byte remains (the records end cleanly); throws `DataError.emptyStream` if the
    /// stream never held a byte.
    public mutating func isAtEnd() throws -> Bool {
        guard try reader.isAtEnd() else { return false }
        if recordsRead == 0 { throw DataError.emptyStream(name: name) }
        return true
    }

    /// Fills the record buffer; returns the label byte or nil at a clean end.
    private mutating func readRecord() throws -> Int? {
        if done { return nil }
        let got = try reader.readUpTo(into: record.bytes, count: Self.recordSize)
        if got == Self.recordSize {
            recordsRead += 1
            return Int(record.bytes[0])
        }
        done = true
        if got == 0 {
            if recordsRead == 0 { throw DataError.emptyStream(name: name) }
            return nil
        }
        throw DataError.truncated(name: name, record: recordsRead, got: got, expected: Self.recordSize)
    }
}

/// Owns the fixed record buffer of a `CIFAR10Stream`.
private final class CIFARRecordBuffer {
    let bytes: UnsafeMutablePointer<UInt8>
    init(count: Int) {
        bytes = .allocate(capacity: count)
        bytes.initialize(repeating: 0, count: count)
    }
    deinit { bytes.deallocate() }
}
