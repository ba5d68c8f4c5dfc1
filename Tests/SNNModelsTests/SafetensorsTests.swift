import Foundation
import XCTest
@testable import SNNModels

final class SafetensorsTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    // MARK: - Helpers

    /// Writes raw bytes to a fresh file and returns its path.
    private func rawFile(_ bytes: [UInt8], name: String = "t.safetensors") throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// A file with `header` as its JSON header (length prefix from `length` or the header size).
    private func file(header: String, data: [UInt8] = [], length: UInt64? = nil) throws -> String {
        let h = Array(header.utf8)
        return try rawFile(le(length ?? UInt64(h.count)) + h + data)
    }

    private func le(_ v: UInt64) -> [UInt8] { (0 ..< 8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    private func bytes(_ floats: [Float]) -> [UInt8] { floats.flatMap { f in (0 ..< 4).map { UInt8(truncatingIfNeeded: f.bitPattern >> (8 * $0)) } } }

    /// Asserts that opening `path` throws a `SafetensorsError` matching `matches`, whose message
    /// names the file and contains `text`.
    private func assertOpenFails(_ path: String, _ text: String, file: StaticString = #filePath, line: UInt = #line,
                                 _ matches: (SafetensorsError) -> Bool) {
        do {
            _ = try SafetensorsFile(path: path)
            XCTFail("opened a bad file", file: file, line: line)
        } catch let error as SafetensorsError {
            XCTAssertTrue(matches(error), "wrong error: \(error)", file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix(path + ": "), "\(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains(text), "\(error) lacks \(text)", file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), file: file, line: line)
        } catch {
            XCTFail("not a SafetensorsError: \(error)", file: file, line: line)
        }
    }

    private func isTruncated(_ e: SafetensorsError) -> Bool { if case .truncated = e { return true }; return false }
    private func isHeader(_ e: SafetensorsError) -> Bool { if case .invalidHeader = e { return true }; return false }
    private func isTensor(_ name: String) -> (SafetensorsError) -> Bool {
        { if case .invalidTensor(_, let t, _) = $0 { return t == name }; return false }
    }

    // MARK: - Round trip

    func testRoundTrip() throws {
        let path = dir.appendingPathComponent("w.safetensors").path
        let special: [Float] = [0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                Float(bitPattern: 0x7FC0_1234), 1.0 / 3.0]
        let matrix = (0 ..< 6).map { Float($0) * 0.1 - 0.25 }
        try SafetensorsWriter.write(path: path, tensors: [
            (name: "layer0.M", shape: [2, 3], data: matrix),
            (name: "b", shape: [8], data: special),
            (name: "scalar", shape: [], data: [42.5]),
            (name: "empty", shape: [0, 4], data: []),
            (name: "name \"quoted\" é\n", shape: [1], data: [7]),
        ], metadata: ["format": "pt", "note": "a \"b\" \\ é"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp"))

        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(f.names, ["b", "empty", "layer0.M", "name \"quoted\" é\n", "scalar"])
        XCTAssertEqual(f.metadata, ["format": "pt", "note": "a \"b\" \\ é"])
        XCTAssertEqual(f.info("layer0.M")?.dtype, .f32)
        XCTAssertEqual(f.info("layer0.M")?.shape, [2, 3])
        XCTAssertEqual(f.info("scalar")?.shape, [])
        XCTAssertEqual(f.info("empty")?.shape, [0, 4])
        XCTAssertNil(f.info("nope"))

        XCTAssertEqual(try f.floats("layer0.M", shape: [2, 3]).map(\.bitPattern), matrix.map(\.bitPattern))
        XCTAssertEqual(try f.floats("b").map(\.bitPattern), special.map(\.bitPattern))
        XCTAssertEqual(Array(try f.floats("scalar", shape: [])), [42.5])
        XCTAssertEqual(try f.floats("empty", shape: [0, 4]).count, 0)
        XCTAssertEqual(try f.floats("name \"quoted\" é\n").first, 7)
        XCTAssertEqual(try f.floatArray("b").map(\.bitPattern), special.map(\.bitPattern))

        // Layout: header padded with spaces to a multiple of 8, names and offsets in order.
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = Int(raw[0 ..< 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        XCTAssertEqual(n % 8, 0)
        let header = String(decoding: raw[8 ..< 8 + n], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{"))
        let keys = ["\"b\"", "\"empty\"", "\"layer0.M\"", "\"scalar\""].map { header.range(of: $0)!.lowerBound }
        XCTAssertEqual(keys, keys.sorted())
        XCTAssertEqual(raw.count, 8 + n + 4 * (6 + 8 + 1 + 1))
    }

    func testRewriteReplacesFileAndOldMappingStaysValid() throws {
        let path = dir.appendingPathComponent("w.safetensors").path
        try SafetensorsWriter.write(path: path, tensors: [(name: "x", shape: [2], data: [1, 2])], metadata: [:])
        let old = try SafetensorsFile(path: path)
        let view = try old.floats("x")
        try SafetensorsWriter.write(path: path, tensors: [(name: "x", shape: [3], data: [3, 4, 5])], metadata: ["v": "2"])
        XCTAssertEqual(Array(view), [1, 2])
        let new = try SafetensorsFile(path: path)
        XCTAssertEqual(Array(try new.floats("x", shape: [3])), [3, 4, 5])
        XCTAssertEqual(new.metadata, ["v": "2"])
        XCTAssertEqual(old.metadata, [:])
    }

    func testAccessErrors() throws {
        let path = dir.appendingPathComponent("models/x").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let file = path + "/weights.safetensors"
        try SafetensorsWriter.write(path: file, tensors: [(name: "layer0.M", shape: [784, 128], data: .init(repeating: 0, count: 784 * 128))], metadata: [:])
        let f = try SafetensorsFile(path: file)
        XCTAssertThrowsError(try f.floats("layer0.M", shape: [785, 128])) {
            XCTAssertEqual("\($0)", "\(file): tensor \"layer0.M\" has shape [784, 128], expected [785, 128]")
            XCTAssertEqual($0 as? SafetensorsError, .shapeMismatch(path: file, tensor: "layer0.M", expected: [785, 128], found: [784, 128]))
        }
        XCTAssertThrowsError(try f.floats("layer1.M")) {
            XCTAssertEqual("\($0)", "\(file): no tensor \"layer1.M\"")
        }
        XCTAssertThrowsError(try f.floatArray("missing")) {
            XCTAssertEqual($0 as? SafetensorsError, .missingTensor(path: file, tensor: "missing"))
        }
        XCTAssertThrowsError(try SafetensorsFile(path: dir.appendingPathComponent("absent").path)) {
            guard case .io = $0 as? SafetensorsError else { return XCTFail("\($0)") }
        }
    }

    // MARK: - Other dtypes

    func testHalfAndOtherFloatDtypes() throws {
        // F16: 1.0, -2.0, 0.5, smallest subnormal, -0, inf, 65504 (max)
        let halves: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x0001, 0x8000, 0x7C00, 0x7BFF]
        let f16 = halves.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        // BF16: 1.0 = 0x3F80, -3.0 = 0xC040
        let bf16: [UInt8] = [0x80, 0x3F, 0x40, 0xC0]
        var f64: [UInt8] = []
        for d in [0.25, -1e300] { withUnsafeBytes(of: d.bitPattern.littleEndian) { f64 += $0 } }
        let header = #"{"h":{"dtype":"F16","shape":[7],"data_offsets":[0,14]},"#
            + #""b":{"dtype":"BF16","shape":[2],"data_offsets":[14,18]},"#
            + #""d":{"dtype":"F64","shape":[2],"data_offsets":[18,34]},"#
            + #""i":{"dtype":"I32","shape":[1],"data_offsets":[34,38]}}"#
        let path = try file(header: header, data: f16 + bf16 + f64 + [1, 0, 0, 0])
        let f = try SafetensorsFile(path: path)
        let h = try f.floatArray("h", shape: [7])
        XCTAssertEqual(h.map(\.bitPattern), [Float(1), -2, 0.5, 0x1p-24, -0.0, .infinity, 65504].map(\.bitPattern))
        XCTAssertEqual(try f.floatArray("b"), [1, -3])
        XCTAssertEqual(try f.floatArray("d"), [0.25, -.infinity])
        XCTAssertEqual(f.info("i")?.dtype, .i32)
        XCTAssertThrowsError(try f.floats("h")) {
            XCTAssertEqual($0 as? SafetensorsError, .dtypeMismatch(path: path, tensor: "h", expected: "F32", found: "F16"))
        }
        XCTAssertThrowsError(try f.floatArray("i")) {
            XCTAssertEqual("\($0)", "\(path): tensor \"i\" has dtype I32, expected F32, F16, BF16 or F64")
        }
        XCTAssertTrue(SafetensorsFile.halfToFloat(0x7E00).isNaN)
    }

    func testMisalignedF32IsCopied() throws {
        // Header of 9 bytes, then a U8 of 1 byte: the F32 data starts at file offset 18.
        let header = #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"f":{"dtype":"F32","shape":[3],"data_offsets":[1,13]}}"#
        let values: [Float] = [1.5, -2.25, .pi]
        let path = try file(header: header + "  ", data: [9] + bytes(values))
        let f = try SafetensorsFile(path: path)
        let view = try f.floats("f", shape: [3])
        XCTAssertEqual(Array(view), values)
        XCTAssertEqual(Int(bitPattern: view.baseAddress!) % 4, 0)
        XCTAssertEqual(try f.floatArray("f"), values)
    }

    // MARK: - Malformed files

    func testShortFiles() throws {
        assertOpenFails(try rawFile([]), "0 bytes", isTruncated)
        assertOpenFails(try rawFile([1, 0, 0]), "3 bytes", isTruncated)
        assertOpenFails(try rawFile(le(0)), "'{'", isHeader)  // empty header
    }

    func testCorruptHeaderLength() throws {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        assertOpenFails(try file(header: header, data: bytes([1]), length: 200_000_000), "exceeds", isHeader)
        assertOpenFails(try file(header: header, data: bytes([1]), length: UInt64.max), "exceeds", isHeader)
        assertOpenFails(try file(header: header, data: bytes([1]), length: 1000), "only", isTruncated)
        // Too short a length cuts the JSON.
        assertOpenFails(try file(header: header, data: bytes([1]), length: 10), "JSON", isHeader)
    }

    func testBadJSON() throws {
        assertOpenFails(try file(header: "{not json}"), "not valid JSON", isHeader)
        assertOpenFails(try file(header: "[1, 2]"), "'{'", isHeader)
        assertOpenFails(try file(header: #"{"a": 1} trailing"#), "not valid JSON", isHeader)
        assertOpenFails(try rawFile(le(4) + [0x7B, 0xFF, 0xFE, 0x7D]), "UTF-8", isHeader)
        assertOpenFails(try file(header: #"{"__metadata__":{"k":1}}"#), "__metadata__", isHeader)
        assertOpenFails(try file(header: #"{"__metadata__":[]}"#), "__metadata__", isHeader)
        assertOpenFails(try file(header: #"{"a":[1]}"#), "not a JSON object", isTensor("a"))
    }

    func testBadEntries() throws {
        func entry(_ body: String, data: Int = 4) throws -> String {
            try file(header: #"{"w":{"# + body + "}}", data: [UInt8](repeating: 0, count: data))
        }
        assertOpenFails(try entry(#""dtype":"F33","shape":[1],"data_offsets":[0,4]"#), "unknown dtype \"F33\"", isTensor("w"))
        assertOpenFails(try entry(#""shape":[1],"data_offsets":[0,4]"#), "no dtype", isTensor("w"))
        assertOpenFails(try entry(#""dtype":"F32","shape":[-1],"data_offsets":[0,4]"#), "invalid shape", isTensor("w"))
        assertOpenFails(try entry(#""dtype":"F32","shape":[1.5],"data_offsets":[0,4]"#), "invalid shape", isTensor("w"))
        assertOpenFails(try entry(#""dtype":"F32","shape":[true],"data_offsets":[0,4]"#), "invalid shape", isTensor("w"))
        assertOpenFails(try entry(#""dtype":"F32","shape":"1","data_offsets":[0,4]"#), "invalid shape", isTensor("w"))
        assertOpenFails(try entry(#""dtype":"F32","shape":[1],"data_offsets":[0]"#), "invalid data_offsets", isTensor("w"))
        assertOpenFails(try entry(#""dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]"#), "invalid data_offsets", isTensor("w"))
        // Offsets out of bounds, reversed, negative.
        assertOpenFails(try entry(#""dtype":"F32","shape":[2],"data_offsets":[0,8]"#), "outside the 4-byte data buffer", isTensor("w"))
        assertOpenFails(try entry(#""dtype":"F32","shape":[0],"data_offsets":[4,0]"#), "outside", isTensor("w"))
        assertOpenFails(try entry(#""dtype":"F32","shape":[1],"data_offsets":[-4,0]"#), "outside", isTensor("w"))
        // Byte length does not match dtype × shape.
        assertOpenFails(try entry(#""dtype":"F16","shape":[1],"data_offsets":[0,4]"#), "needing 2 bytes", isTensor("w"))
        assertOpenFails(try entry(#""dtype":"F32","shape":[2,3],"data_offsets":[0,4]"#), "needing 24 bytes", isTensor("w"))
        assertOpenFails(try entry(#""dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,4]"#), "too large", isTensor("w"))
    }

    func testLayout() throws {
        let a = #""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        // Overlap: b starts inside a.
        assertOpenFails(try file(header: "{" + a + #","b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#, data: .init(repeating: 0, count: 6)),
                        "overlaps tensor \"a\"", isTensor("b"))
        // Same range twice.
        assertOpenFails(try file(header: "{" + a + #","b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: .init(repeating: 0, count: 4)),
                        "overlaps", isTensor("b"))
        // An empty tensor inside another one.
        assertOpenFails(try file(header: "{" + a + #","e":{"dtype":"F32","shape":[0],"data_offsets":[2,2]}}"#, data: .init(repeating: 0, count: 4)),
                        "overlaps", isTensor("e"))
        // Gap between tensors, and a gap at the start.
        assertOpenFails(try file(header: "{" + a + #","b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, data: .init(repeating: 0, count: 12)),
                        "bytes 4..<8 unused", isTensor("b"))
        assertOpenFails(try file(header: #"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: .init(repeating: 0, count: 8)),
                        "bytes 0..<4 unused", isTensor("b"))
        // Trailing bytes no tensor owns, and data with no tensors at all.
        assertOpenFails(try file(header: "{" + a + "}", data: .init(repeating: 0, count: 5)), "data bytes 4..<5 belong to no tensor", isHeader)
        assertOpenFails(try file(header: "{}", data: [1]), "belong to no tensor", isHeader)
        // Empty tensors at the boundary are fine, as is a file with no tensors.
        let ok = try SafetensorsFile(path: file(header: "{" + a + #","e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"f":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#, data: bytes([3])))
        XCTAssertEqual(ok.names, ["a", "e", "f"])
        XCTAssertEqual(try SafetensorsFile(path: file(header: "{}    ")).names, [])
    }

    func testDuplicateKeys() throws {
        let a = #""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        assertOpenFails(try file(header: "{" + a + "," + a + "}", data: bytes([1])), "appears more than once", isTensor("a"))
        // Same key spelled with an escape.
        assertOpenFails(try file(header: "{" + a + #","\u0061":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: bytes([1])),
                        "appears more than once", isTensor("a"))
        // Duplicate inside an entry or the metadata.
        assertOpenFails(try file(header: #"{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: bytes([1])),
                        "duplicate key", isHeader)
        assertOpenFails(try file(header: #"{"__metadata__":{"k":"1","k":"2"}}"#), "duplicate key", isHeader)
        // Colons, braces and quotes inside strings are not structure.
        let tricky = try SafetensorsFile(path: file(header: #"{"__metadata__":{"k:{\"":"v:}[,"},"a:\"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: bytes([2])))
        XCTAssertEqual(tricky.metadata, ["k:{\"": "v:}[,"])
        XCTAssertEqual(try tricky.floatArray("a:\"b"), [2])
    }

    /// Every truncation and many single-byte corruptions of a valid file either open or throw.
    func testTruncationsAndCorruptionsNeverCrash() throws {
        let path = dir.appendingPathComponent("good.safetensors").path
        try SafetensorsWriter.write(path: path, tensors: [
            (name: "a", shape: [2, 2], data: [1, 2, 3, 4]), (name: "b", shape: [3], data: [5, 6, 7]),
        ], metadata: ["k": "v"])
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        for cut in 0 ..< good.count {
            let p = try rawFile(Array(good[..<cut]), name: "cut")
            XCTAssertThrowsError(try SafetensorsFile(path: p), "cut at \(cut)") { XCTAssertTrue($0 is SafetensorsError) }
        }
        var generator = SystemRandomNumberGenerator()
        for i in 0 ..< 600 {
            var bad = good
            let at = i < good.count ? i : Int.random(in: 0 ..< good.count, using: &generator)
            bad[at] = i < good.count ? bad[at] ^ 0xFF : UInt8.random(in: 0 ... 255, using: &generator)
            let p = try rawFile(bad, name: "bad")
            do { _ = try SafetensorsFile(path: p).names } catch { XCTAssertTrue(error is SafetensorsError) }
        }
    }

    // MARK: - Writer input checks

    func testWriterRejectsBadInput() throws {
        let path = dir.appendingPathComponent("w.safetensors").path
        XCTAssertThrowsError(try SafetensorsWriter.write(path: path, tensors: [(name: "a", shape: [2, 2], data: [1, 2, 3])], metadata: [:])) {
            XCTAssertEqual("\($0)", "\(path): tensor \"a\" has shape [2, 2] but 3 values")
        }
        XCTAssertThrowsError(try SafetensorsWriter.write(path: path, tensors: [(name: "a", shape: [1], data: [1]), (name: "a", shape: [1], data: [2])], metadata: [:]))
        XCTAssertThrowsError(try SafetensorsWriter.write(path: path, tensors: [(name: "__metadata__", shape: [1], data: [1])], metadata: [:]))
        XCTAssertThrowsError(try SafetensorsWriter.write(path: path, tensors: [(name: "a", shape: [-1], data: [])], metadata: [:]))
        XCTAssertThrowsError(try SafetensorsWriter.write(path: dir.appendingPathComponent("no/such/dir/w").path, tensors: [], metadata: [:])) {
            guard case .io = $0 as? SafetensorsError else { return XCTFail("\($0)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp"))
    }
}
