import XCTest
@testable import SNNRuntime

/// BatchNorm in evaluation mode (folded running statistics) and training mode (batch statistics):
/// forwards against the textbook formula in Double, VJPs and JVP against central finite differences.
final class BatchNormTests: XCTestCase {
    func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }

    struct EvalParams {
        var gamma: [Float], beta: [Float], mean: [Float], variance: [Float]
        func folded(eps: Float = BatchNorm.defaultEpsilon) -> (scale: [Float], shift: [Float]) {
            var sc = [Float](repeating: 0, count: gamma.count), sh = sc
            BatchNorm.fold(channels: gamma.count, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance,
                           epsilon: eps, scale: &sc, shift: &sh)
            return (sc, sh)
        }
    }

    func evalForward(_ x: [Float], c: Int, h: Int, w: Int, _ p: EvalParams) -> [Float] {
        let (sc, sh) = p.folded()
        var y = [Float](repeating: .nan, count: x.count), xv = x
        xv.withUnsafeMutableBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            BatchNorm.forward(FeatureMap(xp.baseAddress!, channels: c, height: h, width: w), scale: sc, shift: sh,
                              FeatureMap(yp.baseAddress!, channels: c, height: h, width: w))
        } }
        return y
    }

    func testEvalForwardVJPAndJVP() {
        var rng = TestRNG(11)
        let c = 3, h = 5, w = 7   // plane of 35: one SIMD16 pass + 3 scalar tail
        let p = EvalParams(gamma: rng.fill(c).map { $0 + 1.5 }, beta: rng.fill(c), mean: rng.fill(c),
                           variance: rng.fill(c).map { $0 * $0 + 0.2 })
        let x = rng.fill(c * h * w), g = rng.fill(c * h * w), t = rng.fill(c * h * w)
        let y = evalForward(x, c: c, h: h, w: w, p)
        var ref = [Double](repeating: 0, count: x.count)
        for ch in 0..<c {
            for i in 0..<(h * w) {
                let v = Double(x[ch * h * w + i])
                ref[ch * h * w + i] = Double(p.gamma[ch]) * (v - Double(p.mean[ch]))
                    / (Double(p.variance[ch]) + Double(BatchNorm.defaultEpsilon)).squareRoot() + Double(p.beta[ch])
            }
        }
        assertClose(y, ref, rel: 1e-5, abs: 1e-5, "bn eval forward")
        // in place
        var inPlace = x
        let (sc, sh) = p.folded()
        inPlace.withUnsafeMutableBufferPointer { xp in
            let m = FeatureMap(xp.baseAddress!, channels: c, height: h, width: w)
            BatchNorm.forward(m, scale: sc, shift: sh, m)
        }
        XCTAssertEqual(inPlace, y)

        let fd = finiteDifference(x, h: 0.5) { xx in self.dot(self.evalForward(xx, c: c, h: h, w: w, p), g) }  // affine: h exact
        for accumulate in [false, true] {
            let base = accumulate ? rng.fill(x.count) : [Float](repeating: .nan, count: x.count)
            var gx = base, gv = g
            gv.withUnsafeMutableBufferPointer { gp in gx.withUnsafeMutableBufferPointer { gxp in
                BatchNorm.vjp(gy: FeatureMap(gp.baseAddress!, channels: c, height: h, width: w), scale: sc,
                              gx: FeatureMap(gxp.baseAddress!, channels: c, height: h, width: w), accumulate: accumulate)
            } }
            assertClose(gx, accumulate ? zip(fd, base).map { $0 + Double($1) } : fd, rel: 1e-3, abs: 1e-4, "bn eval vjp acc=\(accumulate)")
        }
        var ty = [Float](repeating: .nan, count: x.count), tv = t
        tv.withUnsafeMutableBufferPointer { tp in ty.withUnsafeMutableBufferPointer { typ in
            BatchNorm.jvp(tx: FeatureMap(tp.baseAddress!, channels: c, height: h, width: w), scale: sc,
                          ty: FeatureMap(typ.baseAddress!, channels: c, height: h, width: w))
        } }
        let hh: Float = 0.5
        let plus = evalForward(zip(x, t).map { $0 + hh * $1 }, c: c, h: h, w: w, p)
        let minus = evalForward(zip(x, t).map { $0 - hh * $1 }, c: c, h: h, w: w, p)
        assertClose(ty, zip(plus, minus).map { Double($0 - $1) / Double(2 * hh) }, rel: 1e-3, abs: 1e-4, "bn eval jvp")
    }

    /// Training forward; returns y, mean, biased variance, invStd.
    func trainForward(_ x: [Float], n: Int, c: Int, h: Int, w: Int, gamma: [Float], beta: [Float])
        -> (y: [Float], mean: [Float], variance: [Float], invStd: [Float]) {
        var y = [Float](repeating: .nan, count: x.count)
        var mean = [Float](repeating: .nan, count: c), variance = mean, invStd = mean
        BatchNorm.trainingForward(x: x, batch: n, channels: c, height: h, width: w, gamma: gamma, beta: beta,
                                  y: &y, mean: &mean, variance: &variance, invStd: &invStd)
        return (y, mean, variance, invStd)
    }

    func testTrainingForwardMatchesBatchStatistics() {
        var rng = TestRNG(12)
        let n = 3, c = 4, h = 3, w = 7   // M = 63 values per channel
        let x = rng.fill(n * c * h * w).map { $0 * 2 + 0.7 }
        let gamma = rng.fill(c).map { $0 + 1.5 }, beta = rng.fill(c)
        let r = trainForward(x, n: n, c: c, h: h, w: w, gamma: gamma, beta: beta)
        let hw = h * w, m = n * hw
        var ref = [Double](repeating: 0, count: x.count)
        for ch in 0..<c {
            var values: [Double] = []
            for img in 0..<n { for i in 0..<hw { values.append(Double(x[(img * c + ch) * hw + i])) } }
            let mu = values.reduce(0, +) / Double(m)
            let v = values.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(m)
            XCTAssertEqual(Double(r.mean[ch]), mu, accuracy: 1e-5)
            XCTAssertEqual(Double(r.variance[ch]), v, accuracy: 1e-5)
            let inv = 1 / (v + Double(BatchNorm.defaultEpsilon)).squareRoot()
            XCTAssertEqual(Double(r.invStd[ch]), inv, accuracy: 1e-5 * inv)
            for img in 0..<n {
                for i in 0..<hw {
                    let e = (img * c + ch) * hw + i
                    ref[e] = Double(gamma[ch]) * (Double(x[e]) - mu) * inv + Double(beta[ch])
                }
            }
        }
        assertClose(r.y, ref, rel: 1e-5, abs: 1e-5, "bn training forward")

        // running statistics (PyTorch: momentum 0.1, unbiased variance)
        var rm: [Float] = [0, 1, 2, 3], rv: [Float] = [1, 1, 2, 0.5]
        let rm0 = rm, rv0 = rv
        BatchNorm.updateRunning(channels: c, mean: r.mean, variance: r.variance, count: m, runningMean: &rm, runningVar: &rv)
        for ch in 0..<c {
            XCTAssertEqual(rm[ch], 0.9 * rm0[ch] + 0.1 * r.mean[ch], accuracy: 1e-6)
            XCTAssertEqual(rv[ch], 0.9 * rv0[ch] + 0.1 * r.variance[ch] * Float(m) / Float(m - 1), accuracy: 1e-6)
        }
    }

    func testTrainingVJPAgainstFiniteDifferences() {
        var rng = TestRNG(13)
        let n = 2, c = 3, h = 3, w = 3   // M = 18; the plane of 9 takes only the scalar tail
        for (hh, ww) in [(h, w), (4, 5)] {  // 4×5: SIMD16 pass + tail
            let x = rng.fill(n * c * hh * ww).map { $0 * 1.5 + 0.3 }
            let gamma = rng.fill(c).map { $0 + 1.5 }, beta = rng.fill(c)
            let g = rng.fill(x.count)
            let r = trainForward(x, n: n, c: c, h: hh, w: ww, gamma: gamma, beta: beta)
            func loss(_ xx: [Float], _ ga: [Float], _ be: [Float]) -> Double {
                dot(trainForward(xx, n: n, c: c, h: hh, w: ww, gamma: ga, beta: be).y, g)
            }
            let fdx = finiteDifference(x, h: 1e-2) { loss($0, gamma, beta) }
            let fdg = finiteDifference(gamma, h: 1e-2) { loss(x, $0, beta) }
            let fdb = finiteDifference(beta, h: 1e-2) { loss(x, gamma, $0) }
            var gx = [Float](repeating: .nan, count: x.count)
            let gg0 = rng.fill(c), gb0 = rng.fill(c)
            var gg = gg0, gb = gb0
            BatchNorm.trainingVJP(x: x, gy: g, batch: n, channels: c, height: hh, width: ww, gamma: gamma,
                                  mean: r.mean, invStd: r.invStd, gx: &gx, gGamma: &gg, gBeta: &gb)
            assertClose(gx, fdx, rel: 2e-2, abs: 2e-3, "bn training vjp x \(hh)×\(ww)")
            assertClose(gg, zip(fdg, gg0).map { $0 + Double($1) }, rel: 1e-2, abs: 1e-3, "bn training vjp gamma")
            assertClose(gb, zip(fdb, gb0).map { $0 + Double($1) }, rel: 1e-2, abs: 1e-3, "bn training vjp beta")
            // the input gradient sums to zero per channel (it is orthogonal to shifts)
            for ch in 0..<c {
                var s = 0.0
                for img in 0..<n { for i in 0..<(hh * ww) { s += Double(gx[(img * c + ch) * hh * ww + i]) } }
                XCTAssertEqual(s, 0, accuracy: 1e-4)
            }
            // gx may alias gy
            var inPlace = g
            var gg2 = gg0, gb2 = gb0
            inPlace.withUnsafeMutableBufferPointer { p in
                BatchNorm.trainingVJP(x: x, gy: p.baseAddress!, batch: n, channels: c, height: hh, width: ww, gamma: gamma,
                                      mean: r.mean, invStd: r.invStd, gx: p.baseAddress!, gGamma: &gg2, gBeta: &gb2)
            }
            XCTAssertEqual(inPlace, gx)
        }
    }
}
