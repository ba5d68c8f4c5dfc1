import XCTest
import SNNData

final class IDXImageStreamTests: XCTestCase {
    let (n, rows, cols) = (13, 5, 7)

    private func checkFloatRoundTrip(path: String, pixels: [UInt8]) throws {
        var stream = try IDXImageStream(path: path)
        XCTAssertEqual(stream.count, n)
        XCTAssertEqual(stream.rows, rows)
        XCTAssertEqual(stream.cols, cols)
        XCTAssertEqual(stream.pixelsPerImage, rows * cols)
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
        defer { buf.deallocate() }
        var record = 0
        while try stream.next(into: buf) {
            for i in 0..<(rows * cols) {
                let b = pixels[record * rows * cols + i]
                XCTAssertEqual(buf[i], Float(b) / 255)
                XCTAssertEqual(UInt8((buf[i] * 255).rounded()), b)
            }
            record += 1
        }
        XCTAssertEqual(record, n)
        XCTAssertEqual(stream.recordsRead, n)
        XCTAssertFalse(try stream.next(into: buf), "stays at end")
    }

    func testPlainRoundTrip() throws {
        let dir = try makeTempDir(self)
        let pixels = samplePixels(count: n, rows: rows, cols: cols)
        let path = try write(idxBytes(magic: 0x803, dims: [n, rows, cols], payload: pixels), to: dir, "img.idx")
        try checkFloatRoundTrip(path: path, pixels: pixels)
        var raw = try IDXImageStream(path: path)
        XCTAssertEqual(try readAllRaw(&raw), pixels)
    }

    func testGzipRoundTrip() throws {
        let dir = try makeTempDir(self)
        let pixels = samplePixels(count: n, rows: rows, cols: cols)
        let path = try write(gzip(idxBytes(magic: 0x803, dims: [n, rows, cols], payload: pixels)), to: dir, "img.idx.gz")
        try checkFloatRoundTrip(path: path, pixels: pixels)
    }

    func testGzipFromSystemGzip() throws {
        guard FileManager.default.isExecutableFile(atPath: "/bin/gzip") else { throw XCTSkip("no /bin/gzip") }
        let dir = try makeTempDir(self)
        let pixels = samplePixels(count: n, rows: rows, cols: cols)
        let path = try write(idxBytes(magic: 0x803, dims: [n, rows, cols], payload: pixels), to: dir, "sys.idx")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-9", path]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        try checkFloatRoundTrip(path: path + ".gz", pixels: pixels)
    }

    func testMultiMemberGzip() throws {
        let dir = try makeTempDir(self)
        let pixels = samplePixels(count: n, rows: rows, cols: cols)
        let whole = idxBytes(magic: 0x803, dims: [n, rows, cols], payload: pixels)
        // Split mid-header and mid-record so members do not align with anything.
        let cuts = [0, 6, 100, 101, whole.count]
        var gz: [UInt8] = []
        for k in 0..<(cuts.count - 1) { gz += gzip(Array(whole[cuts[k]..<cuts[k + 1]])) }
        gz += gzip([]) // an empty member too
        let path = try write(gz, to: dir, "multi.gz")
        try checkFloatRoundTrip(path: path, pixels: pixels)
    }

    func testShortReadsThroughGzip() throws {
        let pixels = samplePixels(count: n, rows: rows, cols: cols)
        let whole = idxBytes(magic: 0x803, dims: [n, rows, cols], payload: pixels)
        let gz = gzip(Array(whole.prefix(50))) + gzip(Array(whole.dropFirst(50)))
        for chunk in [1, 3, 7] {
            let src = try decompressingIfGzip(MemorySource(gz, name: "mem.gz", maxChunk: chunk))
            var stream = try IDXImageStream(source: src)
            XCTAssertEqual(try readAllRaw(&stream), pixels)
        }
    }

    func testBadMagic() throws {
        let dir = try makeTempDir(self)
        let path = try write(idxBytes(magic: 0xDEAD_BEEF, dims: [1, 2, 2], payload: [0, 0, 0, 0]), to: dir, "bad.idx")
        let e = expectDataError { _ = try IDXImageStream(path: path) }
        XCTAssertEqual(e, .badMagic(name: path, found: 0xDEAD_BEEF, expected: 0x803))
        XCTAssertEqual(e?.description, "\(path): bad magic 0xdeadbeef (expected 0x00000803)")
    }

    func testLabelFileGivenAsImagesAndFloatType() throws {
        let labels = idxBytes(magic: 0x801, dims: [2], payload: [1, 2])
        let e1 = expectDataError { _ = try IDXImageStream(source: MemorySource(labels, name: "l")) }
        guard case .unsupportedIDX(name: "l", detail: let d1)? = e1 else { return XCTFail("\(String(describing: e1))") }
        XCTAssertTrue(d1.contains("1 dimensions"), d1)
        let floats = idxBytes(magic: 0xD03, dims: [1, 1, 1], payload: [0, 0, 0, 0])
        let e2 = expectDataError { _ = try IDXImageStream(source: MemorySource(floats, name: "f")) }
        guard case .unsupportedIDX(name: "f", detail: let d2)? = e2 else { return XCTFail("\(String(describing: e2))") }
        XCTAssertTrue(d2.contains("f32"), d2)
    }

    func testTruncatedHeader() throws {
        let bytes = Array(idxBytes(magic: 0x803, dims: [1, 2, 2], payload: []).prefix(10))
        let e = expectDataError { _ = try IDXImageStream(source: MemorySource(bytes, name: "h")) }
        XCTAssertEqual(e, .truncatedHeader(name: "h", got: 10, expected: 16))
        let empty = expectDataError { _ = try IDXImageStream(source: MemorySource([], name: "h")) }
        XCTAssertEqual(empty, .truncatedHeader(name: "h", got: 0, expected: 16))
    }

    func testTruncatedLastRecord() throws {
        let dir = try makeTempDir(self)
        let pixels = samplePixels(count: n, rows: rows, cols: cols)
        let cut = idxBytes(magic: 0x803, dims: [n, rows, cols], payload: pixels).dropLast(10)
        for (file, bytes) in [("cut.idx", Array(cut)), ("cut.idx.gz", gzip(Array(cut)))] {
            let path = try write(bytes, to: dir, file)
            var stream = try IDXImageStream(path: path)
            let e = expectDataError { _ = try readAllRaw(&stream) }
            XCTAssertEqual(e, .truncated(name: path, record: n - 1, got: rows * cols - 10, expected: rows * cols))
            XCTAssertEqual(e?.description, "\(path): record 12 is truncated (got 25 of 35 bytes)")
        }
        // Missing whole records: the first missing record is named.
        let short = idxBytes(magic: 0x803, dims: [n, rows, cols], payload: Array(pixels.prefix(3 * rows * cols)))
        var stream = try IDXImageStream(source: MemorySource(short, name: "<stdin>"))
        let e = expectDataError { _ = try readAllRaw(&stream) }
        XCTAssertEqual(e?.description, "<stdin>: record 3 is truncated (got 0 of 35 bytes)")
    }

    func testTrailingGarbage() throws {
        let dir = try makeTempDir(self)
        let pixels = samplePixels(count: n, rows: rows, cols: cols)
        let bytes = idxBytes(magic: 0x803, dims: [n, rows, cols], payload: pixels) + [42]
        for (file, data) in [("t.idx", bytes), ("t.idx.gz", gzip(bytes))] {
            let path = try write(data, to: dir, file)
            var stream = try IDXImageStream(path: path)
            let e = expectDataError { _ = try readAllRaw(&stream) }
            XCTAssertEqual(e, .trailingData(name: path, declared: n))
            XCTAssertEqual(stream.recordsRead, n)
        }
    }

    func testExpectedCountMismatch() throws {
        let bytes = idxBytes(magic: 0x803, dims: [2, 1, 1], payload: [1, 2])
        let e = expectDataError { _ = try IDXImageStream(source: MemorySource(bytes, name: "x"), expectedCount: 3) }
        XCTAssertEqual(e?.description, "x: header declares 2 records but 3 were expected")
    }

    func testManyRecordsReusingOneBuffer() throws {
        let count = 10_000, side = 28
        let payload = [UInt8](repeating: 7, count: count * side * side)
        let gz = gzip(idxBytes(magic: 0x803, dims: [count, side, side], payload: payload))
        var stream = try IDXImageStream(source: decompressingIfGzip(MemorySource(gz, name: "big.gz")))
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: stream.pixelsPerImage)
        defer { buf.deallocate() }
        var seen = 0
        while try stream.next(into: buf) { seen += 1 }
        XCTAssertEqual(seen, count)
        XCTAssertEqual(buf[side * side - 1], Float(7) / 255)
    }
}
