import Foundation
import XCTest
import SNNData
import SNNModels
import SNNRobustness
import SNNRuntime

/// `AdversarialWriter` (the file of `snn evaluate --adversarial-out`) read back by a parser written
/// here from the NumPy format description (NEP 1: magic, version, u16 header length, Python dict
/// literal) and the IDX layout, and `Evaluator.adversarialInput` against the reported ‖δ‖.
final class AdversarialWriterTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "snn-adv-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// The dictionary text and the data bytes of an .npy file, checking the fixed parts.
    func parseNpy(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> (dict: String, data: [UInt8]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(bytes[0..<6]), [0x93] + Array("NUMPY".utf8), file: file, line: line)
        XCTAssertEqual(Array(bytes[6..<8]), [1, 0], "version 1.0", file: file, line: line)
        let n = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + n) % 64, 0, "header padded to a multiple of 64", file: file, line: line)
        XCTAssertEqual(bytes[10 + n - 1], 0x0A, "header ends in a newline", file: file, line: line)
        let dict = String(decoding: bytes[10..<(10 + n)], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (dict, Array(bytes[(10 + n)...]))
    }

    func floats(_ data: [UInt8]) -> [Float] {
        stride(from: 0, to: data.count, by: 4).map { i in
            Float(bitPattern: UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24)
        }
    }

    func testNpyHoldsTheImagesWithTheCountInTheHeader() throws {
        let path = dir + "/a.npy"
        let w = try AdversarialWriter(path: path, format: .npy, channels: 1, height: 2, width: 3, bufferBytes: 30)  // forces flushes
        var image: [Float] = [0, 0.25, 0.5, 0.75, 1, 1e-3]
        XCTAssertEqual(try parseNpy(path).dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2, 3), }")
        for i in 0..<11 {
            image[5] = Float(i) / 16
            try image.withUnsafeBufferPointer { try w.append($0.baseAddress!) }
        }
        try w.sync()
        XCTAssertEqual(try parseNpy(path).dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (11, 2, 3), }")
        try image.withUnsafeBufferPointer { try w.append($0.baseAddress!) }
        try w.finish()
        let (dict, data) = try parseNpy(path)
        XCTAssertEqual(dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (12, 2, 3), }")
        let v = floats(data)
        XCTAssertEqual(v.count, 12 * 6)
        for i in 0..<11 {
            XCTAssertEqual(Array(v[(6 * i)..<(6 * i + 5)]), [0, 0.25, 0.5, 0.75, 1])
            XCTAssertEqual(v[6 * i + 5], Float(i) / 16)
        }
    }

    func testNpyOfSeveralChannelsIsNCHW() throws {
        let path = dir + "/c.npy"
        let w = try AdversarialWriter(path: path, format: .npy, channels: 3, height: 32, width: 32)
        let image = (0..<3072).map { Float($0) / 3072 }
        for _ in 0..<2 { try image.withUnsafeBufferPointer { try w.append($0.baseAddress!) } }
        try w.finish()
        let (dict, data) = try parseNpy(path)
        XCTAssertEqual(dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 32, 32), }")
        XCTAssertEqual(floats(data), image + image)
    }

    /// IDX bytes: round half to even of x·255. Exact halves k + 0.5 are found by searching the
    /// floats next to (k + 0.5)/255 for one whose product with 255 is exactly k + 0.5.
    func testIDXRoundsHalfToEven() throws {
        var halves = 0
        for k in 0..<255 {
            let h = Float(k) + 0.5
            var x = h / 255
            for _ in 0..<8 { x = x.nextDown }
            for _ in 0..<16 {
                if x * 255 == h {
                    XCTAssertEqual(AdversarialWriter.byte(x), UInt8(k % 2 == 0 ? k : k + 1), "x·255 = \(h)")
                    halves += 1
                    break
                }
                x = x.nextUp
            }
        }
        XCTAssertGreaterThan(halves, 100, "exact halves found")
        XCTAssertEqual(AdversarialWriter.byte(0.5 / 255 * 0.999), 0)
        XCTAssertEqual(AdversarialWriter.byte(1.5 / 255 * 1.001), 2)
        XCTAssertEqual(AdversarialWriter.byte(-0.1), 0)
        XCTAssertEqual(AdversarialWriter.byte(1.2), 255)
        XCTAssertEqual(AdversarialWriter.byte(.nan), 0)
        // pixels read from IDX u8 (x = u · (1/255), as snn evaluate does) come back unchanged
        for u in 0...255 { XCTAssertEqual(AdversarialWriter.byte(Float(u) * (1 / 255)), UInt8(u)) }
    }

    func testIDXHeaderAndBytes() throws {
        let path = dir + "/a.idx"
        let w = try AdversarialWriter(path: path, format: .idx, channels: 1, height: 2, width: 2)
        let images: [[Float]] = [[0, 1, 0.5, 0.2], [1, 0, 3 / 255, 254.4 / 255]]
        for im in images { try im.withUnsafeBufferPointer { try w.append($0.baseAddress!) } }
        try w.finish()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(bytes, [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2,
                               0, 255, 128, 51, 255, 0, 3, 254])
        // and the package's own IDX reader takes it
        var stream = try IDXImageStream(path: path)
        XCTAssertEqual(stream.count, 2)
        var px = [UInt8](repeating: 0, count: 4)
        XCTAssertTrue(try px.withUnsafeMutableBufferPointer { try stream.nextRaw(into: $0.baseAddress!) })
        XCTAssertEqual(px, [0, 255, 128, 51])
    }

    func testRefusesNonRegularFilesAndIDXOfSeveralChannels() throws {
        let fifo = dir + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try AdversarialWriter(path: fifo, format: .npy, channels: 1, height: 2, width: 2)) { e in
            XCTAssertEqual(e as? AdversarialWriterError, .notRegularFile(path: fifo, what: "a pipe"))
        }
        XCTAssertThrowsError(try AdversarialWriter(path: dir, format: .npy, channels: 1, height: 2, width: 2)) { e in
            XCTAssertEqual(e as? AdversarialWriterError, .notRegularFile(path: dir, what: "a directory"))
        }
        XCTAssertThrowsError(try AdversarialWriter(path: "/dev/null", format: .npy, channels: 1, height: 2, width: 2))
        XCTAssertThrowsError(try AdversarialWriter(path: dir + "/x.idx", format: .idx, channels: 3, height: 2, width: 2)) { e in
            XCTAssertEqual(e as? AdversarialWriterError, .idxNeedsOneChannel(path: dir + "/x.idx", channels: 3))
        }
        XCTAssertThrowsError(try AdversarialWriter(path: dir + "/no/such/dir.npy", format: .npy, channels: 1, height: 2, width: 2)) { e in
            guard case .cannotOpen? = e as? AdversarialWriterError else { return XCTFail("\(e)") }
        }
    }

    /// append and sync (once per batch in snn evaluate) allocate nothing.
    func testAppendAndSyncAllocateNothing() throws {
        #if DEBUG
        throw XCTSkip("the allocation contract is for optimized builds")
        #endif
        XCTAssertNotNil(AllocationCounter.threadAllocatedBytes(), "jemalloc counter unavailable")
        let image = [Float](repeating: 0.3, count: 784)
        for format in AdversarialWriter.Format.allCases {
            let w = try AdversarialWriter(path: dir + "/z." + format.rawValue, format: format, channels: 1, height: 28, width: 28)
            try image.withUnsafeBufferPointer { p in
                try w.append(p.baseAddress!); try w.sync()
                let bytes = try AllocationCounter.bytesAllocated {
                    for _ in 0..<100 { try w.append(p.baseAddress!) }
                    try w.sync()
                }
                XCTAssertEqual(bytes, 0, "\(format)")
            }
            try w.finish()
        }
    }

    /// x_adv exposed by the sweep evaluator: the image itself for η = 0; for η > 0 inside [0, 1]
    /// at distance ‖δ‖ (the reported delta_norm) from the image.
    func testSweepExposesEachConfigurationsAdversarialInput() throws {
        let (images, labels) = try EndToEndTests.loadImages(3)
        let model = try EndToEndTests.loadModel()
        var configs: [EvaluationConfig] = []
        for eta: Float in [0, 0.5, 2] {
            var c = EvaluationConfig(eta: eta, attackSamples: 2, inferenceSamples: 2, seed: 3)
            c.fresh = false
            configs.append(c)
        }
        let sweep = try Evaluator(model: model, configs: configs,
                                       arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: configs).bytes))
        let out = UnsafeMutablePointer<ImageResult>.allocate(capacity: configs.count)
        out.initialize(repeating: ImageResult(), count: configs.count)
        defer { out.deallocate() }
        for i in 0..<3 {
            sweep.input.update(from: images[i], count: 784)
            sweep.evaluate(index: i, label: Int(labels[i]), into: out)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: sweep.adversarialInput(configuration: 0), count: 784)), images[i])
            for c in 1..<configs.count {
                let xa = sweep.adversarialInput(configuration: c)
                var ss: Float = 0
                for p in 0..<784 {
                    XCTAssertTrue(xa[p] >= 0 && xa[p] <= 1)
                    ss += (xa[p] - images[i][p]) * (xa[p] - images[i][p])
                }
                XCTAssertEqual(ss.squareRoot(), out[c].deltaNorm, accuracy: 1e-5, "image \(i) η \(configs[c].eta)")
                XCTAssertGreaterThan(out[c].deltaNorm, 0)
            }
        }
    }
}
