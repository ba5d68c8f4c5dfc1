import XCTest
@testable import SNNRuntime

final class PoolingDropoutTests: XCTestCase {
    func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }

    // MARK: global average pool

    func pool(_ x: [Float], c: Int, h: Int, w: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: c), xv = x
        xv.withUnsafeMutableBufferPointer { GlobalAveragePool.forward(FeatureMap($0.baseAddress!, channels: c, height: h, width: w), &y) }
        return y
    }

    func testGlobalAveragePool() {
        var rng = TestRNG(21)
        let c = 5, h = 4, w = 5   // plane of 20: SIMD16 + tail
        let x = rng.fill(c * h * w), g = rng.fill(c), t = rng.fill(c * h * w)
        let y = pool(x, c: c, h: h, w: w)
        let ref = (0..<c).map { ch in (0..<(h * w)).reduce(0.0) { $0 + Double(x[ch * h * w + $1]) } / Double(h * w) }
        assertClose(y, ref, rel: 1e-5, abs: 1e-6, "gap forward")

        let fd = finiteDifference(x, h: 0.5) { self.dot(self.pool($0, c: c, h: h, w: w), g) }   // linear: h exact
        for accumulate in [false, true] {
            let base = accumulate ? rng.fill(x.count) : [Float](repeating: .nan, count: x.count)
            var gx = base
            gx.withUnsafeMutableBufferPointer {
                GlobalAveragePool.vjp(gy: g, gx: FeatureMap($0.baseAddress!, channels: c, height: h, width: w), accumulate: accumulate)
            }
            assertClose(gx, accumulate ? zip(fd, base).map { $0 + Double($1) } : fd, rel: 1e-4, abs: 1e-5, "gap vjp acc=\(accumulate)")
        }
        var ty = [Float](repeating: .nan, count: c), tv = t
        tv.withUnsafeMutableBufferPointer { GlobalAveragePool.jvp(tx: FeatureMap($0.baseAddress!, channels: c, height: h, width: w), ty: &ty) }
        let hh: Float = 0.5
        let plus = pool(zip(x, t).map { $0 + hh * $1 }, c: c, h: h, w: w)
        let minus = pool(zip(x, t).map { $0 - hh * $1 }, c: c, h: h, w: w)
        assertClose(ty, zip(plus, minus).map { Double($0 - $1) / Double(2 * hh) }, rel: 1e-4, abs: 1e-5, "gap jvp")
    }

    // MARK: dropout

    func address(sample: UInt32 = 0, image: UInt32 = 3) -> RandomAddress {
        RandomAddress(seed: 0x1234_5678_9ABC, role: .inference, image: image, sample: sample)
    }

    func dropped(_ x: [Float], p: Float, _ a: RandomAddress, tensor: Int = 5) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { Dropout.apply($0.baseAddress!, count: x.count, p: p, address: a, tensor: tensor) }
        return y
    }

    func testMaskFollowsUniformStreamLayout() {
        let count = 64 * 3 + 37, p: Float = 0.4
        let a = address()
        let ones = [Float](repeating: 1, count: count)
        let y = dropped(ones, p: p, a)
        for e in 0..<count {
            let (u0, u1, u2, u3) = UniformStream.group(a, tensor: 5, group: e / 64)
            let k = (e % 64) / 16, b = e % 16
            let u = [u0, u1, u2, u3][k][b]
            XCTAssertEqual(y[e], u >= p ? 1 / (1 - p) : 0, "element \(e)")
        }
    }

    func testKeepRateAndScale() {
        let count = 1 << 18
        var rng = TestRNG(22)
        let x = (0..<count).map { _ in rng.uniform() + 0.5 }   // never 0
        for p: Float in [0.1, 0.3, 0.6] {
            let y = dropped(x, p: p, address())
            var kept = 0
            for i in 0..<count where y[i] != 0 {
                kept += 1
                XCTAssertEqual(y[i], x[i] * (1 / (1 - p)), accuracy: 1e-6 * y[i])
            }
            let rate = Double(kept) / Double(count)
            let sigma = (Double(p) * Double(1 - p) / Double(count)).squareRoot()
            XCTAssertEqual(rate, 1 - Double(p), accuracy: 5 * sigma, "keep rate for p = \(p)")
        }
        XCTAssertEqual(dropped(x, p: 0, address()), x)   // p = 0 is the identity
    }

    func testDeterminismAndIndependence() {
        let count = 4096 + 5, p: Float = 0.5
        let ones = [Float](repeating: 1, count: count)
        let m1 = dropped(ones, p: p, address(sample: 7))
        XCTAssertEqual(m1, dropped(ones, p: p, address(sample: 7)), "same address, same mask")
        func differing(_ a: [Float], _ b: [Float]) -> Double { Double(zip(a, b).filter { $0 != $1 }.count) / Double(count) }
        // independent masks differ in a fraction 2p(1 − p) = 0.5 of positions
        for other in [dropped(ones, p: p, address(sample: 8)), dropped(ones, p: p, address(sample: 7, image: 4)),
                      dropped(ones, p: p, address(sample: 7), tensor: 6)] {
            XCTAssertEqual(differing(m1, other), 0.5, accuracy: 0.05)
        }
    }

    func testApplyMaskAgreesWithApplyOnEveryRow() {
        var rng = TestRNG(23)
        for count in [1000 + 37, 64, 5] {
            let p: Float = 0.3, a = address(sample: 2)
            let x = rng.fill(count), t1 = rng.fill(count), t2 = rng.fill(count)
            var rows = x + t1 + t2
            rows.withUnsafeMutableBufferPointer {
                Dropout.applyMask(Matrix($0.baseAddress!, rows: 3, cols: count), p: p, address: a, tensor: 9)
            }
            XCTAssertEqual(Array(rows[0..<count]), dropped(x, p: p, a, tensor: 9))
            XCTAssertEqual(Array(rows[count..<(2 * count)]), dropped(t1, p: p, a, tensor: 9))
            XCTAssertEqual(Array(rows[(2 * count)...]), dropped(t2, p: p, a, tensor: 9))
            // the stored mask reproduces the same result, and VJP = JVP: ⟨D t, g⟩ = ⟨t, D g⟩
            var mask = [Float](repeating: .nan, count: count)
            Dropout.fillMask(&mask, count: count, p: p, address: a, tensor: 9)
            XCTAssertEqual(zip(x, mask).map { $0 * $1 }, dropped(x, p: p, a, tensor: 9))
            XCTAssertEqual(dot(dropped(t1, p: p, a, tensor: 9), t2), dot(t1, dropped(t2, p: p, a, tensor: 9)), accuracy: 1e-4)
        }
    }

    /// fillMask writes the mask directly; it must equal, bit for bit, the old definition: `apply` on ones.
    func testFillMaskIsApplyOnOnes() {
        for count in [1000 + 37, 64, 5, 0, 128, 16 * 32 * 32] {
            for p: Float in [0, 0.3, 0.6] {
                let a = address(sample: 4)
                var mask = [Float](repeating: .nan, count: count), ones = [Float](repeating: 1, count: count)
                Dropout.fillMask(&mask, count: count, p: p, address: a, tensor: 3)
                Dropout.apply(&ones, count: count, p: p, address: a, tensor: 3)
                XCTAssertEqual(mask.map(\.bitPattern), ones.map(\.bitPattern), "count \(count) p \(p)")
            }
        }
    }
}
