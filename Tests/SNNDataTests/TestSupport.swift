import CZlib
import Foundation
import XCTest
import SNNData

/// Big-endian IDX file bytes: magic then one u32 per dimension, then `payload`.
func idxBytes(magic: UInt32, dims: [Int], payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    func u32(_ v: UInt32) { out += [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
    u32(magic)
    for d in dims { u32(UInt32(d)) }
    return out + payload
}

/// Deterministic pixel payload covering all byte values.
func samplePixels(count: Int, rows: Int, cols: Int) -> [UInt8] {
    (0..<(count * rows * cols)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 7) }
}

/// One gzip member of `bytes`, made with zlib (windowBits 15 + 16 = gzip wrapper).
func gzip(_ bytes: [UInt8]) -> [UInt8] {
    var strm = z_stream()
    var ret = deflateInit2_(&strm, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    precondition(ret == Z_OK)
    defer { deflateEnd(&strm) }
    var input = bytes
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&strm, uLong(bytes.count))) + 64)
    input.withUnsafeMutableBufferPointer { inp in
        out.withUnsafeMutableBufferPointer { o in
            strm.next_in = inp.baseAddress
            strm.avail_in = uInt(inp.count)
            strm.next_out = o.baseAddress
            strm.avail_out = uInt(o.count)
            ret = deflate(&strm, Z_FINISH)
        }
    }
    precondition(ret == Z_STREAM_END)
    return Array(out[0..<Int(strm.total_out)])
}

/// A fresh temporary directory, removed at the end of the test.
func makeTempDir(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("snndata-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

func write(_ bytes: [UInt8], to dir: URL, _ name: String) throws -> String {
    let url = dir.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

/// Runs `body` and returns the `DataError` it throws (failing if it throws nothing else).
func expectDataError(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> DataError? {
    do {
        try body()
        XCTFail("expected a DataError", file: file, line: line)
    } catch let e as DataError {
        return e
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
    return nil
}

/// Reads every record of `stream` as raw bytes.
func readAllRaw(_ stream: inout IDXImageStream) throws -> [UInt8] {
    var all: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: stream.pixelsPerImage)
    while try buf.withUnsafeMutableBufferPointer({ try stream.nextRaw(into: $0.baseAddress!) }) {
        all += buf
    }
    return all
}
