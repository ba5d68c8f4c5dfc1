import Foundation
import XCTest
import SNNData

/// Inputs found by scripts/fuzz (libFuzzer), each kept in the seed corpus Tests/Fuzz/corpus, and a
/// replay of the SNNData seed corpora: every file must parse or throw a DataError, never trap.
final class FuzzRegressionTests: XCTestCase {
    /// scripts/fuzz, idx-images: rows = cols = 2³² − 1 made `rows * cols` overflow Int (a trap)
    /// before the size check. Corpus: idx-images/regression-sides-overflow.idx.
    func testIDXSidesWhoseProductOverflowsInt() throws {
        let found: [UInt8] = [0, 0, 8, 3, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]
        let e = expectDataError { _ = try openImageStream(source: MemorySource(found, name: "f")) }
        XCTAssertEqual(e, .unsupportedIDX(name: "f", detail: "image size 4294967295x4294967295"))
        // one side alone too large (the product would fit)
        let tall = idxBytes(magic: 0x803, dims: [1, 1 << 27, 1], payload: [])
        XCTAssertEqual(expectDataError { _ = try IDXImageStream(source: MemorySource(tall, name: "t")) },
                       .unsupportedIDX(name: "t", detail: "image size \(1 << 27)x1"))
        XCTAssertEqual(try corpusFile("idx-images", "regression-sides-overflow.idx"), found)
    }

    func testSeedCorporaParseOrThrow() throws {
        var files = 0
        for target in ["idx-images", "idx-labels", "cifar10", "npy", "auto"] {
            let dir = corpusDirectory(target)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() {
                let bytes = try corpusFile(target, name)
                files += 1
                do {
                    var s = try openImageStream(source: decompressingIfGzip(MemorySource(bytes, name: name)))
                    if s.pixelsPerImage <= 1 << 16 {
                        let buf = UnsafeMutablePointer<Float>.allocate(capacity: s.pixelsPerImage)
                        defer { buf.deallocate() }
                        while try s.nextImage(into: buf).available {}
                        XCTAssertTrue(try s.isAtEnd(), name)
                    }
                } catch is DataError {}
                do {
                    var labels = try LabelStream(source: decompressingIfGzip(MemorySource(bytes, name: name)))
                    while try labels.next() != nil {}
                } catch is DataError {}
            }
        }
        XCTAssertGreaterThan(files, 15)
    }

    private func corpusDirectory(_ target: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/\(target)").path
    }

    private func corpusFile(_ target: String, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: corpusDirectory(target) + "/" + name)))
    }
}
