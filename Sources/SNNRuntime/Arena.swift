#if canImport(Glibc)
import Foundation
import Glibc
#endif

/// Raised when a request does not fit the memory fixed at start-up. `needed` is the arena size in
/// bytes that would have satisfied every request so far plus this one.
public struct OutOfBudget: Error, CustomStringConvertible, Equatable {
    public let needed: Int
    public let budget: Int
    public let what: String
    public init(needed: Int, budget: Int, what: String) { self.needed = needed; self.budget = budget; self.what = what }
    public var description: String {
        "out of memory budget: \(what) needs an arena of \(needed) bytes (\(ByteCount.format(needed))), "
            + "budget is \(budget) bytes (\(ByteCount.format(budget))); "
            + "pass --memory-budget \(ByteCount.roundedUpMiB(needed)) or more"
    }
}

/// Raised when an arena cannot be had: larger than physical memory, or the allocation failed.
public struct AllocationFailure: Error, CustomStringConvertible, Equatable {
    public let requested: Int
    public let what: String
    public let reason: String
    public init(requested: Int, what: String, reason: String) { self.requested = requested; self.what = what; self.reason = reason }
    public var description: String {
        "cannot allocate \(what): \(requested) bytes (\(ByteCount.format(requested))) were asked, \(reason)"
    }
}

/// One 64-byte-aligned block of memory sized at start-up. Allocation is a bump of `used`;
/// `mark()` / `reset(to:)` scope temporaries. Nothing is freed individually and nothing grows.
public final class Arena {
    public static let alignment = 64
    public let capacity: Int
    public let base: UnsafeMutableRawPointer
    public private(set) var used = 0
    public private(set) var highWater = 0

    /// An arena of a size fixed in code (tests, trainers' known plans); traps if it cannot be had.
    /// Sizes that come from flags or files go through `init(reserving:for:)`.
    public convenience init(capacity: Int) {
        do { try self.init(reserving: capacity, for: "arena") } catch { preconditionFailure("\(error)") }
    }

    /// An arena of `capacity` bytes, refused before anything is allocated when it exceeds the
    /// machine's physical memory, and a typed error (not a trap) when the allocation fails.
    /// - Throws: `AllocationFailure` naming `what` and the size.
    public init(reserving capacity: Int, for what: @autoclosure () -> String) throws {
        guard capacity >= 0 else { throw AllocationFailure(requested: capacity, what: what(), reason: "negative size") }
        if let physical = Arena.physicalMemory, capacity > physical {
            throw AllocationFailure(requested: capacity, what: what(),
                                    reason: "more than the machine's physical memory, \(physical) bytes (\(ByteCount.format(physical)))")
        }
        var p: UnsafeMutableRawPointer? = nil
        let rc = posix_memalign(&p, Arena.alignment, max(capacity, Arena.alignment))
        guard rc == 0, let p else {
            throw AllocationFailure(requested: capacity, what: what(), reason: "posix_memalign failed: \(String(cString: strerror(rc)))")
        }
        self.capacity = capacity
        base = p
    }

    /// Physical memory in bytes (sysconf pages × page size), or nil when the system does not say.
    public static let physicalMemory: Int? = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return nil }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: size)
        return overflow ? Int.max : bytes
    }()
    deinit { free(base) }

    /// Bytes a request of `count` elements of `T` takes in the arena (rounded to the alignment).
    @inlinable public static func footprint<T>(_ count: Int, of _: T.Type) -> Int {
        let bytes = count * MemoryLayout<T>.stride
        return (bytes + alignment - 1) / alignment * alignment
    }

    /// A zero-initialised buffer of `count` elements of `T`.
    public func allocate<T>(_ count: Int, of type: T.Type = T.self, for what: @autoclosure () -> String = "buffer")
        throws -> UnsafeMutablePointer<T>
    {
        let bytes = Arena.footprint(count, of: type)
        guard used + bytes <= capacity else {
            throw OutOfBudget(needed: used + bytes, budget: capacity, what: what())
        }
        let p = base + used
        used += bytes
        highWater = max(highWater, used)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return p.bindMemory(to: T.self, capacity: max(count, 1))
    }

    public func floats(_ count: Int, for what: @autoclosure () -> String = "buffer") throws -> UnsafeMutablePointer<Float> {
        try allocate(count, of: Float.self, for: what())
    }

    public func mark() -> Int { used }
    public func reset(to mark: Int) {
        precondition(mark <= used)
        used = mark
    }
}

/// Human-readable byte counts, and the parser for `--memory-budget SIZE`.
public enum ByteCount {
    public static func format(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(bytes), u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        if u == 0 { return "\(bytes) B" }
        return String(format: "%.1f %@", v, units[u])
    }

    public static func roundedUpMiB(_ bytes: Int) -> String {
        "\((bytes + (1 << 20) - 1) >> 20)MiB"
    }

    /// Parses "123", "64K", "64KB", "1.5M", "2GiB"… K/M/G are decimal (10³), KiB/MiB/GiB binary.
    public static func parse(_ text: String) -> Int? {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { return nil }
        var numberEnd = s.startIndex
        while numberEnd < s.endIndex, s[numberEnd].isNumber || s[numberEnd] == "." { numberEnd = s.index(after: numberEnd) }
        guard let value = Double(s[s.startIndex..<numberEnd]), value >= 0 else { return nil }
        let unit = s[numberEnd...].trimmingCharacters(in: .whitespaces).lowercased()
        let scale: Double
        switch unit {
        case "", "b": scale = 1
        case "k", "kb": scale = 1e3
        case "m", "mb": scale = 1e6
        case "g", "gb": scale = 1e9
        case "kib": scale = 1024
        case "mib": scale = 1_048_576
        case "gib": scale = 1_073_741_824
        default: return nil
        }
        let bytes = value * scale
        // any size an Int holds is a size: whether it can be had is the arena's check (physical memory)
        guard bytes < 9e18 else { return nil }
        return Int(bytes.rounded(.up))
    }
}
