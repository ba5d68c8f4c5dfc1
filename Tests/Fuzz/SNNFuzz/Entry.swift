import Foundation

// libFuzzer entry points (linked with -sanitize=fuzzer; scripts/fuzz builds and runs them).
// One binary holds every target; SNN_FUZZ_TARGET picks one (FuzzTargets.swift).
// The property: every input either parses or throws — a trap (precondition, overflow, index out
// of range), a hang (-timeout) or unbounded memory (-rss_limit_mb) is a failure libFuzzer reports.

nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let name = ProcessInfo.processInfo.environment["SNN_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget.all.first(where: { $0.name == name }) else {
        let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
        FileHandle.standardError.write("snn-fuzz: set SNN_FUZZ_TARGET to one of: \(names)\n".data(using: .utf8)!)
        exit(2)
    }
    selected = t
    t.setUp()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected!.run(bytes)
    return 0
}
