/// IDX magic for unsigned-byte data with 3 dimensions (images).
public let idxImagesMagic: UInt32 = 0x0000_0803
/// IDX magic for unsigned-byte data with 1 dimension (labels).
public let idxLabelsMagic: UInt32 = 0x0000_0801

/// Reads and validates an IDX header (big-endian magic + one u32 per dimension).
/// Returns the dimensions.
func readIDXHeader(_ reader: BufferedReader, expectedMagic: UInt32) throws -> [Int] {
    var magicBytes: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
    let got = try withUnsafeMutableBytes(of: &magicBytes) { try reader.readUpTo(into: $0.baseAddress!, count: 4) }
    let dimsExpected = Int(expectedMagic & 0xff)
    let headerSize = 4 + 4 * dimsExpected
    guard got == 4 else { throw DataError.truncatedHeader(name: reader.name, got: got, expected: headerSize) }
    let magic = UInt32(magicBytes.0) << 24 | UInt32(magicBytes.1) << 16 | UInt32(magicBytes.2) << 8 | UInt32(magicBytes.3)
    if magic != expectedMagic {
        let dtype = magicBytes.2, ndims = magicBytes.3
        let knownTypes: Set<UInt8> = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]
        guard magicBytes.0 == 0, magicBytes.1 == 0, knownTypes.contains(dtype) else {
            throw DataError.badMagic(name: reader.name, found: magic, expected: expectedMagic)
        }
        var detail: [String] = []
        if dtype != 0x08 { detail.append("data type \(idxTypeName(dtype)), expected u8") }
        if Int(ndims) != dimsExpected { detail.append("\(ndims) dimensions, expected \(dimsExpected)") }
        throw DataError.unsupportedIDX(name: reader.name, detail: detail.joined(separator: "; "))
    }
    var dims: [Int] = []
    for _ in 0..<dimsExpected {
        var b: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        let n = try withUnsafeMutableBytes(of: &b) { try reader.readUpTo(into: $0.baseAddress!, count: 4) }
        guard n == 4 else {
            throw DataError.truncatedHeader(name: reader.name, got: 4 + 4 * dims.count + n, expected: headerSize)
        }
        dims.append(Int(b.0) << 24 | Int(b.1) << 16 | Int(b.2) << 8 | Int(b.3))
    }
    return dims
}

private func idxTypeName(_ code: UInt8) -> String {
    switch code {
    case 0x08: return "u8"
    case 0x09: return "i8"
    case 0x0B: return "i16"
    case 0x0C: return "i32"
    case 0x0D: return "f32"
    case 0x0E: return "f64"
    default: return "0x" + String(code, radix: 16)
    }
}
