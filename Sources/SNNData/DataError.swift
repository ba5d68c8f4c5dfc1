/// Errors raised while reading byte streams, gzip data, IDX, CIFAR-10 and .npy files.
///
/// `description` is always one line that names the file or stream (and the
/// zero-based record index where one applies), e.g.
/// `<stdin>: record 123 is truncated (got 300 of 784 bytes)`.
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// open(2) failed; `reason` is the errno string.
    case cannotOpen(path: String, reason: String)
    /// read(2) failed; `reason` is the errno string.
    case readFailed(name: String, reason: String)
    /// The IDX magic number is not the expected one.
    case badMagic(name: String, found: UInt32, expected: UInt32)
    /// The IDX header is well-formed but describes a data type or shape this reader does not handle.
    case unsupportedIDX(name: String, detail: String)
    /// The stream ended inside the 4-byte magic + dimension header.
    case truncatedHeader(name: String, got: Int, expected: Int)
    /// The stream ended inside a record (`record` is zero-based; nil when no record applies).
    case truncated(name: String, record: Int?, got: Int, expected: Int)
    /// More bytes follow the `declared` records announced in the header.
    case trailingData(name: String, declared: Int)
    /// zlib reported corrupt or incomplete compressed data.
    case gzipCorrupt(name: String, message: String)
    /// The header's record count differs from the count the caller expected.
    case countMismatch(name: String, declared: Int, expected: Int)
    /// The stream holds no byte at all where images were expected.
    case emptyStream(name: String)
    /// The first bytes match no accepted image format (`head`: up to the first 8 bytes).
    case unrecognisedFormat(name: String, head: [UInt8])
    /// A NumPy `.npy` header is malformed or describes data this reader does not handle.
    case badNPY(name: String, detail: String)
    /// A float pixel is not finite or outside [0, 1] (`record` and `position` zero-based).
    case badPixel(name: String, record: Int, position: Int, value: Float)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): cannot open (\(reason))"
        case let .readFailed(name, reason):
            return "\(name): read failed (\(reason))"
        case let .badMagic(name, found, expected):
            return "\(name): bad magic \(hex32(found)) (expected \(hex32(expected)))"
        case let .unsupportedIDX(name, detail):
            return "\(name): unsupported IDX file (\(detail))"
        case let .truncatedHeader(name, got, expected):
            return "\(name): IDX header is truncated (got \(got) of \(expected) bytes)"
        case let .truncated(name, record?, got, expected):
            return "\(name): record \(record) is truncated (got \(got) of \(expected) bytes)"
        case let .truncated(name, nil, got, expected):
            return "\(name): stream ends early (got \(got) of \(expected) bytes)"
        case let .trailingData(name, declared):
            return "\(name): unexpected data after the \(declared) records declared in the header"
        case let .gzipCorrupt(name, message):
            return "\(name): corrupt gzip data (\(message))"
        case let .countMismatch(name, declared, expected):
            return "\(name): header declares \(declared) records but \(expected) were expected"
        case let .emptyStream(name):
            return "\(name): the input is empty (no images)"
        case let .unrecognisedFormat(name, head):
            let bytes = head.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
            return "\(name): unrecognised image format (starts with \(bytes)); accepted: " + acceptedFormats
        case let .badNPY(name, detail):
            return "\(name): bad .npy file (\(detail))"
        case let .badPixel(name, record, position, value):
            let what = value.isFinite ? "\(value), outside [0, 1]" : "\(value), not finite"
            return "\(name): record \(record) has pixel value \(what) (at position \(position))"
        }
    }
}

/// The image formats `unrecognisedFormat` lists.
public let acceptedFormats = "IDX images (00 00 08 03), NumPy .npy (93 'NUMPY'), CIFAR-10 binary records (first byte a label 0…9)"

private func hex32(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}
