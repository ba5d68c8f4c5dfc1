#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes F32 safetensors files that `SafetensorsFile` (and the reference implementation) read.
public enum SafetensorsWriter {
    /// Writes `tensors` and `metadata` to `path`, replacing it atomically: the file is written to
    /// `path + ".tmp"`, flushed to disk, then renamed over `path`.
    ///
    /// Names are sorted in the header and data is laid out in that order. The header is padded
    /// with spaces to a multiple of 8 bytes, so every tensor's data is 8-aligned in the file.
    /// - Throws: `.invalidTensor` when a name repeats or is `__metadata__`, or when a shape has a
    ///   negative dimension or does not match its data count; `.io` when writing fails.
    public static func write(path: String, tensors: [(name: String, shape: [Int], data: [Float])],
                             metadata: [String: String]) throws {
        let sorted = tensors.sorted { $0.name < $1.name }
        for (i, t) in sorted.enumerated() {
            func fail(_ reason: String) -> SafetensorsError { .invalidTensor(path: path, tensor: t.name, reason: reason) }
            if i > 0 && sorted[i - 1].name == t.name { throw fail("is given more than once") }
            if t.name == "__metadata__" { throw fail("has a name reserved for metadata") }
            guard t.shape.allSatisfy({ $0 >= 0 }) else { throw fail("has a negative dimension in shape \(t.shape)") }
            let (count, overflow) = t.shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o)
            }
            guard !overflow, count == t.data.count else {
                throw fail("has shape \(t.shape) but \(t.data.count) values")
            }
        }

        // Header: {"__metadata__":{...},"name":{"dtype":"F32","shape":[...],"data_offsets":[b,e]},...}
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for t in sorted {
            let end = offset + 4 * t.data.count
            let shape = t.shape.map(String.init).joined(separator: ",")
            fields.append("\(jsonString(t.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array("{\(fields.joined(separator: ","))}".utf8)
        header += Array(repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)

        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SafetensorsError.io(path: tmp, reason: "cannot create: \(safetensorsErrnoText())") }
        var ok = false
        defer { if !ok { close(fd); unlink(tmp) } }

        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try writeAll(fd, $0, path: tmp) }
        try header.withUnsafeBytes { try writeAll(fd, $0, path: tmp) }
        for t in sorted {
            try t.data.withUnsafeBytes { try writeAll(fd, $0, path: tmp) }  // little-endian host
        }
        guard fsync(fd) == 0 else { throw SafetensorsError.io(path: tmp, reason: "cannot sync: \(safetensorsErrnoText())") }
        ok = true
        guard close(fd) == 0 else {
            let reason = safetensorsErrnoText()
            unlink(tmp)
            throw SafetensorsError.io(path: tmp, reason: "cannot close: \(reason)")
        }
        guard rename(tmp, path) == 0 else {
            let reason = safetensorsErrnoText()
            unlink(tmp)
            throw SafetensorsError.io(path: path, reason: "cannot rename \(tmp) to it: \(reason)")
        }
    }

    /// Writes every byte, retrying short writes and interrupted calls.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw SafetensorsError.io(path: path, reason: "cannot write: \(safetensorsErrnoText())")
            }
            done += n
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// The system `write(2)`, named apart from `SafetensorsWriter.write`.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Darwin)
    return Darwin.write(fd, buffer, count)
    #elseif canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Musl.write(fd, buffer, count)
    #endif
}
