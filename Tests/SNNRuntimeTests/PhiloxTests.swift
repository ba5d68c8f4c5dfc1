import XCTest
@testable import SNNRuntime

final class PhiloxTests: XCTestCase {
    /// Known-answer vectors of Random123's kat_vectors file (philox4x32, 10 rounds).
    func testKnownAnswers() {
        let cases: [((UInt32, UInt32, UInt32, UInt32), (UInt32, UInt32), (UInt32, UInt32, UInt32, UInt32))] = [
            ((0, 0, 0, 0), (0, 0), (0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8)),
            ((0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), (0xffff_ffff, 0xffff_ffff),
             (0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd)),
            ((0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), (0xa409_3822, 0x299f_31d0),
             (0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1)),
        ]
        for (ctr, key, expected) in cases {
            let got = philox4x32(ctr, key: key)
            XCTAssertEqual([got.0, got.1, got.2, got.3], [expected.0, expected.1, expected.2, expected.3])
            // every lane of the vector generator must agree with the scalar one
            let v = philox4x32x16(c0: SIMD16(repeating: ctr.0), c1: ctr.1, c2: ctr.2, c3: ctr.3, key: key)
            for lane in 0..<16 {
                XCTAssertEqual([v.0[lane], v.1[lane], v.2[lane], v.3[lane]], [expected.0, expected.1, expected.2, expected.3])
            }
        }
    }

    func testVectorLanesUseConsecutiveCounters() {
        let base: UInt32 = 0xffff_fff8  // wraps within the vector
        let lanes = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let v = philox4x32x16(c0: SIMD16(repeating: base) &+ lanes, c1: 7, c2: 9, c3: 11, key: (3, 5))
        for lane in 0..<16 {
            let s = philox4x32((base &+ UInt32(lane), 7, 9, 11), key: (3, 5))
            XCTAssertEqual([v.0[lane], v.1[lane], v.2[lane], v.3[lane]], [s.0, s.1, s.2, s.3])
        }
    }

    /// The vector Box–Muller path against a libm (Double) evaluation of the same addresses.
    func testNormalsMatchScalarReference() {
        let address = RandomAddress(seed: 0x1234_5678_9abc_def0, role: .inference, image: 42, sample: 3, step: 1)
        let n = 64 * 40 + 17
        var out = [Float](repeating: .nan, count: n)
        out.withUnsafeMutableBufferPointer { NormalStream.fill($0.baseAddress!, count: n, address: address, tensor: 5) }
        var worst = 0.0
        for e in 0..<n {
            let ref = NormalStream.referenceElement(address, tensor: 5, element: e)
            worst = max(worst, abs(Double(out[e]) - ref) / max(1, abs(ref)))
        }
        XCTAssertLessThan(worst, 2e-6)
    }

    func testNormalMoments() {
        let n = 1 << 20
        var out = [Float](repeating: 0, count: n)
        let address = RandomAddress(seed: 7, role: .attack, image: 0, sample: 0)
        out.withUnsafeMutableBufferPointer { NormalStream.fill($0.baseAddress!, count: n, address: address, tensor: 0) }
        var m1 = 0.0, m2 = 0.0, m3 = 0.0, m4 = 0.0
        for v in out { let d = Double(v); m1 += d; m2 += d * d; m3 += d * d * d; m4 += d * d * d * d }
        m1 /= Double(n); m2 /= Double(n); m3 /= Double(n); m4 /= Double(n)
        // standard errors at n = 2^20: mean 0.001, var 0.0014, skew 0.0024, kurtosis 0.0048
        XCTAssertEqual(m1, 0, accuracy: 0.005)
        XCTAssertEqual(m2, 1, accuracy: 0.007)
        XCTAssertEqual(m3, 0, accuracy: 0.012)
        XCTAssertEqual(m4, 3, accuracy: 0.03)
        // tails: P(|z| > 3) = 0.0027
        let tail = Double(out.filter { abs($0) > 3 }.count) / Double(n)
        XCTAssertEqual(tail, 0.0027, accuracy: 0.0003)
    }

    func testStreamsDifferByAddress() {
        func first(_ a: RandomAddress, tensor: Int = 0) -> Float {
            var x: [Float] = [0]
            x.withUnsafeMutableBufferPointer { NormalStream.fill($0.baseAddress!, count: 1, address: a, tensor: tensor) }
            return x[0]
        }
        let a = RandomAddress(seed: 1, role: .attack, image: 0, sample: 0)
        var others = [RandomAddress(seed: 2, role: .attack, image: 0, sample: 0),
                      RandomAddress(seed: 1, role: .inference, image: 0, sample: 0),
                      RandomAddress(seed: 1, role: .attack, image: 1, sample: 0),
                      RandomAddress(seed: 1, role: .attack, image: 0, sample: 1),
                      RandomAddress(seed: 1, role: .attack, image: 0, sample: 0, step: 1)]
        others.append(a)
        let values = others.dropLast().map { first($0) } + [first(a, tensor: 1)]
        for v in values { XCTAssertNotEqual(v, first(a)) }
        XCTAssertEqual(first(a), first(a))
    }

    func testUniformRangeAndMean() {
        let address = RandomAddress(seed: 99, role: .noise, image: 3, sample: 0)
        var sum = 0.0, lo: Float = 1, hi: Float = 0
        for g in 0..<4096 {
            let (a, b, c, d) = UniformStream.group(address, tensor: 0, group: g)
            for v in [a, b, c, d] { sum += Double(v.sum()); lo = min(lo, v.min()); hi = max(hi, v.max()) }
        }
        XCTAssertGreaterThanOrEqual(lo, 0); XCTAssertLessThan(hi, 1)
        XCTAssertEqual(sum / Double(4096 * 64), 0.5, accuracy: 0.002)
    }

    /// The C vector path (CVectorShims) and the Swift SIMD reference path agree.
    func testVectorPathsAgree() {
        let address = RandomAddress(seed: 0xdead_beef, role: .fresh, image: 77, sample: 12, step: 3)
        var worst: Float = 0
        for g in 0..<512 {
            let a = NormalStream.group(address, tensor: 2, group: g)
            let b = NormalStream.swiftGroup(address, tensor: 2, group: g)
            for (x, y) in [(a.0, b.0), (a.1, b.1), (a.2, b.2), (a.3, b.3)] {
                for lane in 0..<16 {
                    let err: Float = abs(x[lane] - y[lane]) / max(1, abs(y[lane]))
                    worst = max(worst, err)
                }
            }
        }
        XCTAssertLessThan(worst, 1e-6)
    }
}
