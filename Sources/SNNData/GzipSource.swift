import CZlib

/// Streaming gzip/zlib decompression of another `ByteSource`.
///
/// Uses one fixed input buffer allocated at init. Concatenated gzip members are
/// decompressed one after another, like gzip(1) does.
public final class GzipSource: ByteSource {
    public let name: String
    private var base: any ByteSource
    private let strm: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    private var inputAtEnd = false
    private var memberEnded = false
    private var finished = false

    /// Wraps `base` (whose bytes are gzip or zlib data; the header is auto-detected).
    public init(_ base: any ByteSource, name: String? = nil, inputCapacity: Int = 1 << 16) throws {
        self.base = base
        self.name = name ?? base.name
        self.input = .allocate(byteCount: max(inputCapacity, 64), alignment: 16)
        self.strm = .allocate(capacity: 1)
        strm.initialize(to: z_stream())
        // inflateInit2 is a macro; 15 + 32 = max window, auto-detect gzip/zlib header.
        let ret = inflateInit2_(strm, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard ret == Z_OK else {
            let msg = zlibMessage(ret)
            strm.deinitialize(count: 1)
            strm.deallocate()
            input.deallocate()
            throw DataError.gzipCorrupt(name: self.name, message: "inflateInit failed: \(msg)")
        }
    }

    deinit {
        inflateEnd(strm)
        strm.deinitialize(count: 1)
        strm.deallocate()
        input.deallocate()
    }

    private func refill() throws {
        let n = try base.read(into: input)
        if n == 0 {
            inputAtEnd = true
        }
        strm.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        strm.pointee.avail_in = uInt(n)
    }

    private func zlibMessage(_ code: Int32) -> String {
        if let m = strm.pointee.msg {
            let text = String(cString: m)
            switch text {
            case "incorrect data check": return "CRC-32 mismatch in the gzip trailer (incorrect data check)"
            case "incorrect length check": return "length mismatch in the gzip trailer (incorrect length check)"
            default: return text
            }
        }
        switch code {
        case Z_DATA_ERROR: return "data error"
        case Z_MEM_ERROR: return "out of memory"
        case Z_NEED_DICT: return "preset dictionary required"
        case Z_STREAM_ERROR: return "stream error"
        case Z_VERSION_ERROR: return "zlib version mismatch"
        default: return "zlib error \(code)"
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !finished, let out = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let want = min(buffer.count, Int(UInt32.max))
        strm.pointee.next_out = out.assumingMemoryBound(to: Bytef.self)
        strm.pointee.avail_out = uInt(want)
        while true {
            if strm.pointee.avail_in == 0 && !inputAtEnd { try refill() }
            if memberEnded {
                // Another member follows only if input remains, and it must start with the gzip magic
                // (gzip(1) ignores trailing garbage; here it is an error, found at its first byte).
                if strm.pointee.avail_in == 0 {
                    finished = true
                    return 0
                }
                let next = strm.pointee.next_in!
                if next[0] != 0x1f || (strm.pointee.avail_in > 1 && next[1] != 0x8b) {
                    throw DataError.gzipCorrupt(name: name, message: "unexpected data after the end of the gzip member")
                }
                guard inflateReset(strm) == Z_OK else {
                    throw DataError.gzipCorrupt(name: name, message: "inflateReset failed")
                }
                memberEnded = false
            }
            if strm.pointee.avail_in == 0 {
                throw DataError.gzipCorrupt(name: name, message: "unexpected end of compressed data: truncated, or the trailer is missing")
            }
            let inBefore = strm.pointee.avail_in
            let ret = inflate(strm, Z_NO_FLUSH)
            let produced = want - Int(strm.pointee.avail_out)
            switch ret {
            case Z_STREAM_END:
                memberEnded = true
            case Z_OK:
                break
            case Z_BUF_ERROR where produced > 0 || strm.pointee.avail_in != inBefore:
                break
            default:
                throw DataError.gzipCorrupt(name: name, message: zlibMessage(ret))
            }
            if produced > 0 { return produced }
        }
    }
}
