#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a stream of images in pixel space [0, 1] (one `channels × height × width` float array
/// each) to a file: a NumPy `.npy` array of float32 (`<f4`, C order, shape N×H×W for one channel,
/// N×C×H×W otherwise) or an IDX `idx3-ubyte` file (one channel only; N×H×W bytes).
///
/// The image count N is not known until the stream ends, so the header is written first with
/// N = 0, padded to a fixed size, and rewritten in place by `sync()` (after each batch) and
/// `finish()`. That needs a regular file: pipes, terminals and other devices are refused.
/// Between syncs the header lags behind the data; a reader then sees the first N images.
///
/// IDX bytes are round-half-to-even of x·255 (computed in Float, clamped to [0, 255]; NaN → 0):
/// an image read from IDX u8 (x = u/255) comes back as the same bytes.
///
/// Memory: one fixed byte buffer from `init`; `append` allocates nothing.
public final class AdversarialWriter {
    public enum Format: String, CaseIterable, Sendable {
        case npy, idx
    }

    public let path: String
    public let format: Format
    public let channels: Int, height: Int, width: Int
    /// Images appended so far.
    public private(set) var count = 0
    /// Header bytes: npy 128 (10-byte preamble + dictionary padded with spaces, ends in \n; a
    /// multiple of 64 as NumPy asks), IDX 16 (magic 00 00 08 03, then N, H, W as big-endian u32).
    public var headerSize: Int { format == .npy ? 128 : 16 }
    /// Bytes one image takes in the file.
    public var bytesPerImage: Int { channels * height * width * (format == .npy ? 4 : 1) }

    let fd: Int32
    let buffer: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var used = 0
    var closed = false

    /// Opens (creates or truncates) `path` and writes the header with N = 0.
    /// `bufferBytes`: size of the write buffer (at least one image).
    public init(path: String, format: Format, channels: Int, height: Int, width: Int, bufferBytes: Int = 1 << 16) throws {
        precondition(channels >= 1 && height >= 1 && width >= 1)
        self.path = path; self.format = format
        self.channels = channels; self.height = height; self.width = width
        if format == .idx && channels != 1 { throw AdversarialWriterError.idxNeedsOneChannel(path: path, channels: channels) }
        try Self.checkRegular(path)
        var fd: Int32
        repeat { fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw AdversarialWriterError.cannotOpen(path: path, reason: Self.errnoText()) }
        self.fd = fd
        let perImage = channels * height * width * (format == .npy ? 4 : 1)
        capacity = max(bufferBytes, perImage)
        buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(capacity, 128))
        do {
            try writeHeader()
            guard lseek(fd, off_t(headerSize), SEEK_SET) == off_t(headerSize) else {
                throw AdversarialWriterError.writeFailed(path: path, reason: Self.errnoText())
            }
        } catch {
            _ = close(fd); buffer.deallocate(); closed = true
            throw error
        }
    }

    deinit {
        if !closed { _ = close(fd) }
        buffer.deallocate()
    }

    /// Refuses `path` if it exists and is not a regular file (the header must be rewritable).
    public static func checkRegular(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { return }   // does not exist yet: it will be created
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG else {
            let what: String
            switch kind {
            case S_IFIFO: what = "a pipe"
            case S_IFCHR: what = "a character device (terminal?)"
            case S_IFDIR: what = "a directory"
            case S_IFSOCK: what = "a socket"
            default: what = "not a regular file"
            }
            throw AdversarialWriterError.notRegularFile(path: path, what: what)
        }
    }

    /// Appends one image of `channels·height·width` values (channel-major, pixel space [0, 1]).
    public func append(_ image: UnsafePointer<Float>) throws {
        precondition(!closed, "append after finish")
        if format == .idx && count == Int(UInt32.max) { throw AdversarialWriterError.tooManyImagesForIDX(path: path) }
        let n = channels * height * width
        if used + bytesPerImage > capacity { try flush() }
        let out = buffer + used
        switch format {
        case .npy:
            let raw = UnsafeMutableRawPointer(out)
            for i in 0..<n { raw.storeBytes(of: image[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        case .idx:
            for i in 0..<n { out[i] = Self.byte(image[i]) }
        }
        used += bytesPerImage
        count += 1
    }

    /// The IDX byte of a pixel value x: round half to even of x·255 (Float), clamped to [0, 255], NaN → 0.
    @inline(__always) public static func byte(_ x: Float) -> UInt8 {
        let v = x * 255
        guard v > 0 else { return 0 }
        guard v < 255 else { return 255 }
        return UInt8(v.rounded(.toNearestOrEven))
    }

    /// Writes the buffered images and the header with the current count.
    public func sync() throws {
        try flush()
        try writeHeader()
    }

    /// `sync()` and close; the file then holds exactly `count` images.
    public func finish() throws {
        guard !closed else { return }
        try sync()
        closed = true
        guard close(fd) == 0 else { throw AdversarialWriterError.writeFailed(path: path, reason: Self.errnoText()) }
    }

    func flush() throws {
        var done = 0
        while done < used {
            let r = write(fd, buffer + done, used - done)
            if r < 0 {
                if errno == EINTR { continue }
                throw AdversarialWriterError.writeFailed(path: path, reason: Self.errnoText())
            }
            done += r
        }
        used = 0
    }

    /// The header for `count` images, written at offset 0 (pwrite: the data offset stays put).
    /// Built in the (empty, just flushed) write buffer, so it allocates nothing.
    func writeHeader() throws {
        precondition(used == 0)
        Self.header(format: format, count: count, channels: channels, height: height, width: width, into: buffer)
        var done = 0
        while done < headerSize {
            let r = pwrite(fd, buffer + done, headerSize - done, off_t(done))
            if r < 0 {
                if errno == EINTR { continue }
                throw AdversarialWriterError.writeFailed(path: path, reason: Self.errnoText())
            }
            done += r
        }
    }

    /// Header bytes (`headerSize` of them) for `count` images.
    static func header(format: Format, count: Int, channels: Int, height: Int, width: Int, into h: UnsafeMutablePointer<UInt8>) {
        switch format {
        case .idx:
            func word(_ i: Int, _ w: Int) { for b in 0..<4 { h[4 * i + b] = UInt8(truncatingIfNeeded: w >> (24 - 8 * b)) } }
            word(0, 0x0000_0803); word(1, count); word(2, height); word(3, width)
        case .npy:
            // \x93NUMPY 1.0, then the dictionary's length (u16 LE) and the dictionary
            var i = 0
            func put(_ s: StaticString) { s.withUTF8Buffer { for b in $0 { h[i] = b; i += 1 } } }
            func put(_ v: Int) {
                var div = 1
                while div <= v / 10 { div *= 10 }
                while div > 0 { h[i] = UInt8(48 + (v / div) % 10); i += 1; div /= 10 }
            }
            h[0] = 0x93; i = 1
            put("NUMPY")
            h[6] = 1; h[7] = 0
            let dictSize = 128 - 10
            h[8] = UInt8(dictSize & 0xFF); h[9] = UInt8(dictSize >> 8)
            i = 10
            put("{'descr': '<f4', 'fortran_order': False, 'shape': (")
            put(count); put(", ")
            if channels != 1 { put(channels); put(", ") }
            put(height); put(", "); put(width); put("), }")
            precondition(i < 127, "npy header too long")
            while i < 127 { h[i] = 0x20; i += 1 }
            h[127] = 0x0A
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Why `AdversarialWriter` could not write its file (the CLI words them as `path: …`).
public enum AdversarialWriterError: Error, CustomStringConvertible, Equatable {
    case notRegularFile(path: String, what: String)
    case cannotOpen(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case idxNeedsOneChannel(path: String, channels: Int)
    case tooManyImagesForIDX(path: String)

    public var description: String {
        switch self {
        case let .notRegularFile(path, what):
            return "\(path): is \(what); the adversarial output must be a regular file (its header's image count is written at the end)"
        case let .cannotOpen(path, reason):
            return "\(path): cannot open for writing (\(reason))"
        case let .writeFailed(path, reason):
            return "\(path): cannot write (\(reason))"
        case let .idxNeedsOneChannel(path, channels):
            return "\(path): IDX output holds one-channel images, these have \(channels) channels (use the npy format)"
        case let .tooManyImagesForIDX(path):
            return "\(path): more than 2³²−1 images do not fit an IDX header"
        }
    }
}
