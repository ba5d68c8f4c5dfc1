import Foundation
import XCTest
import SNNData

final class GzipAndSourceTests: XCTestCase {
    private func drain(_ source: inout any ByteSource, chunk: Int = 1000) throws -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = try buf.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { return out }
            out += buf[0..<n]
        }
    }

    func testPlainFilePassesThroughUnchanged() throws {
        let dir = try makeTempDir(self)
        let bytes: [UInt8] = [0x1f, 0x00, 1, 2, 3] // starts like gzip but isn't
        var s = try openByteStream(path: write(bytes, to: dir, "plain"))
        XCTAssertEqual(try drain(&s), bytes)
        var one = try openByteStream(path: write([0x1f], to: dir, "one"))
        XCTAssertEqual(try drain(&one), [0x1f])
        var empty = try openByteStream(path: write([], to: dir, "empty"))
        XCTAssertEqual(try drain(&empty), [])
    }

    func testMultiMemberAndCorruption() throws {
        let a = [UInt8](repeating: 1, count: 70_000), b: [UInt8] = [9, 8, 7]
        var s = try decompressingIfGzip(MemorySource(gzip(a) + gzip(b), name: "m.gz", maxChunk: 4096))
        XCTAssertEqual(try drain(&s, chunk: 333), a + b)

        var garbage = try decompressingIfGzip(MemorySource(gzip(b) + [0x55, 0x66], name: "g.gz"))
        XCTAssertEqual(expectDataError { _ = try drain(&garbage) },
                       .gzipCorrupt(name: "g.gz", message: "unexpected data after the end of the gzip member"))
        let cut = Array(gzip(a).dropLast(20))
        var truncated = try decompressingIfGzip(MemorySource(cut, name: "c.gz"))
        let e = expectDataError { _ = try drain(&truncated) }
        XCTAssertEqual(e, .gzipCorrupt(name: "c.gz", message: "unexpected end of compressed data: truncated, or the trailer is missing"))
        var flipped = gzip(a)
        flipped[flipped.count / 2] ^= 0xff
        var bad = try decompressingIfGzip(MemorySource(flipped, name: "f.gz"))
        XCTAssertNotNil(expectDataError { _ = try drain(&bad) })
    }

    func testCannotOpen() {
        let e = expectDataError { _ = try openByteStream(path: "/nonexistent/x.gz") }
        XCTAssertEqual(e, .cannotOpen(path: "/nonexistent/x.gz", reason: "No such file or directory"))
        XCTAssertEqual(e?.description, "/nonexistent/x.gz: cannot open (No such file or directory)")
    }

    func testStdinNameAndPipe() throws {
        XCTAssertEqual(FileDescriptorSource.standardInput().name, "<stdin>")
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let payload = gzip([UInt8](repeating: 3, count: 5000))
        let writeFd = fds[1]
        let writer = Thread {
            payload.withUnsafeBytes { p in
                var off = 0
                while off < p.count { off += max(0, Foundation.write(writeFd, p.baseAddress! + off, min(100, p.count - off))) }
            }
            close(writeFd)
        }
        writer.start()
        var s = try decompressingIfGzip(FileDescriptorSource(fd: fds[0], name: "<pipe>", closeOnDeinit: true))
        XCTAssertEqual(s.name, "<pipe>")
        XCTAssertEqual(try drain(&s), [UInt8](repeating: 3, count: 5000))
    }

    func testBufferedReaderPeekAndExact() throws {
        let r = BufferedReader(MemorySource(Array(0..<100), name: "b", maxChunk: 3), capacity: 16)
        XCTAssertEqual(Array(try r.peek(5)), [0, 1, 2, 3, 4])
        var buf = [UInt8](repeating: 0, count: 90)
        XCTAssertTrue(try buf.withUnsafeMutableBytes { try r.readExactly(into: $0.baseAddress!, count: 40) })
        XCTAssertEqual(Array(buf[0..<40]), Array(0..<40))
        XCTAssertEqual(Array(try r.peek(16)), Array(40..<56))
        let e = expectDataError { _ = try buf.withUnsafeMutableBytes { try r.readExactly(into: $0.baseAddress!, count: 90, record: 4) } }
        XCTAssertEqual(e, .truncated(name: "b", record: 4, got: 60, expected: 90))
        XCTAssertTrue(try r.isAtEnd())
        XCTAssertFalse(try buf.withUnsafeMutableBytes { try r.readExactly(into: $0.baseAddress!, count: 1) })
    }

    /// The gzip trailer (CRC-32 and ISIZE) is verified once the data are read to the end: a missing
    /// trailer, a wrong CRC or length, and bytes after the member are errors (issue 11).
    func testGzipTrailerIsVerified() throws {
        let data = [UInt8](repeating: 5, count: 3000) + Array(0..<200)
        let gz = gzip(data)
        func endOf(_ bytes: [UInt8]) -> DataError? {
            // reads exactly the uncompressed length, then asks whether the stream ends there
            let r = BufferedReader(try! decompressingIfGzip(MemorySource(bytes, name: "t.gz")))
            var buf = [UInt8](repeating: 0, count: data.count)
            do {
                let complete = try buf.withUnsafeMutableBytes { try r.readExactly(into: $0.baseAddress!, count: data.count) }
                let atEnd = try r.isAtEnd()
                XCTAssertTrue(complete && atEnd && buf == data)
                return nil
            } catch let e as DataError { return e } catch { XCTFail("\(error)"); return nil }
        }
        XCTAssertNil(endOf(gz), "intact")
        XCTAssertEqual(endOf(Array(gz.dropLast(8))), .gzipCorrupt(name: "t.gz", message: "unexpected end of compressed data: truncated, or the trailer is missing"))
        XCTAssertEqual(endOf(Array(gz.dropLast(3))), .gzipCorrupt(name: "t.gz", message: "unexpected end of compressed data: truncated, or the trailer is missing"))
        var crc = gz; crc[crc.count - 8] ^= 1
        XCTAssertEqual(endOf(crc), .gzipCorrupt(name: "t.gz", message: "CRC-32 mismatch in the gzip trailer (incorrect data check)"))
        var size = gz; size[size.count - 1] ^= 1
        XCTAssertEqual(endOf(size), .gzipCorrupt(name: "t.gz", message: "length mismatch in the gzip trailer (incorrect length check)"))
        XCTAssertEqual(endOf(gz + [0]), .gzipCorrupt(name: "t.gz", message: "unexpected data after the end of the gzip member"))
        XCTAssertEqual(endOf(gz + [0x1f, 0x00]), .gzipCorrupt(name: "t.gz", message: "unexpected data after the end of the gzip member"))
        XCTAssertNil(endOf(gz + gzip([])), "an empty second member is fine")
    }

    /// Endless zeros after a gzip member are reported at once, not read to their end.
    func testTrailingZerosAfterGzipFailFast() throws {
        let gz = gzip([1, 2, 3])
        let source = ZerosAfter(prefix: gz)
        var s = try decompressingIfGzip(source)
        let e = expectDataError { _ = try drain(&s) }
        XCTAssertEqual(e, .gzipCorrupt(name: "zeros", message: "unexpected data after the end of the gzip member"))
        XCTAssertLessThan(source.served, 1 << 20, "read only a buffer or two")
    }
}

/// `prefix`, then zeros forever; counts the bytes served.
private final class ZerosAfter: ByteSource {
    let name = "zeros"
    let prefix: [UInt8]
    var served = 0
    init(prefix: [UInt8]) { self.prefix = prefix }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        for i in 0..<buffer.count { buffer[i] = served + i < prefix.count ? prefix[served + i] : 0 }
        served += buffer.count
        return buffer.count
    }
}
