import Foundation
import XCTest
@testable import SNNData

/// Pixel byte of record `r`, channel `c`, row `y`, column `x` (distinct across channels and positions).
private func cifarPixel(_ r: Int, _ c: Int, _ y: Int, _ x: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: r &* 101 &+ c &* 67 &+ y &* 32 &+ x &* 5 &+ (y * x) / 3)
}

/// CIFAR-10 binary records: label byte then the R, G, B planes, each row-major.
private func cifarRecords(labels: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(labels.count * 3073)
    for (r, label) in labels.enumerated() {
        out.append(label)
        for c in 0..<3 { for y in 0..<32 { for x in 0..<32 { out.append(cifarPixel(r, c, y, x)) } } }
    }
    return out
}

private let sampleLabels: [UInt8] = [3, 0, 9, 1, 7, 5]

final class CIFAR10Tests: XCTestCase {
    func testFloatRoundTripInCHWOrderWithLabels() throws {
        var stream = CIFAR10Stream(source: MemorySource(cifarRecords(labels: sampleLabels), maxChunk: 1000))
        XCTAssertEqual(stream.name, "<memory>")
        let pixels = UnsafeMutablePointer<Float>.allocate(capacity: 3072)
        defer { pixels.deallocate() }
        for (r, label) in sampleLabels.enumerated() {
            XCTAssertEqual(try stream.next(into: pixels), Int(label))
            var mismatches = 0
            for c in 0..<3 { for y in 0..<32 { for x in 0..<32 {
                if pixels[c * 1024 + y * 32 + x] != Float(cifarPixel(r, c, y, x)) / 255 { mismatches += 1 }
            } } }
            XCTAssertEqual(mismatches, 0, "record \(r)")
            XCTAssertEqual(stream.recordsRead, r + 1)
        }
        XCTAssertNil(try stream.next(into: pixels))
        XCTAssertNil(try stream.next(into: pixels), "stays at the end")
        XCTAssertEqual(stream.recordsRead, sampleLabels.count)
    }

    func testRawBytesThroughGzipFile() throws {
        let dir = try makeTempDir(self)
        let bytes = cifarRecords(labels: sampleLabels)
        let path = try write(gzip(bytes), to: dir, "data_batch.bin.gz")
        var stream = try CIFAR10Stream(path: path)
        XCTAssertEqual(stream.name, path)
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: CIFAR10Stream.pixelsPerImage)
        while let label = try buf.withUnsafeMutableBufferPointer({ try stream.nextRaw(into: $0.baseAddress!) }) {
            got.append(UInt8(label))
            got += buf
        }
        XCTAssertEqual(got, bytes)
    }

    func testTruncatedLastRecordNamesTheIndex() throws {
        let bytes = Array(cifarRecords(labels: [UInt8](repeating: 4, count: 8)).prefix(7 * 3073 + 1000))
        var stream = CIFAR10Stream(source: MemorySource(bytes, name: "<stdin>", maxChunk: 777))
        var buf = [UInt8](repeating: 0, count: 3072)
        for _ in 0..<7 {
            XCTAssertEqual(try buf.withUnsafeMutableBufferPointer { try stream.nextRaw(into: $0.baseAddress!) }, 4)
        }
        let err = expectDataError { _ = try buf.withUnsafeMutableBufferPointer { try stream.nextRaw(into: $0.baseAddress!) } }
        XCTAssertEqual(err, .truncated(name: "<stdin>", record: 7, got: 1000, expected: 3073))
        XCTAssertEqual(err?.description, "<stdin>: record 7 is truncated (got 1000 of 3073 bytes)")

        // a stream shorter than one record: record 0; through gzip as well
        let dir = try makeTempDir(self)
        let path = try write(gzip([1, 2, 3, 4, 5]), to: dir, "short.bin.gz")
        var short = try CIFAR10Stream(path: path)
        let pixels = UnsafeMutablePointer<Float>.allocate(capacity: 3072)
        defer { pixels.deallocate() }
        XCTAssertEqual(expectDataError { _ = try short.next(into: pixels) }?.description,
                       "\(path): record 0 is truncated (got 5 of 3073 bytes)")
    }

    /// An empty stream is an error, as an empty IDX stream is (issue 11); it used to hold zero records.
    func testEmptyStreamIsAnError() throws {
        let pixels = UnsafeMutablePointer<Float>.allocate(capacity: 3072)
        defer { pixels.deallocate() }
        var stream = CIFAR10Stream(source: MemorySource([]))
        XCTAssertEqual(expectDataError { _ = try stream.next(into: pixels) }, .emptyStream(name: "<memory>"))
        XCTAssertEqual(DataError.emptyStream(name: "<stdin>").description, "<stdin>: the input is empty (no images)")
        XCTAssertEqual(stream.recordsRead, 0)
        var unread = CIFAR10Stream(source: MemorySource([]))
        XCTAssertEqual(expectDataError { _ = try unread.isAtEnd() }, .emptyStream(name: "<memory>"))

        let dir = try makeTempDir(self)
        let path = try write(gzip([]), to: dir, "empty.bin.gz")
        var gz = try CIFAR10Stream(path: path)
        XCTAssertEqual(expectDataError { _ = try gz.next(into: pixels) }, .emptyStream(name: path))

        // one record, then the end: isAtEnd is false before it and true after it
        var one = CIFAR10Stream(source: MemorySource(cifarRecords(labels: [4])))
        XCTAssertFalse(try one.isAtEnd())
        XCTAssertEqual(try one.next(into: pixels), 4)
        XCTAssertTrue(try one.isAtEnd())
        XCTAssertNil(try one.next(into: pixels))
    }

    func testDetectionRule() {
        let idxImages = idxBytes(magic: 0x803, dims: [2, 28, 28], payload: samplePixels(count: 2, rows: 28, cols: 28))
        XCTAssertEqual(ImageFormat.detect(idxImages), .idx)
        XCTAssertEqual(ImageFormat.detect(idxBytes(magic: 0x801, dims: [3], payload: [1, 2, 3])), .idx, "IDX labels")
        XCTAssertEqual(ImageFormat.detect(idxBytes(magic: 0xD03, dims: [1, 2, 2], payload: [])), .idx, "IDX f32")
        XCTAssertEqual(ImageFormat.detect(cifarRecords(labels: [0])), .cifar10)
        XCTAssertEqual(ImageFormat.detect(cifarRecords(labels: [9])), .cifar10)
        XCTAssertEqual(ImageFormat.detect([0, 0, 0, 0]), .cifar10, "label 0, black pixels")
        XCTAssertNil(ImageFormat.detect(Array("not an idx file".utf8)), "unrecognised")
        XCTAssertNil(ImageFormat.detect([10, 0, 0, 0]))
        XCTAssertNil(ImageFormat.detect([]), "empty")
        XCTAssertEqual(ImageFormat.detect([5, 1]), .cifar10, "short CIFAR stream: reported as a truncated record")
        // an IDX-looking magic with a bad dimension byte is IDX (whose reader names the problem), not CIFAR
        XCTAssertEqual(ImageFormat.detect([0, 0, 8, 0xFF]), .idx)
        XCTAssertEqual(ImageFormat.detect([0, 0, 8, 0]), .idx)
        XCTAssertEqual(ImageFormat.detect([0x93] + Array("NUMPY".utf8) + [1, 0]), .npy)
        XCTAssertNil(ImageFormat.detect([0x93] + Array("NUMPX".utf8)))
    }

    func testSniffingErrors() throws {
        XCTAssertEqual(expectDataError { _ = try ImageFormat.detect(BufferedReader(MemorySource([], name: "e"))) }, .emptyStream(name: "e"))
        let text = BufferedReader(MemorySource(Array("not an image file".utf8), name: "<stdin>"))
        let e = expectDataError { _ = try ImageFormat.detect(text) }
        XCTAssertEqual(e, .unrecognisedFormat(name: "<stdin>", head: Array("not an i".utf8)))
        XCTAssertEqual(e?.description, "<stdin>: unrecognised image format (starts with 6e 6f 74 20 61 6e 20 69); accepted: "
                       + "IDX images (00 00 08 03), NumPy .npy (93 'NUMPY'), CIFAR-10 binary records (first byte a label 0…9)")
        XCTAssertEqual(Array(try text.peek(3)), Array("not".utf8), "sniffing consumes nothing")
        let dims = expectDataError { _ = try openImageStream(source: MemorySource([0, 0, 8, 0xFF] + [UInt8](repeating: 0, count: 6146))) }
        XCTAssertEqual(dims?.description, "<memory>: unsupported IDX file (255 dimensions, expected 3)")
    }

    func testAutoDetectedStreamsReadWithoutLosingBytes() throws {
        let dir = try makeTempDir(self)
        // IDX, plain and gzip'd, through a short-read source
        let payload = samplePixels(count: 3, rows: 28, cols: 28)
        let idx = idxBytes(magic: 0x803, dims: [3, 28, 28], payload: payload)
        for source in [MemorySource(idx, maxChunk: 3) as any ByteSource,
                       try openByteStream(path: write(gzip(idx), to: dir, "images.idx.gz"))] {
            var stream = try openImageStream(source: decompressingIfGzip(source))
            XCTAssertEqual(stream.format, .idx)
            XCTAssertEqual([stream.channels, stream.height, stream.width, stream.pixelsPerImage], [1, 28, 28, 784])
            XCTAssertEqual(stream.declaredCount, 3)
            XCTAssertFalse(stream.hasLabels)
            XCTAssertEqual(stream.shapeDescription, "28×28")
            XCTAssertEqual(try readAllImages(&stream), payload.map { Float($0) / 255 })
        }
        // CIFAR-10, plain and gzip'd
        let records = cifarRecords(labels: sampleLabels)
        let expected: [Float] = sampleLabels.indices.flatMap { r in
            (0..<3072).map { Float(records[r * 3073 + 1 + $0]) / 255 }
        }
        for path in [try write(records, to: dir, "batch.bin"), try write(gzip(records), to: dir, "batch.bin.gz")] {
            var stream = try openImageStream(path: path)
            XCTAssertEqual(stream.format, .cifar10)
            XCTAssertEqual([stream.channels, stream.height, stream.width, stream.pixelsPerImage], [3, 32, 32, 3072])
            XCTAssertNil(stream.declaredCount)
            XCTAssertTrue(stream.hasLabels)
            XCTAssertEqual(stream.shapeDescription, "3×32×32")
            var labels: [Int] = []
            XCTAssertEqual(try readAllImages(&stream, labels: &labels), expected)
            XCTAssertEqual(labels, sampleLabels.map { Int($0) })
        }
        // an explicit format overrides the sniffing
        let forcedIDX = expectDataError { _ = try openImageStream(source: MemorySource(records), format: .idx) }
        XCTAssertEqual(forcedIDX, .badMagic(name: "<memory>", found: 0x0300_050a, expected: idxImagesMagic))
        let forced = try openImageStream(source: MemorySource(idx), format: .cifar10)
        XCTAssertEqual(forced.format, .cifar10)
        // an IDX label file on the image stream is reported by the IDX reader, not read as CIFAR
        let err = expectDataError { _ = try openImageStream(source: MemorySource(idxBytes(magic: 0x801, dims: [3], payload: [1, 2, 3]))) }
        XCTAssertEqual(err, .unsupportedIDX(name: "<memory>", detail: "1 dimensions, expected 3"))
    }
}

/// Reads every image of `stream` as Floats, collecting the labels the records carry.
private func readAllImages(_ stream: inout any ImageStream, labels: inout [Int]) throws -> [Float] {
    var all: [Float] = []
    var buf = [Float](repeating: 0, count: stream.pixelsPerImage)
    while true {
        let read = try buf.withUnsafeMutableBufferPointer { try stream.nextImage(into: $0.baseAddress!) }
        guard read.available else { break }
        if let label = read.label { labels.append(label) }
        all += buf
    }
    XCTAssertFalse(try buf.withUnsafeMutableBufferPointer { try stream.nextImage(into: $0.baseAddress!) }.available)
    return all
}

private func readAllImages(_ stream: inout any ImageStream) throws -> [Float] {
    var labels: [Int] = []
    let all = try readAllImages(&stream, labels: &labels)
    XCTAssertEqual(labels, [])
    return all
}
