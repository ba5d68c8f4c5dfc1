/// Streams class labels one at a time from an IDX u8 label file (magic 0x00000801) or a 1-D
/// NumPy `.npy` array of dtype `|u1`, `<i4` or `<i8` — the format is sniffed from the first bytes.
///
/// Only the header is read at init, so `count` can be compared with the images' count before any
/// record; then one label is read per image and `isAtEnd()` checks that nothing follows the last.
/// Reading allocates nothing.
public struct LabelStream {
    public enum Format: String, Sendable { case idx, npy }

    public let name: String
    public let format: Format
    /// Number of labels the header declares.
    public let count: Int
    /// Labels read so far (index of the next one).
    public private(set) var recordsRead = 0

    private let reader: BufferedReader
    /// Bytes per label: 1 (u8), 4 (i32) or 8 (i64), little-endian and signed unless 1.
    private let width: Int
    private var done = false

    /// Reads the header from `source` (already decompressed).
    public init(source: any ByteSource, name: String? = nil) throws {
        let reader = (name == nil ? source as? BufferedReader : nil) ?? BufferedReader(source, name: name)
        self.reader = reader
        self.name = reader.name
        if NPYHeader.hasMagic(try reader.peek(NPYHeader.magic.count)) {
            let h = try readNPYHeader(reader)
            switch h.descr {
            case "|u1": width = 1
            case "<i4": width = 4
            case "<i8": width = 8
            default:
                throw DataError.badNPY(name: reader.name, detail: "dtype '\(h.descr)' is not supported for labels: use '|u1', '<i4' or '<i8'" + npyDtypeHint(h.descr))
            }
            guard h.shape.count == 1 else {
                throw DataError.badNPY(name: reader.name, detail: "labels have shape \(h.shapeDescription): expected one dimension (N,)")
            }
            format = .npy
            count = h.shape[0]
        } else {
            format = .idx
            width = 1
            count = try readIDXHeader(reader, expectedMagic: idxLabelsMagic)[0]
        }
    }

    /// Opens `path` (nil or "-" = stdin; gzip detected automatically) and reads the header.
    public init(path: String?) throws {
        try self.init(source: openByteStream(path: path))
    }

    /// The next label, or nil once `count` labels have been read (the end is then checked as by
    /// `isAtEnd()`). Throws `DataError.truncated` naming the record if the stream ends early.
    public mutating func next() throws -> Int? {
        if done { return nil }
        if try isAtEnd() { return nil }
        var v: UInt64 = 0
        let ok = try withUnsafeMutableBytes(of: &v) { try reader.readExactly(into: $0.baseAddress!, count: width, record: recordsRead) }
        guard ok else { throw DataError.truncated(name: name, record: recordsRead, got: 0, expected: width) }
        recordsRead += 1
        let le = UInt64(littleEndian: v)
        switch width {
        case 1: return Int(le & 0xff)
        case 4: return Int(Int32(truncatingIfNeeded: le))
        default: return Int(truncatingIfNeeded: le)
        }
    }

    /// True when every declared label has been read; then no byte may follow
    /// (throws `DataError.trailingData` at the first extra byte).
    public mutating func isAtEnd() throws -> Bool {
        guard recordsRead == count else { return false }
        done = true
        if try !reader.isAtEnd() { throw DataError.trailingData(name: name, declared: count) }
        return true
    }
}
