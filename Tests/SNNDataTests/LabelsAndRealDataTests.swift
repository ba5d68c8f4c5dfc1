import Foundation
import XCTest
import SNNData

final class LabelsAndRealDataTests: XCTestCase {
    static let realDir = "/usr/share/datasets/fashion-mnist"

    func testLabelRoundTrip() throws {
        let dir = try makeTempDir(self)
        let labels: [UInt8] = (0..<70_001).map { UInt8($0 % 10) }
        let bytes = idxBytes(magic: 0x801, dims: [labels.count], payload: labels)
        XCTAssertEqual(try IDXLabels.read(path: write(bytes, to: dir, "l.idx")), labels)
        XCTAssertEqual(try IDXLabels.read(path: write(gzip(bytes), to: dir, "l.idx.gz"), expectedCount: labels.count), labels)
    }

    func testLabelErrors() throws {
        let bytes = idxBytes(magic: 0x801, dims: [5], payload: [1, 2, 3])
        let e = expectDataError { _ = try IDXLabels.read(source: MemorySource(bytes, name: "l")) }
        XCTAssertEqual(e, .truncated(name: "l", record: 3, got: 0, expected: 1))
        let extra = idxBytes(magic: 0x801, dims: [2], payload: [1, 2, 3])
        XCTAssertEqual(expectDataError { _ = try IDXLabels.read(source: MemorySource(extra, name: "l")) },
                       .trailingData(name: "l", declared: 2))
        let images = idxBytes(magic: 0x803, dims: [1, 1, 1], payload: [0])
        guard case .unsupportedIDX? = expectDataError({ _ = try IDXLabels.read(source: MemorySource(images, name: "i")) }) else {
            return XCTFail("image file as labels")
        }
        let ok = idxBytes(magic: 0x801, dims: [2], payload: [1, 2])
        XCTAssertEqual(expectDataError { _ = try IDXLabels.read(source: MemorySource(ok, name: "l"), expectedCount: 3) },
                       .countMismatch(name: "l", declared: 2, expected: 3))
    }

    private func realPath(_ file: String) throws -> String {
        let path = "\(Self.realDir)/\(file)"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) not present") }
        return path
    }

    func testRealFirst100Images() throws {
        var stream = try IDXImageStream(path: realPath("t10k-images-idx3-ubyte.gz"))
        XCTAssertEqual(stream.count, 10_000)
        XCTAssertEqual(stream.rows, 28)
        XCTAssertEqual(stream.cols, 28)
        var pixels = [Float](repeating: -1, count: stream.pixelsPerImage)
        XCTAssertTrue(try pixels.withUnsafeMutableBufferPointer { try stream.next(into: $0.baseAddress!) })
        XCTAssertTrue(pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertGreaterThan(pixels.reduce(0, +), 0)
        for _ in 1..<100 {
            XCTAssertTrue(try pixels.withUnsafeMutableBufferPointer { try stream.next(into: $0.baseAddress!) })
        }
        XCTAssertEqual(stream.recordsRead, 100)
    }

    func testRealAll10000ImagesReusingOneBuffer() throws {
        var stream = try IDXImageStream(path: realPath("t10k-images-idx3-ubyte.gz"), expectedCount: 10_000)
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: stream.pixelsPerImage)
        defer { buf.deallocate() }
        var seen = 0
        while try stream.next(into: buf) { seen += 1 }
        XCTAssertEqual(seen, 10_000)
    }

    func testRealLabels() throws {
        let labels = try IDXLabels.read(path: realPath("t10k-labels-idx1-ubyte.gz"), expectedCount: 10_000)
        XCTAssertEqual(labels.count, 10_000)
        XCTAssertTrue(labels.allSatisfy { $0 < 10 })
    }
}
