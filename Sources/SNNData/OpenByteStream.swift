/// Opens `path` (nil or "-" = standard input) and returns its bytes, transparently
/// decompressed when the stream starts with the gzip magic 1f 8b.
public func openByteStream(path: String?) throws -> any ByteSource {
    let fd: FileDescriptorSource
    if let path, path != "-" {
        fd = try FileDescriptorSource(path: path)
    } else {
        fd = .standardInput()
    }
    return try decompressingIfGzip(fd)
}

/// Sniffs the first two bytes of `source`; wraps it in a `GzipSource` when they are the
/// gzip magic 1f 8b, otherwise returns the bytes unchanged (via a `BufferedReader`).
public func decompressingIfGzip(_ source: any ByteSource) throws -> any ByteSource {
    let reader = source as? BufferedReader ?? BufferedReader(source)
    let head = try reader.peek(2)
    if head.count == 2 && head[0] == 0x1f && head[1] == 0x8b {
        return try GzipSource(reader, name: reader.name)
    }
    return reader
}
