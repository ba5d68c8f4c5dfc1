/// Axis order of a 4-D .npy image array.
public enum NPYLayout: String, CaseIterable, Sendable {
    /// N × H × W × C (channels last, as PIL / TensorFlow arrays are).
    case nhwc
    /// N × C × H × W (channels first, as PyTorch tensors are).
    case nchw
}

/// Streams the images of a NumPy `.npy` array record by record (never the whole array).
///
/// Accepted: format versions 1.0, 2.0 and 3.0; dtype `|u1` (uint8, delivered like IDX bytes) or
/// `<f4` (float32, each value finite and in [0, 1]); C order; shape N×H×W (one channel),
/// N×H×W×C or N×C×H×W. For 4-D arrays `layout` nil decides from the sizes: a channel axis has at
/// most 4 entries, so N×C×H×W when only axis 1 is ≤ 4 and N×H×W×C when only axis 3 is; anything
/// else is ambiguous and needs the layout stated. Records are delivered channel-major (C×H×W)
/// whatever the layout. Holds one fixed record buffer allocated at init; reading allocates nothing.
public struct NPYImageStream {
    public let name: String
    /// N, the number of records the shape declares.
    public let count: Int
    public let channels: Int
    public let height: Int
    public let width: Int
    /// The axis order of the data (`.nchw` for 3-D arrays).
    public let layout: NPYLayout
    /// uint8 or float32.
    public let valueType: ImageValueType
    /// The parsed header.
    public let header: NPYHeader
    /// Records read so far (index of the next record).
    public private(set) var recordsRead = 0

    private let reader: BufferedReader
    private let record: NPYRecordBuffer
    private let recordBytes: Int
    private var done = false

    /// Largest accepted C × H × W.
    public static let maxValuesPerImage = 1 << 26

    /// Reads and checks the header from `source` (already decompressed).
    public init(source: any ByteSource, name: String? = nil, layout: NPYLayout? = nil) throws {
        let reader = (name == nil ? source as? BufferedReader : nil) ?? BufferedReader(source, name: name)
        let streamName = reader.name
        let h = try readNPYHeader(reader)
        func bad(_ detail: String) -> DataError { .badNPY(name: streamName, detail: detail) }
        switch h.descr {
        case "|u1": valueType = .uint8
        case "<f4": valueType = .float32
        default: throw bad("dtype '\(h.descr)' is not supported for images: use '|u1' (uint8) or '<f4' (float32)" + npyDtypeHint(h.descr))
        }
        guard !h.fortranOrder else { throw bad("fortran_order is True: only C-order arrays are read (np.ascontiguousarray)") }
        let s = h.shape
        let chosen: NPYLayout
        switch s.count {
        case 3:
            chosen = .nchw
            (channels, height, width) = (1, s[1], s[2])
        case 4:
            if let layout {
                chosen = layout
            } else if s[1] <= 4 && s[3] > 4 {
                chosen = .nchw
            } else if s[3] <= 4 && s[1] > 4 {
                chosen = .nhwc
            } else {
                throw bad("the layout of shape \(h.shapeDescription) is ambiguous: state it (nhwc or nchw)")
            }
            (channels, height, width) = chosen == .nchw ? (s[1], s[2], s[3]) : (s[3], s[1], s[2])
        default:
            throw bad("shape \(h.shapeDescription) has \(s.count) dimensions: expected N×H×W, N×H×W×C or N×C×H×W")
        }
        let (hw, o1) = height.multipliedReportingOverflow(by: width)
        let (per, o2) = channels.multipliedReportingOverflow(by: hw)
        guard channels > 0, height > 0, width > 0, !o1, !o2, per <= Self.maxValuesPerImage else {
            throw bad("image shape \(h.shapeDescription) has an empty or too large image")
        }
        self.layout = chosen
        self.header = h
        self.reader = reader
        self.name = streamName
        self.count = s[0]
        self.recordBytes = per * (valueType == .float32 ? 4 : 1)
        self.record = NPYRecordBuffer(byteCount: recordBytes)
    }

    /// Opens `path` (nil or "-" = stdin; gzip detected automatically) and reads the header.
    public init(path: String?, layout: NPYLayout? = nil) throws {
        try self.init(source: openByteStream(path: path), layout: layout)
    }

    public var pixelsPerImage: Int { channels * height * width }

    /// True when every declared record has been read; then no byte may follow
    /// (throws `DataError.trailingData` at the first extra byte).
    public mutating func isAtEnd() throws -> Bool {
        guard recordsRead == count else { return false }
        done = true
        if try !reader.isAtEnd() { throw DataError.trailingData(name: name, declared: count) }
        return true
    }

    /// Reads the next record's bytes into the record buffer; false after `count` records.
    private mutating func readRecord() throws -> Bool {
        if done { return false }
        if try isAtEnd() { return false }
        let ok = try reader.readExactly(into: record.bytes, count: recordBytes, record: recordsRead)
        guard ok else { throw DataError.truncated(name: name, record: recordsRead, got: 0, expected: recordBytes) }
        recordsRead += 1
        return true
    }

    /// Copies the next uint8 record into `pixels` (C×H×W). Returns false after exactly `count`
    /// records; throws if a record is truncated or bytes follow the last one. Float32 arrays have no
    /// raw bytes: use `next(into:)`.
    public mutating func nextRaw(into pixels: UnsafeMutablePointer<UInt8>) throws -> Bool {
        guard valueType == .uint8 else {
            throw DataError.badNPY(name: name, detail: "float32 records are read as floats, not bytes")
        }
        guard try readRecord() else { return false }
        let src = record.bytes
        if layout == .nchw || channels == 1 {
            pixels.update(from: src, count: recordBytes)
        } else {
            let hw = height * width, c = channels
            for p in 0..<hw { for ch in 0..<c { pixels[ch * hw + p] = src[p * c + ch] } }
        }
        return true
    }

    /// Writes the next record as C×H×W Floats: uint8 bytes / 255, float32 values as stored (each
    /// must be finite and in [0, 1]: else `DataError.badPixel` naming the record).
    public mutating func next(into pixels: UnsafeMutablePointer<Float>) throws -> Bool {
        guard try readRecord() else { return false }
        let hw = height * width, c = channels
        let transpose = layout == .nhwc && c > 1
        if valueType == .uint8 {
            let src = record.bytes
            for i in 0..<pixelsPerImage {
                let dst = transpose ? (i % c) * hw + i / c : i
                pixels[dst] = Float(src[i]) / 255
            }
            return true
        }
        let src = UnsafeRawPointer(record.bytes)
        for i in 0..<pixelsPerImage {
            // little-endian on every supported host (x86-64, arm64)
            let v = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            guard v >= 0 && v <= 1 else {
                throw DataError.badPixel(name: name, record: recordsRead - 1, position: i, value: v)
            }
            pixels[transpose ? (i % c) * hw + i / c : i] = v
        }
        return true
    }
}

/// Owns the fixed record buffer of an `NPYImageStream`.
private final class NPYRecordBuffer {
    let bytes: UnsafeMutablePointer<UInt8>
    init(byteCount: Int) {
        bytes = .allocate(capacity: max(byteCount, 1))
        bytes.initialize(repeating: 0, count: max(byteCount, 1))
    }
    deinit { bytes.deallocate() }
}
