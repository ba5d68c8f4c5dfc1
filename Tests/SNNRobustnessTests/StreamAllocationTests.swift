import XCTest
import SNNData
import SNNRuntime

/// Reading images and labels allocates nothing per record in the steady state, whatever the
/// format (IDX, CIFAR-10, .npy uint8 NHWC and float32) — and so does the end-of-stream check.
final class StreamAllocationTests: XCTestCase {
    private static func npy(_ descr: String, _ shape: [Int], _ payload: [UInt8]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var h = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }".utf8)
        h += [UInt8](repeating: 0x20, count: (64 - (10 + h.count + 1) % 64) % 64) + [0x0A]
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.count & 0xff), UInt8(h.count >> 8)] + h + payload
    }

    func testSteadyStateReadsAllocateNothing() throws {
        #if DEBUG
        throw XCTSkip("the allocation contract is for optimized builds: run the tests with -c release (README)")
        #endif
        let n = 40
        let side = 8, c = 3
        let bytes = (0..<(n * c * side * side)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let floats = bytes.flatMap { b in withUnsafeBytes(of: (Float(b) / 255).bitPattern.littleEndian) { Array($0) } }
        var idxHeader: [UInt8] = [0, 0, 8, 3]
        for d in [n, side * c, side] { idxHeader += [UInt8(d >> 24), UInt8((d >> 16) & 0xff), UInt8((d >> 8) & 0xff), UInt8(d & 0xff)] }
        let cifar = (0..<n).flatMap { r in [UInt8(r % 10)] + [UInt8](repeating: UInt8(r), count: 3072) }
        let streams: [(String, any ImageStream)] = [
            ("idx", try openImageStream(source: MemorySource(idxHeader + bytes))),
            ("cifar10", try openImageStream(source: MemorySource(cifar))),
            ("npy uint8 nhwc", try openImageStream(source: MemorySource(Self.npy("|u1", [n, side, side, c], bytes)))),
            ("npy float32 nchw", try openImageStream(source: MemorySource(Self.npy("<f4", [n, c, side, side], floats)))),
        ]
        let raw = UnsafeMutablePointer<UInt8>.allocate(capacity: 3072)
        let pixels = UnsafeMutablePointer<Float>.allocate(capacity: 3072)
        defer { raw.deallocate(); pixels.deallocate() }
        for (name, s) in streams {
            var stream = s
            var read = 0, atEnd = false
            func next() throws {
                let r = stream.valueType == .float32 ? try stream.nextImage(into: pixels) : try stream.nextRawImage(into: raw)
                if r.available { read += 1 }
            }
            for _ in 0..<5 { try next() }   // warm-up
            XCTAssertEqual(try AllocationCounter.bytesAllocated { for _ in 5..<n { try next() } }, 0, name)
            XCTAssertEqual(try AllocationCounter.bytesAllocated { atEnd = try stream.isAtEnd() }, 0, name + ": end check")
            XCTAssertEqual(read, n, name)
            XCTAssertTrue(atEnd, name)
        }
        var labels = try LabelStream(source: MemorySource(Self.npy("<i8", [n], [UInt8](repeating: 0, count: 8 * n))))
        var sum = 0
        for _ in 0..<5 { sum += try labels.next() ?? 1 }
        XCTAssertEqual(try AllocationCounter.bytesAllocated { for _ in 5..<n { sum += try labels.next() ?? 1 } }, 0, "labels")
        XCTAssertEqual(sum, 0)
        XCTAssertTrue(try labels.isAtEnd())
    }
}
