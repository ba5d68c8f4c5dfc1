/// One read from an `ImageStream`: whether an image was read, and its label when the format
/// carries labels (CIFAR-10) — nil for formats whose labels live elsewhere (IDX).
public typealias ImageRead = (available: Bool, label: Int?)

/// What one stored pixel value is.
public enum ImageValueType: Sendable {
    /// A byte; the pixel is byte / 255 (IDX, CIFAR-10, uint8 .npy).
    case uint8
    /// A float32 in [0, 1] (float32 .npy).
    case float32
}

/// A stream of images of one fixed shape, whatever the file format.
///
/// Pixels are delivered channel-major (C×H×W): raw bytes by `nextRawImage(into:)` (uint8 formats
/// only), or as Floats by `nextImage(into:)` (byte / 255, or the stored float32). Neither allocates.
public protocol ImageStream {
    /// Stream name used in errors (a path, or "<stdin>").
    var name: String { get }
    var format: ImageFormat { get }
    var channels: Int { get }
    var height: Int { get }
    var width: Int { get }
    /// channels × height × width.
    var pixelsPerImage: Int { get }
    /// Record count announced by the format before the data (IDX header), or nil when it is
    /// known only at the end (CIFAR-10).
    var declaredCount: Int? { get }
    /// True when each record carries its label (CIFAR-10); false when labels come from elsewhere.
    var hasLabels: Bool { get }
    /// How pixels are stored: `.uint8` streams deliver raw bytes, `.float32` ones only Floats.
    var valueType: ImageValueType { get }

    /// True when no record remains, with the end of the stream verified: for a declared count
    /// (IDX, .npy), true once that many records have been read and throws `DataError.trailingData`
    /// at the first byte after them; for CIFAR-10, true when no byte remains. Reading up to the
    /// end also drives gzip to its trailer, whose CRC-32 and length are checked. Reads at most a
    /// buffer's worth, so a stream stopped early (`--limit`) is answered at once.
    mutating func isAtEnd() throws -> Bool

    /// Copies the next image's `pixelsPerImage` bytes into `pixels`.
    /// `available` is false at the end of the stream (and on every later call).
    mutating func nextRawImage(into pixels: UnsafeMutablePointer<UInt8>) throws -> ImageRead
    /// Writes the next image as `pixelsPerImage` Floats (byte / 255) into `pixels`.
    mutating func nextImage(into pixels: UnsafeMutablePointer<Float>) throws -> ImageRead
}

extension ImageStream {
    public var pixelsPerImage: Int { channels * height * width }

    public var valueType: ImageValueType { .uint8 }

    /// "28×28" for one channel, "3×32×32" otherwise (used in size-mismatch messages).
    public var shapeDescription: String {
        channels == 1 ? "\(height)×\(width)" : "\(channels)×\(height)×\(width)"
    }
}

/// Image file formats read from a byte stream.
public enum ImageFormat: String, CaseIterable, Sendable {
    /// IDX u8 images (magic 0x00000803, count × rows × cols); labels in a separate IDX file.
    case idx
    /// CIFAR-10 binary records (1 label byte + 3 × 32 × 32 bytes, channel-major), no header.
    case cifar10
    /// A NumPy .npy array (uint8 or float32; N×H×W, N×H×W×C or N×C×H×W); labels in a separate file.
    case npy

    /// Number of leading bytes `detect(head:)` looks at.
    public static let sniffLength = 6

    /// Guesses the format from the first bytes of the (decompressed) stream. The rule:
    /// 1. `93 'NUMPY'` (the .npy magic) → npy.
    /// 2. `00 00 TT …` with TT an IDX data type (08 09 0B 0C 0D 0E) → idx, whatever the dimension
    ///    byte, so that other IDX files (labels, f32 images, a bad dimension count) get the IDX
    ///    reader's precise error and are never read as CIFAR-10 records.
    /// 3. otherwise a first byte < 10 (a CIFAR-10 label) → cifar10.
    /// 4. anything else, including an empty stream → nil (not a format this reader knows).
    ///
    /// An IDX stream is therefore never taken for CIFAR-10. A CIFAR-10 stream is taken for IDX only
    /// if its first record has label 0 and starts with red bytes `00 TT` as in rule 2; pass
    /// `--format cifar10` for such data.
    public static func detect(head: UnsafeRawBufferPointer) -> ImageFormat? {
        if NPYHeader.hasMagic(head) { return .npy }
        let b = Array(head.prefix(4))
        if b.count >= 3 && b[0] == 0 && b[1] == 0 {
            let idxTypes: Set<UInt8> = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]
            if idxTypes.contains(b[2]) { return .idx }
        }
        if let first = b.first, first < 10 { return .cifar10 }
        return nil
    }

    /// `detect(head:)` over a byte array.
    public static func detect(_ head: [UInt8]) -> ImageFormat? {
        head.withUnsafeBytes { detect(head: $0) }
    }

    /// Sniffs the format at the start of `reader` without consuming anything: throws
    /// `DataError.emptyStream` for an empty stream and `DataError.unrecognisedFormat` (which lists
    /// the accepted formats) when `detect(head:)` knows none.
    public static func detect(_ reader: BufferedReader) throws -> ImageFormat {
        let head = try reader.peek(8)
        if head.isEmpty { throw DataError.emptyStream(name: reader.name) }
        guard let f = detect(head: head) else { throw DataError.unrecognisedFormat(name: reader.name, head: Array(head)) }
        return f
    }
}

/// Opens an image stream over `source` (already decompressed: `openByteStream` handles gzip).
/// `format` nil sniffs the first bytes (`ImageFormat.detect(_:)`); no byte is lost by sniffing.
/// For IDX and .npy the header is read (for IDX checked against `expectedCount` if given) before
/// returning; `layout` applies to 4-D .npy arrays (nil: decided from the shape).
public func openImageStream(source: any ByteSource, format: ImageFormat? = nil, layout: NPYLayout? = nil,
                            expectedCount: Int? = nil) throws -> any ImageStream {
    let reader = source as? BufferedReader ?? BufferedReader(source)
    let chosen = try format ?? ImageFormat.detect(reader)
    switch chosen {
    case .idx: return try IDXImageStream(source: reader, expectedCount: expectedCount)
    case .cifar10: return CIFAR10Stream(source: reader)
    case .npy: return try NPYImageStream(source: reader, layout: layout)
    }
}

/// Opens `path` (nil or "-" = stdin; gzip detected automatically) as an image stream.
public func openImageStream(path: String?, format: ImageFormat? = nil, layout: NPYLayout? = nil) throws -> any ImageStream {
    try openImageStream(source: openByteStream(path: path), format: format, layout: layout)
}

extension IDXImageStream: ImageStream {
    public var format: ImageFormat { .idx }
    public var channels: Int { 1 }
    public var height: Int { rows }
    public var width: Int { cols }
    public var declaredCount: Int? { count }
    public var hasLabels: Bool { false }

    public mutating func nextRawImage(into pixels: UnsafeMutablePointer<UInt8>) throws -> ImageRead {
        (try nextRaw(into: pixels), nil)
    }

    public mutating func nextImage(into pixels: UnsafeMutablePointer<Float>) throws -> ImageRead {
        (try next(into: pixels), nil)
    }
}

extension CIFAR10Stream: ImageStream {
    public var format: ImageFormat { .cifar10 }
    public var channels: Int { Self.channels }
    public var height: Int { Self.height }
    public var width: Int { Self.width }
    public var pixelsPerImage: Int { Self.pixelsPerImage }
    public var declaredCount: Int? { nil }
    public var hasLabels: Bool { true }

    public mutating func nextRawImage(into pixels: UnsafeMutablePointer<UInt8>) throws -> ImageRead {
        let label = try nextRaw(into: pixels)
        return (label != nil, label)
    }

    public mutating func nextImage(into pixels: UnsafeMutablePointer<Float>) throws -> ImageRead {
        let label = try next(into: pixels)
        return (label != nil, label)
    }
}

extension NPYImageStream: ImageStream {
    public var format: ImageFormat { .npy }
    public var declaredCount: Int? { count }
    public var hasLabels: Bool { false }

    public mutating func nextRawImage(into pixels: UnsafeMutablePointer<UInt8>) throws -> ImageRead {
        (try nextRaw(into: pixels), nil)
    }

    public mutating func nextImage(into pixels: UnsafeMutablePointer<Float>) throws -> ImageRead {
        (try next(into: pixels), nil)
    }
}
