#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The element types a safetensors header may name (sub-byte types such as F4 are not accepted).
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL", u8 = "U8", i8 = "I8"
    case f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3", f8e8m0 = "F8_E8M0"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case i64 = "I64", u64 = "U64", f64 = "F64", c64 = "C64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e8m0: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .i64, .u64, .f64, .c64: return 8
        }
    }
}

/// A safetensors file, memory-mapped read-only and fully validated when opened.
///
/// The layout is an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each
/// tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data
/// buffer that follows the header) plus an optional `"__metadata__"` string map, then the data.
/// Opening checks every number before it is used, so a malformed file throws, never crashes.
/// Data is read as little-endian, the byte order of every platform Swift runs on here.
///
/// The mapping lives as long as this value or any copy of it. Writers should replace files by
/// rename (as `SafetensorsWriter` does): truncating a file that is mapped makes reads fault.
public struct SafetensorsFile: Sendable {
    /// Headers longer than this are refused (the limit of the reference implementation).
    public static let maxHeaderLength = 100_000_000

    /// The path the file was opened with; it starts every error message.
    public let path: String
    /// Tensor names, sorted.
    public let names: [String]
    /// The header's `__metadata__` map (empty when absent).
    public let metadata: [String: String]

    private let entries: [String: Entry]
    private let storage: Storage

    private struct Entry {
        let dtype: SafetensorsDType
        let shape: [Int]
        /// Byte range within the mapping (already offset by the header).
        let begin: Int, end: Int
    }

    /// Owns the mapping, and aligned copies of F32 tensors whose bytes are not 4-aligned.
    private final class Storage: @unchecked Sendable {
        let base: UnsafeRawPointer
        let size: Int
        /// Filled only while the owning `SafetensorsFile` is initialised, read-only afterwards.
        var alignedCopies: [String: UnsafeMutableBufferPointer<Float>] = [:]

        init(base: UnsafeRawPointer, size: Int) { self.base = base; self.size = size }

        deinit {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
            for copy in alignedCopies.values { copy.deallocate() }
        }
    }

    /// Maps the file at `path` and validates its header and layout.
    /// - Throws: `SafetensorsError` naming the file (and the tensor) at the first problem found.
    public init(path: String) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO for reading must not wait for a writer (it is refused below);
        // it changes nothing for a regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw SafetensorsError.io(path: path, reason: "cannot open: \(safetensorsErrnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafetensorsError.io(path: path, reason: "cannot stat: \(safetensorsErrnoText())") }
        if let kind = fileKindDescription(st.st_mode) {
            throw SafetensorsError.io(path: path, reason: "is \(kind), not a regular file")
        }
        let size = Int(st.st_size)
        guard size >= 8 else {
            throw SafetensorsError.truncated(path: path, reason: "\(size) bytes, fewer than the 8-byte header length")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              mapped != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw SafetensorsError.io(path: path, reason: "cannot map: \(safetensorsErrnoText())")
        }
        let storage = Storage(base: UnsafeRawPointer(mapped), size: size)  // unmaps if we throw below
        let bytes = UnsafeRawBufferPointer(start: storage.base, count: size)

        // Header length and header.
        let n = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard n <= UInt64(Self.maxHeaderLength) else {
            throw SafetensorsError.invalidHeader(path: path, reason: "header length \(n) exceeds \(Self.maxHeaderLength) bytes")
        }
        let headerLength = Int(n)
        guard headerLength <= size - 8 else {
            throw SafetensorsError.truncated(path: path, reason: "header length is \(n) but only \(size - 8) bytes follow")
        }
        let header = UnsafeRawBufferPointer(rebasing: bytes[8 ..< 8 + headerLength])
        let dataStart = 8 + headerLength
        let dataSize = size - dataStart
        let (object, meta) = try Self.parseHeader(header, path: path)

        // Entries, in name order so that the first problem reported does not depend on hashing.
        var entries: [String: Entry] = [:]
        for name in object.keys.sorted() where name != "__metadata__" {
            let entry = try Self.parseEntry(object[name]!, name: name, dataSize: dataSize, path: path)
            entries[name] = Entry(dtype: entry.dtype, shape: entry.shape,
                                  begin: dataStart + entry.begin, end: dataStart + entry.end)
        }

        // Tensors must tile the data buffer: sorted by offsets, each starts where the last ended.
        var covered = dataStart
        var previous: String?
        for (name, e) in entries.sorted(by: { ($0.value.begin, $0.value.end, $0.key) < ($1.value.begin, $1.value.end, $1.key) }) {
            if e.begin < covered {
                throw SafetensorsError.invalidTensor(path: path, tensor: name, reason:
                    "overlaps tensor \"\(previous ?? "")\" (data_offsets [\(e.begin - dataStart), \(e.end - dataStart)] start before byte \(covered - dataStart))")
            }
            if e.begin > covered {
                throw SafetensorsError.invalidTensor(path: path, tensor: name, reason:
                    "starts at data byte \(e.begin - dataStart), leaving bytes \(covered - dataStart)..<\(e.begin - dataStart) unused")
            }
            covered = e.end
            previous = name
        }
        if covered != size {
            throw SafetensorsError.invalidHeader(path: path, reason:
                "data bytes \(covered - dataStart)..<\(dataSize) belong to no tensor")
        }

        // F32 data that is not 4-aligned cannot be viewed in place: copy it once, here.
        for (name, e) in entries where e.dtype == .f32 && e.begin % MemoryLayout<Float>.alignment != 0 && e.end > e.begin {
            let copy = UnsafeMutableBufferPointer<Float>.allocate(capacity: (e.end - e.begin) / 4)
            UnsafeMutableRawBufferPointer(copy).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[e.begin ..< e.end]))
            storage.alignedCopies[name] = copy
        }

        self.names = entries.keys.sorted()
        self.metadata = meta
        self.entries = entries
        self.storage = storage
    }

    /// Checks that tensor `name` exists with shape `expected` (any dtype), without reading it.
    /// - Throws: `.missingTensor` or `.shapeMismatch`.
    public func requireShape(_ name: String, _ expected: [Int]) throws {
        _ = try entry(name, shape: expected)
    }

    /// The dtype and shape of tensor `name`, or nil when there is none.
    public func info(_ name: String) -> (dtype: SafetensorsDType, shape: [Int])? {
        entries[name].map { ($0.dtype, $0.shape) }
    }

    /// A zero-copy view of F32 tensor `name` (row-major), valid while this file value is alive.
    /// F32 data that is not 4-aligned in the file is viewed in an aligned copy made at open time.
    /// - Parameter expected: when given, the shape the tensor must have.
    /// - Throws: `.missingTensor`, `.dtypeMismatch` (not F32) or `.shapeMismatch`.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> UnsafeBufferPointer<Float> {
        let e = try entry(name, shape: expected)
        guard e.dtype == .f32 else {
            throw SafetensorsError.dtypeMismatch(path: path, tensor: name, expected: "F32", found: e.dtype.rawValue)
        }
        if let copy = storage.alignedCopies[name] { return UnsafeBufferPointer(copy) }
        let count = (e.end - e.begin) / 4
        return UnsafeBufferPointer(start: (storage.base + e.begin).bindMemory(to: Float.self, capacity: count), count: count)
    }

    /// Tensor `name` copied into a `[Float]`, converting from F32, F16, BF16 or F64
    /// (F64 values are rounded to the nearest Float).
    /// - Throws: `.missingTensor`, `.dtypeMismatch` (another dtype) or `.shapeMismatch`.
    public func floatArray(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        let e = try entry(name, shape: expected)
        let raw = UnsafeRawBufferPointer(start: storage.base + e.begin, count: e.end - e.begin)
        let count = raw.count / e.dtype.size
        switch e.dtype {
        case .f32:
            return Array(try floats(name))
        case .f16:
            return (0 ..< count).map { Self.halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
        case .bf16:
            return (0 ..< count).map { Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16) }
        case .f64:
            return (0 ..< count).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
        default:
            throw SafetensorsError.dtypeMismatch(path: path, tensor: name, expected: "F32, F16, BF16 or F64", found: e.dtype.rawValue)
        }
    }

    /// IEEE half-precision bits to Float (exact: every half is a Float).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: UInt32 = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:  // zero or subnormal: mantissa × 2⁻²⁴
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:  // infinity or NaN, keeping the payload
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }

    private func entry(_ name: String, shape expected: [Int]?) throws -> Entry {
        guard let e = entries[name] else { throw SafetensorsError.missingTensor(path: path, tensor: name) }
        if let expected, expected != e.shape {
            throw SafetensorsError.shapeMismatch(path: path, tensor: name, expected: expected, found: e.shape)
        }
        return e
    }

    // MARK: - Header parsing

    /// Decodes the header: a UTF-8 JSON object without duplicate keys, and its `__metadata__`.
    private static func parseHeader(_ header: UnsafeRawBufferPointer, path: String) throws -> ([String: Any], [String: String]) {
        func fail(_ reason: String) -> SafetensorsError { .invalidHeader(path: path, reason: reason) }
        guard String(validating: header, as: UTF8.self) != nil else { throw fail("header is not valid UTF-8") }
        guard header.first == UInt8(ascii: "{") else { throw fail("header does not start with '{'") }
        let data = Data(header)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch { throw fail("header is not valid JSON") }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }

        // JSONSerialization keeps one of duplicate keys silently: count the keys in the text.
        let scan = scanKeys(header)
        var seen = Set<String>()
        for keyBytes in scan.topLevelKeys {
            guard let key = (try? JSONSerialization.jsonObject(with: Data(keyBytes), options: .fragmentsAllowed)) as? String else {
                throw fail("cannot decode a key")
            }
            if !seen.insert(key).inserted {
                if key == "__metadata__" { throw fail("\"__metadata__\" appears more than once") }
                throw SafetensorsError.invalidTensor(path: path, tensor: key, reason: "appears more than once in the header")
            }
        }
        guard scan.colons == pairCount(json) else { throw fail("a JSON object has a duplicate key") }

        var metadata: [String: String] = [:]
        if let m = object["__metadata__"], !(m is NSNull) {
            guard let dict = m as? [String: Any] else { throw fail("\"__metadata__\" is not an object") }
            for (key, value) in dict {
                guard let s = value as? String else { throw fail("\"__metadata__\" value for \"\(key)\" is not a string") }
                metadata[key] = s
            }
        }
        return (object, metadata)
    }

    /// Checks one entry; offsets returned are relative to the data buffer.
    private static func parseEntry(_ value: Any, name: String, dataSize: Int, path: String) throws -> (dtype: SafetensorsDType, shape: [Int], begin: Int, end: Int) {
        func fail(_ reason: String) -> SafetensorsError { .invalidTensor(path: path, tensor: name, reason: reason) }
        guard let e = value as? [String: Any] else { throw fail("is not a JSON object in the header") }
        guard let dtypeName = e["dtype"] as? String else { throw fail("has no dtype string") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else { throw fail("has unknown dtype \"\(dtypeName)\"") }
        guard let shape = intArray(e["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
            throw fail("has an invalid shape (not an array of non-negative integers)")
        }
        guard let offsets = intArray(e["data_offsets"]), offsets.count == 2 else {
            throw fail("has invalid data_offsets (not two integers)")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard 0 <= begin, begin <= end, end <= dataSize else {
            throw fail("has data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data buffer")
        }
        var bytes = dtype.size
        for d in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("has shape \(shape), too large") }
            bytes = product
        }
        guard bytes == end - begin else {
            throw fail("has dtype \(dtype.rawValue) and shape \(shape), needing \(bytes) bytes, but data_offsets [\(begin), \(end)] span \(end - begin)")
        }
        return (dtype, shape, begin, end)
    }

    /// JSON integers only: booleans, fractions, exponents and out-of-range numbers give nil.
    private static func intArray(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var out: [Int] = []
        for element in array {
            guard let number = element as? NSNumber, "silqSILQ".contains(Character(UnicodeScalar(UInt8(bitPattern: number.objCType.pointee)))),
                  let int = element as? Int else { return nil }
            out.append(int)
        }
        return out
    }

    /// Key/value pairs in all objects of a parsed JSON value.
    private static func pairCount(_ value: Any) -> Int {
        if let object = value as? [String: Any] { return object.count + object.values.reduce(0) { $0 + pairCount($1) } }
        if let array = value as? [Any] { return array.reduce(0) { $0 + pairCount($1) } }
        return 0
    }

    /// Scans valid JSON text: the raw bytes of each top-level key (quotes included), and the
    /// number of colons outside strings (one per key/value pair at any depth).
    private static func scanKeys(_ text: UnsafeRawBufferPointer) -> (topLevelKeys: [[UInt8]], colons: Int) {
        var keys: [[UInt8]] = []
        var colons = 0, depth = 0
        var inString = false, escaped = false
        var stringStart = 0, lastString: Range<Int>? = nil
        for (i, byte) in text.enumerated() {
            if inString {
                if escaped { escaped = false }
                else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false; if depth == 1 { lastString = stringStart ..< i + 1 } }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true; stringStart = i
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ":"):
                colons += 1
                if depth == 1, let r = lastString { keys.append(Array(text[r])) }
            default: break
            }
        }
        return (keys, colons)
    }
}

/// The current `errno` as text.
func safetensorsErrnoText() -> String { String(cString: strerror(errno)) }
