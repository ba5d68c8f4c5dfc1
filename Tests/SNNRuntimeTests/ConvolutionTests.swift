import XCTest
@testable import SNNRuntime

/// Conv2D forward against a naive direct convolution (Double), every VJP and the JVP against
/// central finite differences of the forward.
final class ConvolutionTests: XCTestCase {
    /// Naive direct convolution, Double accumulation (test reference only).
    func naiveConv(_ x: [Float], cin: Int, h: Int, w: Int, _ wt: [Float], _ b: [Float]?, cout: Int, k: Int, s: Int) -> [Double] {
        let p = k / 2
        let ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1
        var y = [Double](repeating: 0, count: cout * ho * wo)
        for o in 0..<cout {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    var acc = b.map { Double($0[o]) } ?? 0
                    for c in 0..<cin {
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let iy = oy * s + ky - p, ix = ox * s + kx - p
                                if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                                acc += Double(wt[((o * cin + c) * k + ky) * k + kx]) * Double(x[(c * h + iy) * w + ix])
                            }
                        }
                    }
                    y[(o * ho + oy) * wo + ox] = acc
                }
            }
        }
        return y
    }

    /// Scratch for one layer: cols (64-byte aligned) and GEMM packing, from an arena.
    final class Scratch {
        let arena: Arena
        let cols: UnsafeMutablePointer<Float>?
        let gemm: UnsafeMutablePointer<Float>
        init(_ conv: Conv2D, h: Int, w: Int) {
            let n = conv.scratchFloats(height: h, width: w)
            XCTAssertEqual(n, Conv2D.scratchFloats(inChannels: conv.inChannels, kernel: conv.kernel, stride: conv.stride, height: h, width: w))
            arena = Arena(capacity: Arena.footprint(n, of: Float.self) + Arena.footprint(GEMM.scratchFloats, of: Float.self))
            cols = n > 0 ? try! arena.floats(n) : nil
            gemm = try! arena.floats(GEMM.scratchFloats)
        }
    }

    func forward(_ conv: Conv2D, _ x: [Float], h: Int, w: Int, _ wt: [Float], _ b: [Float]?, _ sc: Scratch) -> [Float] {
        let (ho, wo) = conv.outputSize(height: h, width: w)
        var y = [Float](repeating: .nan, count: conv.outChannels * ho * wo)
        var xv = x
        xv.withUnsafeMutableBufferPointer { xp in wt.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer { yp in
            let xm = FeatureMap(xp.baseAddress!, channels: conv.inChannels, height: h, width: w)
            let ym = FeatureMap(yp.baseAddress!, channels: conv.outChannels, height: ho, width: wo)
            if let b {
                b.withUnsafeBufferPointer { bp in
                    conv.forward(xm, weights: wp.baseAddress!, bias: bp.baseAddress!, ym, cols: sc.cols, gemmScratch: sc.gemm)
                }
            } else {
                conv.forward(xm, weights: wp.baseAddress!, bias: nil, ym, cols: sc.cols, gemmScratch: sc.gemm)
            }
        } } }
        return y
    }

    static let geometries = [(3, 1), (3, 2), (1, 1), (1, 2)]

    func testForwardMatchesNaiveOnOddShapes() {
        // the last four take the direct 3×3 path for stride 1 (widths multiple of 8: SIMD8 and SIMD16,
        // odd heights, output channels not a multiple of 4, input channels beyond one block of 32)
        for (cin, cout, h, w) in [(3, 5, 7, 9), (4, 14, 6, 5), (2, 3, 1, 1), (5, 2, 2, 3), (16, 20, 8, 8),
                                  (40, 7, 5, 16), (3, 6, 3, 8), (35, 4, 2, 24)] {
            for (k, s) in Self.geometries {
                var rng = TestRNG(UInt64(cin * 100 + cout * 10 + k + s))
                let conv = Conv2D(inChannels: cin, outChannels: cout, kernel: k, stride: s)
                let x = rng.fill(cin * h * w), wt = rng.fill(conv.weightCount), b = rng.fill(cout)
                let sc = Scratch(conv, h: h, w: w)
                let y = forward(conv, x, h: h, w: w, wt, b, sc)
                let ref = naiveConv(x, cin: cin, h: h, w: w, wt, b, cout: cout, k: k, s: s)
                assertClose(y, ref, rel: 1e-4, abs: 1e-5 * Double(conv.patchSize), "conv fwd \(cin)→\(cout) \(h)×\(w) k\(k) s\(s)")
                let y0 = forward(conv, x, h: h, w: w, wt, nil, sc)
                let ref0 = naiveConv(x, cin: cin, h: h, w: w, wt, nil, cout: cout, k: k, s: s)
                assertClose(y0, ref0, rel: 1e-4, abs: 1e-5 * Double(conv.patchSize), "conv fwd no bias k\(k) s\(s)")
            }
        }
    }

    /// The strided direct kernel (StridedConvolution.swift), called directly whatever `applies` says,
    /// against the naive reference: odd heights and widths (odd rows of the phase copy, the right
    /// pad), output channels not a multiple of 4, input channels beyond one block of 32, SIMD8 with
    /// and without row pairs, SIMD16, and the WRN-10-1 and WRN-28-10 stride-2 shapes.
    func testStridedDirectMatchesNaive() {
        let cases: [(k: Int, cin: Int, cout: Int, h: Int, w: Int)] = [
            (3, 3, 5, 15, 15), (3, 7, 6, 17, 16), (3, 40, 9, 9, 31), (3, 2, 4, 1, 16), (3, 5, 3, 4, 32),
            (3, 32, 32, 32, 32), (3, 64, 64, 16, 16), (3, 320, 320, 32, 32), (3, 640, 640, 16, 16),
            (1, 5, 3, 7, 16), (1, 6, 5, 7, 7), (1, 3, 4, 15, 3), (1, 37, 6, 8, 8), (1, 4, 7, 2, 31),
            (1, 16, 32, 32, 32), (1, 32, 64, 16, 16), (1, 160, 320, 32, 32), (1, 320, 640, 16, 16),
        ]
        for (k, cin, cout, h, w) in cases {
            var rng = TestRNG(UInt64(cin * 1000 + cout * 10 + k + h))
            let conv = Conv2D(inChannels: cin, outChannels: cout, kernel: k, stride: 2)
            XCTAssertTrue(StridedConvolution.fits(conv, height: h, width: w), "\(cin)→\(cout) \(h)×\(w) k\(k)")
            let (ho, wo) = conv.outputSize(height: h, width: w)
            let need = StridedConvolution.scratchFloats(kernel: k, channels: cin, height: h, width: w)
            XCTAssertLessThanOrEqual(need, conv.scratchFloats(height: h, width: w))
            var x = rng.fill(cin * h * w)
            let wt = rng.fill(conv.weightCount), b = rng.fill(cout)
            for bias in [true, false] {
                var y = [Float](repeating: .nan, count: cout * ho * wo)
                // scratch full of NaN: every float the kernel reads must have been written
                var scratch = [Float](repeating: .nan, count: need)
                x.withUnsafeMutableBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in scratch.withUnsafeMutableBufferPointer { sp in
                    let xm = FeatureMap(xp.baseAddress!, channels: cin, height: h, width: w)
                    let ym = FeatureMap(yp.baseAddress!, channels: cout, height: ho, width: wo)
                    wt.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in
                        StridedConvolution.forward(conv, xm, weights: wp.baseAddress!, bias: bias ? bp.baseAddress! : nil, ym,
                                                   scratch: sp.baseAddress!)
                    } }
                } } }
                XCTAssertFalse(y.contains { !$0.isFinite }, "strided \(cin)→\(cout) \(h)×\(w) k\(k): non-finite output")
                let ref = naiveConv(x, cin: cin, h: h, w: w, wt, bias ? b : nil, cout: cout, k: k, s: 2)
                assertClose(y, ref, rel: 1e-4, abs: 1e-5 * Double(conv.patchSize), "strided \(cin)→\(cout) \(h)×\(w) k\(k) bias \(bias)")
            }
            // and through Conv2D.forward, whichever path it dispatches to
            let y = forward(conv, x, h: h, w: w, wt, b, Scratch(conv, h: h, w: w))
            let ref = naiveConv(x, cin: cin, h: h, w: w, wt, b, cout: cout, k: k, s: 2)
            assertClose(y, ref, rel: 1e-4, abs: 1e-5 * Double(conv.patchSize), "Conv2D.forward \(cin)→\(cout) \(h)×\(w) k\(k) s2")
        }
    }

    func testOutputSize() {
        XCTAssertTrue(Conv2D(inChannels: 1, outChannels: 1, kernel: 3, stride: 2).outputSize(height: 7, width: 8) == (4, 4))
        XCTAssertTrue(Conv2D(inChannels: 1, outChannels: 1, kernel: 1, stride: 2).outputSize(height: 7, width: 8) == (4, 4))
        XCTAssertTrue(Conv2D(inChannels: 1, outChannels: 1, kernel: 3, stride: 1).outputSize(height: 32, width: 32) == (32, 32))
        XCTAssertEqual(Conv2D(inChannels: 2, outChannels: 1, kernel: 1, stride: 1).scratchFloats(height: 5, width: 5), 0)
        XCTAssertEqual(Conv2D.scratchFloats(inChannels: 2, kernel: 3, stride: 2, height: 5, width: 4), 2 * 9 * 3 * 2)
    }

    func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }

    func testVJPsAndJVPAgainstFiniteDifferences() {
        // (5, 6, 3, 8) and (4, 9, 2, 16) take the direct 3×3 stride-1 path (forward and the VJP to the input)
        for (cin, cout, h, w) in [(2, 3, 5, 4), (3, 14, 3, 3), (5, 6, 3, 8), (4, 9, 2, 16)] {
            for (k, s) in Self.geometries {
                var rng = TestRNG(UInt64(7 + k * 10 + s + cout))
                let conv = Conv2D(inChannels: cin, outChannels: cout, kernel: k, stride: s)
                let (ho, wo) = conv.outputSize(height: h, width: w)
                let x = rng.fill(cin * h * w), wt = rng.fill(conv.weightCount), b = rng.fill(cout)
                let g = rng.fill(cout * ho * wo), t = rng.fill(cin * h * w)
                let sc = Scratch(conv, h: h, w: w)
                let tag = "\(cin)→\(cout) \(h)×\(w) k\(k) s\(s)"

                // (the convolution is affine, so a large step h = 0.5 is exact up to rounding)
                // input VJP (overwrite, then accumulate onto a non-zero gx)
                let fdx = finiteDifference(x, h: 0.5) { xx in self.dot(self.forward(conv, xx, h: h, w: w, wt, b, sc), g) }
                let base = rng.fill(cin * h * w)
                for accumulate in [false, true] {
                    var gx = accumulate ? base : [Float](repeating: .nan, count: x.count)
                    var gv = g
                    gv.withUnsafeMutableBufferPointer { gp in wt.withUnsafeBufferPointer { wp in gx.withUnsafeMutableBufferPointer { gxp in
                        conv.vjpInput(gy: FeatureMap(gp.baseAddress!, channels: cout, height: ho, width: wo), weights: wp.baseAddress!,
                                      gx: FeatureMap(gxp.baseAddress!, channels: cin, height: h, width: w), accumulate: accumulate,
                                      cols: sc.cols, gemmScratch: sc.gemm)
                    } } }
                    let expected = accumulate ? zip(fdx, base).map { $0 + Double($1) } : fdx
                    assertClose(gx, expected, rel: 1e-2, abs: 1e-3, "conv vjp input acc=\(accumulate) \(tag)")
                }

                // weight and bias VJP, accumulated onto non-zero gradients
                let fdw = finiteDifference(wt, h: 0.5) { ww in self.dot(self.forward(conv, x, h: h, w: w, ww, b, sc), g) }
                let fdb = finiteDifference(b, h: 0.5) { bb in self.dot(self.forward(conv, x, h: h, w: w, wt, bb, sc), g) }
                let w0 = rng.fill(wt.count), b0 = rng.fill(cout)
                var gw = w0, gb = b0
                var xv = x, gv = g
                xv.withUnsafeMutableBufferPointer { xp in gv.withUnsafeMutableBufferPointer { gp in
                    gw.withUnsafeMutableBufferPointer { gwp in gb.withUnsafeMutableBufferPointer { gbp in
                        conv.vjpWeights(x: FeatureMap(xp.baseAddress!, channels: cin, height: h, width: w),
                                        gy: FeatureMap(gp.baseAddress!, channels: cout, height: ho, width: wo),
                                        gWeights: gwp.baseAddress!, gBias: gbp.baseAddress!, cols: sc.cols, gemmScratch: sc.gemm)
                    } }
                } }
                assertClose(gw, zip(fdw, w0).map { $0 + Double($1) }, rel: 1e-2, abs: 1e-3, "conv vjp weights \(tag)")
                assertClose(gb, zip(fdb, b0).map { $0 + Double($1) }, rel: 1e-2, abs: 1e-3, "conv vjp bias \(tag)")

                // JVP w.r.t. the input: directional derivative along t
                var ty = [Float](repeating: .nan, count: cout * ho * wo)
                var tv = t
                tv.withUnsafeMutableBufferPointer { tp in wt.withUnsafeBufferPointer { wp in ty.withUnsafeMutableBufferPointer { typ in
                    conv.jvp(tx: FeatureMap(tp.baseAddress!, channels: cin, height: h, width: w), weights: wp.baseAddress!,
                             ty: FeatureMap(typ.baseAddress!, channels: cout, height: ho, width: wo), cols: sc.cols, gemmScratch: sc.gemm)
                } } }
                let hh: Float = 0.5
                let plus = forward(conv, zip(x, t).map { $0 + hh * $1 }, h: h, w: w, wt, b, sc)
                let minus = forward(conv, zip(x, t).map { $0 - hh * $1 }, h: h, w: w, wt, b, sc)
                assertClose(ty, zip(plus, minus).map { Double($0 - $1) / Double(2 * hh) }, rel: 1e-2, abs: 1e-3, "conv jvp \(tag)")
            }
        }
    }

    /// col2imAdd is the exact adjoint of im2col: ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩.
    func testCol2imIsAdjointOfIm2col() {
        for (k, s) in [(3, 1), (3, 2), (1, 2)] {
            for (h, w) in [(7, 9), (1, 2), (4, 4)] {
                var rng = TestRNG(UInt64(h * 31 + w + k + s))
                let conv = Conv2D(inChannels: 2, outChannels: 1, kernel: k, stride: s)
                let (ho, wo) = conv.outputSize(height: h, width: w)
                let n = conv.scratchFloats(height: h, width: w)
                var x = rng.fill(2 * h * w), c = rng.fill(n)
                var cols = [Float](repeating: .nan, count: n), back = [Float](repeating: 0, count: x.count)
                x.withUnsafeMutableBufferPointer { xp in cols.withUnsafeMutableBufferPointer { cp in
                    conv.im2col(FeatureMap(xp.baseAddress!, channels: 2, height: h, width: w), outHeight: ho, outWidth: wo, cols: cp.baseAddress!)
                } }
                c.withUnsafeMutableBufferPointer { cp in back.withUnsafeMutableBufferPointer { bp in
                    conv.col2imAdd(cp.baseAddress!, outHeight: ho, outWidth: wo, into: FeatureMap(bp.baseAddress!, channels: 2, height: h, width: w))
                } }
                XCTAssertFalse(cols.contains { $0.isNaN })
                XCTAssertEqual(dot(cols, c), dot(x, back), accuracy: 1e-4, "adjoint k\(k) s\(s) \(h)×\(w)")
            }
        }
    }
}
