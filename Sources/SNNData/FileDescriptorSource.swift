#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file descriptor with read(2), retrying on EINTR.
public final class FileDescriptorSource: ByteSource {
    /// The path given at open time, or "<stdin>".
    public let name: String
    /// The underlying descriptor.
    public let fd: Int32
    private let ownsDescriptor: Bool

    /// Opens `path` read-only. Throws `DataError.cannotOpen` with the errno string on failure.
    public init(path: String) throws {
        var fd: Int32
        repeat {
            fd = open(path, O_RDONLY | O_CLOEXEC)
        } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw DataError.cannotOpen(path: path, reason: errnoString()) }
        self.fd = fd
        self.name = path
        self.ownsDescriptor = true
    }

    /// Wraps an existing descriptor; it is closed on deinit only if `closeOnDeinit`.
    public init(fd: Int32, name: String, closeOnDeinit: Bool) {
        self.fd = fd
        self.name = name
        self.ownsDescriptor = closeOnDeinit
    }

    /// Standard input (fd 0, named "<stdin>", never closed).
    public static func standardInput() -> FileDescriptorSource {
        FileDescriptorSource(fd: 0, name: "<stdin>", closeOnDeinit: false)
    }

    deinit {
        if ownsDescriptor { _ = close(fd) }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            #if canImport(Glibc)
            let n = Glibc.read(fd, base, buffer.count)
            #else
            let n = Darwin.read(fd, base, buffer.count)
            #endif
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw DataError.readFailed(name: name, reason: errnoString())
        }
    }
}

func errnoString() -> String {
    String(cString: strerror(errno))
}
