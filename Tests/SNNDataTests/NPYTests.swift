import Foundation
import XCTest
@testable import SNNData

/// A .npy stream as numpy writes it: magic, version, header length, the dict padded with spaces to
/// a multiple of 64 and a newline, then `payload`. `header` replaces the dict text when given.
func npyBytes(descr: String, shape: [Int], payload: [UInt8], version: UInt8 = 1, fortran: Bool = false,
              header: String? = nil) -> [UInt8] {
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var h = Array((header ?? "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }").utf8)
    let pre = version == 1 ? 10 : 12
    h += [UInt8](repeating: 0x20, count: (64 - (pre + h.count + 1) % 64) % 64) + [0x0A]
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
    let n = h.count
    out += version == 1 ? [UInt8(n & 0xff), UInt8(n >> 8)] : [UInt8(n & 0xff), UInt8((n >> 8) & 0xff), UInt8((n >> 16) & 0xff), UInt8(n >> 24)]
    return out + h + payload
}

func f32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

final class NPYTests: XCTestCase {
    /// Reads every image as Floats (C×H×W) through the ImageStream protocol.
    private func readAll(_ bytes: [UInt8], layout: NPYLayout? = nil) throws -> (stream: NPYImageStream, floats: [Float]) {
        var s = try NPYImageStream(source: MemorySource(bytes, name: "x.npy", maxChunk: 7), layout: layout)
        var out: [Float] = []
        var buf = [Float](repeating: -1, count: s.pixelsPerImage)
        while try buf.withUnsafeMutableBufferPointer({ try s.next(into: $0.baseAddress!) }) { out += buf }
        XCTAssertTrue(try s.isAtEnd())
        return (s, out)
    }

    private func npyError(_ bytes: [UInt8], layout: NPYLayout? = nil, read: Bool = false) -> String? {
        expectDataError {
            var s = try NPYImageStream(source: MemorySource(bytes, name: "x.npy"), layout: layout)
            if read {
                var buf = [Float](repeating: 0, count: s.pixelsPerImage)
                while try buf.withUnsafeMutableBufferPointer({ try s.next(into: $0.baseAddress!) }) {}
            }
        }?.description
    }

    func testHeaderVersionsAndUint8ThreeDims() throws {
        let px = samplePixels(count: 4, rows: 5, cols: 6)
        for v: UInt8 in [1, 2, 3] {
            let (s, floats) = try readAll(npyBytes(descr: "|u1", shape: [4, 5, 6], payload: px, version: v))
            XCTAssertEqual([s.count, s.channels, s.height, s.width], [4, 1, 5, 6])
            XCTAssertEqual(s.header.major, Int(v))
            XCTAssertEqual(s.valueType, .uint8)
            XCTAssertEqual(s.header.byteCount % 64, 0, "numpy pads to 64")
            XCTAssertEqual(floats, px.map { Float($0) / 255 })
        }
        // raw bytes are delivered like IDX bytes
        var s = try NPYImageStream(source: MemorySource(npyBytes(descr: "|u1", shape: [4, 5, 6], payload: px)))
        var raw: [UInt8] = [], buf = [UInt8](repeating: 0, count: 30)
        while try buf.withUnsafeMutableBufferPointer({ try s.nextRaw(into: $0.baseAddress!) }) { raw += buf }
        XCTAssertEqual(raw, px)
        // a header numpy itself wrote (np.save of np.zeros((2, 3, 4), np.uint8)), byte for byte
        let numpy = Array("\u{93}NUMPY".unicodeScalars.map { UInt8($0.value) }) + [1, 0, 118, 0]
            + Array("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }".utf8)
            + [UInt8](repeating: 0x20, count: 117 - 62) + [0x0A] + [UInt8](repeating: 0, count: 24)
        let (z, zf) = try readAll(numpy)
        XCTAssertEqual([z.count, z.height, z.width], [2, 3, 4])
        XCTAssertEqual(zf, [Float](repeating: 0, count: 24))
    }

    func testLayoutsDeliverCHW() throws {
        let (n, c, h, w) = (2, 3, 5, 6)
        // value of record r, channel ch, row y, column x
        func v(_ r: Int, _ ch: Int, _ y: Int, _ x: Int) -> UInt8 { UInt8(r * 100 + ch * 31 + y * 6 + x) }
        var nchw: [UInt8] = [], nhwc: [UInt8] = [], expected: [Float] = []
        for r in 0..<n {
            for ch in 0..<c { for y in 0..<h { for x in 0..<w { nchw.append(v(r, ch, y, x)); expected.append(Float(v(r, ch, y, x)) / 255) } } }
            for y in 0..<h { for x in 0..<w { for ch in 0..<c { nhwc.append(v(r, ch, y, x)) } } }
        }
        let a = try readAll(npyBytes(descr: "|u1", shape: [n, c, h, w], payload: nchw))
        XCTAssertEqual(a.stream.layout, .nchw)
        XCTAssertEqual([a.stream.channels, a.stream.height, a.stream.width], [c, h, w])
        XCTAssertEqual(a.floats, expected)
        let b = try readAll(npyBytes(descr: "|u1", shape: [n, h, w, c], payload: nhwc))
        XCTAssertEqual(b.stream.layout, .nhwc)
        XCTAssertEqual(b.floats, expected)
        // float32, NHWC, stated layout
        let f = try readAll(npyBytes(descr: "<f4", shape: [n, h, w, c], payload: f32Bytes(nhwc.map { Float($0) / 255 })), layout: .nhwc)
        XCTAssertEqual(f.stream.valueType, .float32)
        XCTAssertEqual(f.floats, expected)
        // raw NHWC bytes are transposed too
        var s = try NPYImageStream(source: MemorySource(npyBytes(descr: "|u1", shape: [n, h, w, c], payload: nhwc)))
        var raw = [UInt8](repeating: 0, count: c * h * w)
        XCTAssertTrue(try raw.withUnsafeMutableBufferPointer { try s.nextRaw(into: $0.baseAddress!) })
        XCTAssertEqual(raw.map { Float($0) / 255 }, Array(expected[0..<(c * h * w)]))
        // ambiguous without a stated layout; the stated one decides
        let amb = npyBytes(descr: "|u1", shape: [1, 3, 5, 3], payload: [UInt8](repeating: 0, count: 45))
        XCTAssertEqual(npyError(amb), "x.npy: bad .npy file (the layout of shape (1, 3, 5, 3) is ambiguous: state it (nhwc or nchw))")
        XCTAssertEqual(try NPYImageStream(source: MemorySource(amb), layout: .nhwc).channels, 3)
        XCTAssertEqual(try NPYImageStream(source: MemorySource(amb), layout: .nchw).width, 3)
    }

    func testFloatPixelsMustBeFiniteAndInUnitInterval() throws {
        let ok = try readAll(npyBytes(descr: "<f4", shape: [2, 1, 3], payload: f32Bytes([0, 1, 0.5, -0.0, 0.25, 1e-30])))
        XCTAssertEqual(ok.floats, [0, 1, 0.5, 0, 0.25, 1e-30])
        for (bad, at, text) in [(Float(1.5), 4, "1.5, outside [0, 1]"), (-0.25, 3, "-0.25, outside [0, 1]"),
                                (.nan, 5, "nan, not finite"), (.infinity, 3, "inf, not finite")] {
            var vals: [Float] = [0, 0, 0, 0, 0, 0]
            vals[at] = bad
            XCTAssertEqual(npyError(npyBytes(descr: "<f4", shape: [2, 1, 3], payload: f32Bytes(vals)), read: true),
                           "x.npy: record 1 has pixel value \(text) (at position \(at - 3))")
        }
        // float32 streams have no raw bytes
        var s = try NPYImageStream(source: MemorySource(npyBytes(descr: "<f4", shape: [1, 1, 1], payload: f32Bytes([0]))))
        var b: UInt8 = 0
        XCTAssertNotNil(expectDataError { _ = try s.nextRaw(into: &b) })
    }

    func testEveryMalformedHeaderIsNamed() {
        let px = [UInt8](repeating: 1, count: 12)
        func err(_ descr: String = "|u1", _ shape: [Int] = [3, 2, 2], version: UInt8 = 1, fortran: Bool = false, header: String? = nil) -> String? {
            npyError(npyBytes(descr: descr, shape: shape, payload: px, version: version, fortran: fortran, header: header))
        }
        let p = "x.npy: bad .npy file ("
        XCTAssertEqual(err(">f4"), p + "dtype '>f4' is not supported for images: use '|u1' (uint8) or '<f4' (float32) (big-endian: convert with x.astype(x.dtype.newbyteorder('<'))))")
        XCTAssertEqual(err("<f8"), p + "dtype '<f8' is not supported for images: use '|u1' (uint8) or '<f4' (float32) (float64: convert with x.astype(np.float32)))")
        XCTAssertEqual(err("|O"), p + "dtype '|O' is not supported for images: use '|u1' (uint8) or '<f4' (float32) (Python objects))")
        XCTAssertEqual(err("<i4"), p + "dtype '<i4' is not supported for images: use '|u1' (uint8) or '<f4' (float32))")
        XCTAssertEqual(err(fortran: true), p + "fortran_order is True: only C-order arrays are read (np.ascontiguousarray))")
        XCTAssertEqual(err("|u1", [3, 4]), p + "shape (3, 4) has 2 dimensions: expected N×H×W, N×H×W×C or N×C×H×W)")
        XCTAssertEqual(err("|u1", [12]), p + "shape (12,) has 1 dimensions: expected N×H×W, N×H×W×C or N×C×H×W)")
        XCTAssertEqual(err("|u1", [1, 1, 3, 2, 2]), p + "shape (1, 1, 3, 2, 2) has 5 dimensions: expected N×H×W, N×H×W×C or N×C×H×W)")
        XCTAssertEqual(err("|u1", [3, 0, 4]), p + "image shape (3, 0, 4) has an empty or too large image)")
        XCTAssertEqual(err("|u1", [3, 1 << 40, 1 << 40]), p + "image shape (3, 1099511627776, 1099511627776) has an empty or too large image)")
        XCTAssertEqual(err(version: 4), p + "format version 4.0 is not supported (1.0, 2.0 or 3.0))")
        XCTAssertEqual(err(header: "{'descr': '|u1', 'fortran_order': False}"), p + "the header has no 'shape')")
        XCTAssertEqual(err(header: "{'fortran_order': False, 'shape': (3, 2, 2)}"), p + "the header has no 'descr')")
        XCTAssertEqual(err(header: "{'descr': '|u1', 'shape': (3, 2, 2)}"), p + "the header has no 'fortran_order')")
        XCTAssertEqual(err(header: "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2, 2), 'x': 1}"), p + "unexpected key 'x' in the header)")
        XCTAssertEqual(err(header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}"),
                       p + "header is not a Python dict literal: unexpected character '[' at byte 10)")
        XCTAssertEqual(err(header: "{'descr': '|u1', 'fortran_order': 0, 'shape': (3, 2, 2)}"), p + "'fortran_order' is not True or False)")
        XCTAssertEqual(err(header: "{'descr': '|u1', 'fortran_order': False, 'shape': 12}"), p + "'shape' is not a tuple)")
        XCTAssertEqual(err(header: "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 'a')}"), p + "'shape' holds something other than integers ≥ 0)")
        XCTAssertEqual(err(header: "('descr', '|u1')"), p + "header is not a dict)")
        XCTAssertEqual(err(header: "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2, 2)"), p + "header is not a Python dict literal: unexpected end at byte 118)")
        XCTAssertEqual(err(header: "{'descr': '|u1', 'descr': '|u1'}"), p + "header is not a Python dict literal: duplicate key 'descr' at byte 24)")
        XCTAssertEqual(err(header: "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2, 2)} x"), p + "header is not a Python dict literal: unexpected text after the literal at byte 61)")
        XCTAssertEqual(err(header: "{'descr: '|u1'}"), p + "header is not a Python dict literal: expected ':' at byte 10)")
        XCTAssertEqual(err(header: "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999,)}"),
                       p + "header is not a Python dict literal: integer too large at byte 51)")
        // the magic, the preamble and the header text cut short
        let good = npyBytes(descr: "|u1", shape: [3, 2, 2], payload: px)
        XCTAssertEqual(npyError(Array("\u{1}NUMPY\u{1}\u{0}xx".utf8)), p + "the stream does not start with the magic \\x93NUMPY)")
        XCTAssertEqual(npyError(Array(good.prefix(5))), p + "header is truncated: got 5 of 10 bytes)")
        XCTAssertEqual(npyError(Array(good.prefix(9))), p + "header is truncated: got 9 of 10 bytes)")
        XCTAssertEqual(npyError(Array(good.prefix(40))), p + "header is truncated: got 40 of 128 bytes)")
        XCTAssertEqual(npyError([]), p + "header is truncated: got 0 of 10 bytes)")
        var long = Array(good.prefix(8)) + [0xFF, 0xFF, 0xFF, 0x7F]
        long[6] = 2
        XCTAssertEqual(npyError(long), p + "header length 2147483647 is larger than 65536 bytes)")
        // Python 2 longs and a parenthesised number are accepted as numpy's reader accepts them
        XCTAssertEqual(try NPYImageStream(source: MemorySource(npyBytes(descr: "", shape: [], payload: px,
            header: "{'descr': '|u1', 'fortran_order': False, 'shape': (3L, (2), 2L), }"))).count, 3)
    }

    func testTruncatedDataAndTrailingBytes() throws {
        let px = samplePixels(count: 3, rows: 2, cols: 2)
        XCTAssertEqual(npyError(npyBytes(descr: "|u1", shape: [3, 2, 2], payload: Array(px.dropLast(1))), read: true),
                       "x.npy: record 2 is truncated (got 3 of 4 bytes)")
        XCTAssertEqual(npyError(npyBytes(descr: "|u1", shape: [3, 2, 2], payload: Array(px.prefix(4))), read: true),
                       "x.npy: record 1 is truncated (got 0 of 4 bytes)")
        XCTAssertEqual(npyError(npyBytes(descr: "<f4", shape: [1, 2, 2], payload: f32Bytes([0, 0, 0])), read: true),
                       "x.npy: record 0 is truncated (got 12 of 16 bytes)")
        XCTAssertEqual(npyError(npyBytes(descr: "|u1", shape: [3, 2, 2], payload: px + [0]), read: true),
                       "x.npy: unexpected data after the 3 records declared in the header")
        // isAtEnd before the declared count: false, without reading
        var s = try NPYImageStream(source: MemorySource(npyBytes(descr: "|u1", shape: [3, 2, 2], payload: px + [0])))
        XCTAssertFalse(try s.isAtEnd())
        // through gzip: same records
        let gz = gzip(npyBytes(descr: "|u1", shape: [3, 2, 2], payload: px))
        var g = try NPYImageStream(source: decompressingIfGzip(MemorySource(gz, maxChunk: 5)))
        var raw: [UInt8] = [], buf = [UInt8](repeating: 0, count: 4)
        while try buf.withUnsafeMutableBufferPointer({ try g.nextRaw(into: $0.baseAddress!) }) { raw += buf }
        XCTAssertEqual(raw, px)
    }

    func testOpenImageStreamSniffsNPY() throws {
        let px = samplePixels(count: 2, rows: 3, cols: 3)
        let s = try openImageStream(source: MemorySource(npyBytes(descr: "|u1", shape: [2, 3, 3], payload: px), maxChunk: 3))
        XCTAssertEqual(s.format, .npy)
        XCTAssertEqual(s.declaredCount, 2)
        XCTAssertFalse(s.hasLabels)
        let forced = expectDataError { _ = try openImageStream(source: MemorySource(idxBytes(magic: 0x803, dims: [1, 1, 1], payload: [0])), format: .npy) }
        XCTAssertEqual(forced, .badNPY(name: "<memory>", detail: "the stream does not start with the magic \\x93NUMPY"))
    }
}

final class LabelStreamTests: XCTestCase {
    private func all(_ bytes: [UInt8]) throws -> [Int] {
        var l = try LabelStream(source: MemorySource(bytes, name: "l", maxChunk: 3))
        var out: [Int] = []
        while let v = try l.next() { out.append(v) }
        XCTAssertTrue(try l.isAtEnd())
        XCTAssertNil(try l.next(), "stays at the end")
        return out
    }

    private func labelError(_ bytes: [UInt8]) -> String? {
        expectDataError {
            var l = try LabelStream(source: MemorySource(bytes, name: "l"))
            while try l.next() != nil {}
        }?.description
    }

    func testFormatsAndDtypes() throws {
        let values = [3, 0, 9, 250, 7]
        XCTAssertEqual(try all(idxBytes(magic: 0x801, dims: [5], payload: values.map { UInt8($0) })), values)
        XCTAssertEqual(try all(npyBytes(descr: "|u1", shape: [5], payload: values.map { UInt8($0) })), values)
        let i4 = values.flatMap { v in withUnsafeBytes(of: Int32(v).littleEndian) { Array($0) } }
        XCTAssertEqual(try all(npyBytes(descr: "<i4", shape: [5], payload: i4, version: 2)), values)
        let i8 = ([-1] + values).flatMap { v in withUnsafeBytes(of: Int64(v).littleEndian) { Array($0) } }
        XCTAssertEqual(try all(npyBytes(descr: "<i8", shape: [6], payload: i8, version: 3)), [-1] + values)
        let idx = try LabelStream(source: MemorySource(idxBytes(magic: 0x801, dims: [5], payload: [1, 2, 3, 4, 5])))
        XCTAssertEqual(idx.format, .idx)
        XCTAssertEqual(idx.count, 5)
        // gzip'd
        let dir = try makeTempDir(self)
        var g = try LabelStream(path: write(gzip(npyBytes(descr: "|u1", shape: [2], payload: [4, 2])), to: dir, "l.npy.gz"))
        XCTAssertEqual(g.format, .npy)
        XCTAssertEqual([try g.next(), try g.next(), try g.next()], [4, 2, nil])
    }

    func testErrors() {
        XCTAssertEqual(labelError(npyBytes(descr: "<f4", shape: [2], payload: f32Bytes([1, 2]))),
                       "l: bad .npy file (dtype '<f4' is not supported for labels: use '|u1', '<i4' or '<i8')")
        XCTAssertEqual(labelError(npyBytes(descr: ">i8", shape: [1], payload: [UInt8](repeating: 0, count: 8))),
                       "l: bad .npy file (dtype '>i8' is not supported for labels: use '|u1', '<i4' or '<i8' (big-endian: convert with x.astype(x.dtype.newbyteorder('<'))))")
        XCTAssertEqual(labelError(npyBytes(descr: "|u1", shape: [2, 1], payload: [1, 2])),
                       "l: bad .npy file (labels have shape (2, 1): expected one dimension (N,))")
        XCTAssertEqual(labelError(npyBytes(descr: "<i4", shape: [2], payload: [1, 0, 0, 0, 2, 0])), "l: record 1 is truncated (got 2 of 4 bytes)")
        XCTAssertEqual(labelError(npyBytes(descr: "|u1", shape: [2], payload: [1, 2, 3])), "l: unexpected data after the 2 records declared in the header")
        XCTAssertEqual(labelError(idxBytes(magic: 0x801, dims: [3], payload: [1, 2])), "l: record 2 is truncated (got 0 of 1 bytes)")
        XCTAssertEqual(labelError(idxBytes(magic: 0x801, dims: [2], payload: [1, 2, 3])), "l: unexpected data after the 2 records declared in the header")
        XCTAssertEqual(labelError(idxBytes(magic: 0x803, dims: [2, 1, 1], payload: [1, 2])), "l: unsupported IDX file (3 dimensions, expected 1)")
    }

    /// Only the header is read at init: a file declaring 2^31 - 1 labels opens at once, and reading
    /// a few of them reads only a buffer's worth (the whole file used to be read into memory).
    func testHugeDeclaredCountIsStreamed() throws {
        let n = Int(Int32.max)
        let source = CountingZeros(header: idxBytes(magic: 0x801, dims: [n], payload: []))
        var l = try LabelStream(source: source)
        XCTAssertEqual(l.count, n)
        for _ in 0..<5 { XCTAssertEqual(try l.next(), 0) }
        XCTAssertFalse(try l.isAtEnd())
        XCTAssertLessThan(source.served, 1 << 20)
    }
}

/// `header`, then zeros forever; counts the bytes served.
private final class CountingZeros: ByteSource {
    let header: [UInt8]
    var served = 0
    init(header: [UInt8]) { self.header = header }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, 4096)
        for i in 0..<n { buffer[i] = served + i < header.count ? header[served + i] : 0 }
        served += n
        return n
    }
}
