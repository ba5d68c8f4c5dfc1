/// The header of a NumPy `.npy` stream (format versions 1.0, 2.0 and 3.0).
///
/// Layout: the magic `93 'N' 'U' 'M' 'P' 'Y'`, the major and minor version bytes, the header
/// length (little-endian u16 for 1.0, u32 for 2.0 and 3.0), then the header: a Python dict literal
/// such as `{'descr': '<f4', 'fortran_order': False, 'shape': (10, 28, 28), }` padded with spaces
/// and a newline. The array data follow the header, C order unless `fortran_order` is True.
public struct NPYHeader: Equatable, Sendable {
    /// The dtype string, e.g. `|u1`, `<f4`, `<i8`.
    public var descr: String
    public var fortranOrder: Bool
    public var shape: [Int]
    /// Major version (1, 2 or 3).
    public var major: Int
    /// Bytes before the data (magic, version, length field and header text).
    public var byteCount: Int

    /// `93 4E 55 4D 50 59`: the six bytes every .npy stream starts with.
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    /// Longest header text accepted (numpy itself refuses more than 10,000 bytes by default).
    public static let maxHeaderLength = 1 << 16

    /// True when `head` starts with the .npy magic.
    public static func hasMagic(_ head: UnsafeRawBufferPointer) -> Bool {
        head.count >= magic.count && zip(head, magic).allSatisfy { $0 == $1 }
    }

    /// The shape as numpy prints it: `(10, 28, 28)`, `(5,)`.
    public var shapeDescription: String { npyShape(shape) }
}

func npyShape(_ shape: [Int]) -> String {
    shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
}

/// Reads and parses the header at the current position of `reader`.
/// Throws `DataError.badNPY` naming the problem, (also for a truncated header).
func readNPYHeader(_ reader: BufferedReader) throws -> NPYHeader {
    let name = reader.name
    var pre = [UInt8](repeating: 0, count: 12)
    let got = try pre.withUnsafeMutableBytes { try reader.readUpTo(into: $0.baseAddress!, count: 8) }
    guard got == 8 else { throw npyTruncated(name, got: got, expected: 10) }
    guard Array(pre[0..<6]) == NPYHeader.magic else {
        throw DataError.badNPY(name: name, detail: "the stream does not start with the magic \\x93NUMPY")
    }
    let (major, minor) = (Int(pre[6]), Int(pre[7]))
    guard (1...3).contains(major), minor == 0 else {
        throw DataError.badNPY(name: name, detail: "format version \(major).\(minor) is not supported (1.0, 2.0 or 3.0)")
    }
    let lengthBytes = major == 1 ? 2 : 4
    let got2 = try pre.withUnsafeMutableBytes { try reader.readUpTo(into: $0.baseAddress! + 8, count: lengthBytes) }
    guard got2 == lengthBytes else { throw npyTruncated(name, got: 8 + got2, expected: 8 + lengthBytes) }
    var length = 0
    for i in (0..<lengthBytes).reversed() { length = length << 8 | Int(pre[8 + i]) }
    guard length <= NPYHeader.maxHeaderLength else {
        throw DataError.badNPY(name: name, detail: "header length \(length) is larger than \(NPYHeader.maxHeaderLength) bytes")
    }
    var text = [UInt8](repeating: 0, count: length)
    let got3 = try text.withUnsafeMutableBytes { length == 0 ? 0 : try reader.readUpTo(into: $0.baseAddress!, count: length) }
    guard got3 == length else {
        throw npyTruncated(name, got: 8 + lengthBytes + got3, expected: 8 + lengthBytes + length)
    }
    var parser = PyLiteralParser(bytes: text)
    let value: PyLiteral
    do {
        value = try parser.parseWhole()
    } catch let e as PyLiteralParser.Failure {
        throw DataError.badNPY(name: name, detail: "header is not a Python dict literal: \(e.message) at byte \(e.offset)")
    }
    guard case .dict(let entries) = value else {
        throw DataError.badNPY(name: name, detail: "header is not a dict")
    }
    var descr: String?, fortran: Bool?, shape: [Int]?
    for (key, v) in entries {
        switch key {
        case "descr":
            guard case .string(let s) = v else {
                throw DataError.badNPY(name: name, detail: "'descr' is not a string (structured dtypes are not supported)")
            }
            descr = s
        case "fortran_order":
            guard case .bool(let b) = v else { throw DataError.badNPY(name: name, detail: "'fortran_order' is not True or False") }
            fortran = b
        case "shape":
            guard case .tuple(let items) = v else { throw DataError.badNPY(name: name, detail: "'shape' is not a tuple") }
            var dims: [Int] = []
            for item in items {
                guard case .int(let d) = item, d >= 0 else {
                    throw DataError.badNPY(name: name, detail: "'shape' holds something other than integers ≥ 0")
                }
                dims.append(d)
            }
            shape = dims
        default:
            throw DataError.badNPY(name: name, detail: "unexpected key '\(key)' in the header")
        }
    }
    guard let descr else { throw DataError.badNPY(name: name, detail: "the header has no 'descr'") }
    guard let fortran else { throw DataError.badNPY(name: name, detail: "the header has no 'fortran_order'") }
    guard let shape else { throw DataError.badNPY(name: name, detail: "the header has no 'shape'") }
    return NPYHeader(descr: descr, fortranOrder: fortran, shape: shape, major: major, byteCount: 8 + lengthBytes + length)
}

private func npyTruncated(_ name: String, got: Int, expected: Int) -> DataError {
    .badNPY(name: name, detail: "header is truncated: got \(got) of \(expected) bytes")
}

/// A hint for a dtype the readers refuse ("big-endian", "float64", …), or "".
func npyDtypeHint(_ descr: String) -> String {
    if descr.hasPrefix(">") { return " (big-endian: convert with x.astype(x.dtype.newbyteorder('<')))" }
    if descr == "<f8" { return " (float64: convert with x.astype(np.float32))" }
    if descr.hasPrefix("|O") || descr == "O" { return " (Python objects)" }
    return ""
}

/// The subset of Python literals an .npy header uses.
enum PyLiteral: Equatable {
    case dict([(String, PyLiteral)])
    case tuple([PyLiteral])
    case string(String)
    case int(Int)
    case bool(Bool)
    case none

    static func == (a: PyLiteral, b: PyLiteral) -> Bool {
        switch (a, b) {
        case let (.dict(x), .dict(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.tuple(x), .tuple(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.none, .none): return true
        default: return false
        }
    }
}

/// Parses dicts with string keys, tuples, quoted strings without escapes, integers, True, False, None.
struct PyLiteralParser {
    struct Failure: Error { let message: String; let offset: Int }
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseWhole() throws -> PyLiteral {
        let v = try value(depth: 0)
        skipSpace()
        guard i == bytes.count else { throw Failure(message: "unexpected text after the literal", offset: i) }
        return v
    }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    private mutating func value(depth: Int) throws -> PyLiteral {
        guard depth < 8 else { throw Failure(message: "nested too deeply", offset: i) }
        skipSpace()
        guard i < bytes.count else { throw Failure(message: "unexpected end", offset: i) }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var entries: [(String, PyLiteral)] = []
            while true {
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(entries) }
                guard case .string(let key) = try value(depth: depth + 1) else {
                    throw Failure(message: "dict key is not a string", offset: i)
                }
                if entries.contains(where: { $0.0 == key }) { throw Failure(message: "duplicate key '\(key)'", offset: i) }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw Failure(message: "expected ':'", offset: i) }
                i += 1
                entries.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard i < bytes.count else { throw Failure(message: "unexpected end", offset: i) }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "}") else { throw Failure(message: "expected ',' or '}'", offset: i) }
            }
        case UInt8(ascii: "("):
            i += 1
            var items: [PyLiteral] = []
            var sawComma = false
            while true {
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: ")") {
                    i += 1
                    // (x) is x in Python, not a tuple
                    return items.count == 1 && !sawComma ? items[0] : .tuple(items)
                }
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw Failure(message: "unexpected end", offset: i) }
                if bytes[i] == UInt8(ascii: ",") { i += 1; sawComma = true; continue }
                guard bytes[i] == UInt8(ascii: ")") else { throw Failure(message: "expected ',' or ')'", offset: i) }
            }
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            let quote = bytes[i]
            i += 1
            let start = i
            while i < bytes.count, bytes[i] != quote {
                if bytes[i] == UInt8(ascii: "\\") || bytes[i] == 0x0A { throw Failure(message: "unsupported character in a string", offset: i) }
                i += 1
            }
            guard i < bytes.count else { throw Failure(message: "unterminated string", offset: start - 1) }
            i += 1
            return .string(String(decoding: bytes[start..<(i - 1)], as: UTF8.self))
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            var v = 0
            let start = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int(bytes[i] - UInt8(ascii: "0")))
                guard !o1, !o2 else { throw Failure(message: "integer too large", offset: start) }
                v = s
                i += 1
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "L") { i += 1 }  // Python 2 long
            return .int(v)
        default:
            for (word, lit) in [("True", PyLiteral.bool(true)), ("False", .bool(false)), ("None", .none)] {
                let w = Array(word.utf8)
                if bytes.count - i >= w.count, Array(bytes[i..<(i + w.count)]) == w {
                    i += w.count
                    return lit
                }
            }
            throw Failure(message: "unexpected character '\(Character(Unicode.Scalar(bytes[i])))'", offset: i)
        }
    }
}
