/// The memory a workspace needs, as named buffers. The same plan sizes the arena at start-up
/// (`bytes`), is printed by `snn info` / `--dry-run`, and is what the workspace allocates, so the
/// printed number and the real use cannot drift apart.
public struct MemoryPlan: CustomStringConvertible {
    public struct Entry { public let name: String; public let floats: Int }
    public private(set) var entries: [Entry] = []
    public init() {}

    public mutating func add(_ name: String, floats: Int) { entries.append(Entry(name: name, floats: floats)) }
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

    public var description: String {
        entries.map { "\($0.name): \($0.floats) floats" }.joined(separator: ", ") + " — \(bytes) bytes"
    }
}
