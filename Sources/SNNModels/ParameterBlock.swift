#if canImport(Glibc)
import Glibc
#endif

/// One contiguous, 64-byte-aligned block of parameters (or derived constants) owned by a model,
/// allocated once at load time.
public final class ParameterBlock {
    public let count: Int
    public let data: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = count
        var p: UnsafeMutableRawPointer? = nil
        precondition(posix_memalign(&p, 64, max(count, 16) * 4) == 0)
        data = p!.bindMemory(to: Float.self, capacity: max(count, 16))
        data.initialize(repeating: 0, count: max(count, 16))
    }
    deinit { free(data) }
}
