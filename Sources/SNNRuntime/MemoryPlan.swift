/// The memory a workspace needs, as named buffers. The same plan sizes the arena at start-up
/// (`bytes`), is printed by `snn info` / `--dry-run`, and is what the workspace allocates, so the
/// printed number and the real use cannot drift apart.
public struct MemoryPlan: CustomStringConvertible {
    public struct Entry { public let name: String; public let floats: Int }
    public private(set) var entries: [Entry] = []
    public init() {}

    public mutating func add(_ name: String, floats: Int) { entries.append(Entry(name: name, floats: floats)) }
    /// A buffer of `count` values of `T` (counted in floats, rounded up; read it back with `typed`).
    public mutating func add<T>(_ name: String, count: Int, of _: T.Type) {
        add(name, floats: (count * MemoryLayout<T>.stride + 3) / 4)
    }
    public mutating func add(_ other: MemoryPlan, times: Int = 1) {
        for _ in 0..<times { entries += other.entries }
    }
    /// Arena bytes, including the per-buffer alignment padding.
    public var bytes: Int { entries.reduce(0) { $0 + Arena.footprint($1.floats, of: Float.self) } }

    /// Allocates every entry in order; `buffers[name]` are the pointers.
    public func allocate(in arena: Arena) throws -> [String: UnsafeMutablePointer<Float>] {
        var out: [String: UnsafeMutablePointer<Float>] = [:]
        for e in entries { out[e.name] = try arena.floats(e.floats, for: e.name) }
        return out
    }

    /// `buffer` (an entry added with `add(_:count:of:)`) as `count` initialized values of `T`.
    public static func typed<T>(_ buffer: UnsafeMutablePointer<Float>, count: Int, initialValue: T) -> UnsafeMutablePointer<T> {
        precondition(MemoryLayout<T>.alignment <= Arena.alignment)
        let p = UnsafeMutableRawPointer(buffer).bindMemory(to: T.self, capacity: count)
        p.initialize(repeating: initialValue, count: count)
        return p
    }

    public var description: String {
        entries.map { "\($0.name): \($0.floats) floats" }.joined(separator: ", ") + " — \(bytes) bytes"
    }
}
