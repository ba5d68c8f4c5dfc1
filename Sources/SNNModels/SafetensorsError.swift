/// Why reading or writing a safetensors file failed. Every message is one line that starts
/// with the file's path and, where there is one, names the tensor.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened, mapped, written or renamed (the system's reason).
    case io(path: String, reason: String)
    /// The file ends before its 8-byte length prefix or before the header it announces.
    case truncated(path: String, reason: String)
    /// The header is not acceptable: too long, not UTF-8, not a JSON object, bad `__metadata__`,
    /// duplicate keys inside an entry, or data bytes that no tensor accounts for.
    case invalidHeader(path: String, reason: String)
    /// One tensor's entry is not acceptable: dtype, shape, offsets, byte length, overlap, gap,
    /// duplicate name (when reading) or data that does not match its shape (when writing).
    case invalidTensor(path: String, tensor: String, reason: String)
    /// No tensor of that name is in the file.
    case missingTensor(path: String, tensor: String)
    /// The tensor is stored with a dtype the caller cannot use.
    case dtypeMismatch(path: String, tensor: String, expected: String, found: String)
    /// The tensor's shape is not the one the caller expects.
    case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .truncated(path, reason):
            return "\(path): truncated file: \(reason)"
        case let .invalidHeader(path, reason):
            return "\(path): invalid safetensors header: \(reason)"
        case let .invalidTensor(path, tensor, reason):
            return "\(path): tensor \(safetensorsQuoted(tensor)) \(reason)"
        case let .missingTensor(path, tensor):
            return "\(path): no tensor \(safetensorsQuoted(tensor))"
        case let .dtypeMismatch(path, tensor, expected, found):
            return "\(path): tensor \(safetensorsQuoted(tensor)) has dtype \(found), expected \(expected)"
        case let .shapeMismatch(path, tensor, expected, found):
            return "\(path): tensor \(safetensorsQuoted(tensor)) has shape \(found), expected \(expected)"
        }
    }
}

/// A name in double quotes, with control characters escaped so the message stays on one line.
private func safetensorsQuoted(_ name: String) -> String {
    var out = "\""
    for scalar in name.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
