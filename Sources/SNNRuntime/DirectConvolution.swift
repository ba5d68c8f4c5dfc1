// Direct 3×3 convolution, stride 1, pad 1 — the forward (and JVP) path of `Conv2D` for these
// layers, chosen by measurement (bench/WRN-RESULTS.md, `ConvBench`): 1.1–1.4× the im2col + GEMM
// path on the WRN-28-10 shapes and ~2× on the narrow WRN-10-1 and stem shapes, because it reads
// each input vector once per 4 output channels straight from a zero-bordered copy instead of
// writing and re-reading a 9× larger unfolded matrix.
//
// The input is first copied into a zero-bordered (H+2)×(W+2) plane per channel, so every kernel
// tap (ky, kx) of output row oy is the contiguous input row oy+ky starting at column kx:
//
//   y[o, oy, x0..<x0+L] = b[o] + Σ_c Σ_ky Σ_kx  w[o, c, ky, kx] · xpad[c, oy+ky, x0+kx ..< x0+kx+L]
//
// with L = 16 (SIMD16) for widths that are multiples of 16, else 8. Four output channels share
// every input load (8 ymm accumulators on AVX2; at width 8 also two output rows); the input
// channels are swept in blocks of 32 so a block's rows stay in L1/L2 across the output channels
// (partial sums are kept in y between blocks).

public enum DirectConvolution {
    /// Where weight (output o, input c, tap t = 3·ky + kx) lives: o·outStride + c·inStride + tap,
    /// the tap reversed (8 − t) for the transposed convolution of the VJP.
    public struct Layout {
        public let outStride: Int, inStride: Int, flip: Bool
        @inline(__always) func tap(_ t: Int) -> Int { flip ? 8 - t : t }
        /// PyTorch's [Cout, Cin, 3, 3] read as the forward convolution.
        public static func forward(inChannels: Int) -> Layout { Layout(outStride: inChannels * 9, inStride: 9, flip: false) }
        /// The same tensor read as the convolution gy → gx (outputs = its input channels).
        public static func transposed(inChannels: Int) -> Layout { Layout(outStride: 9, inStride: inChannels * 9, flip: true) }
    }

    /// Floats of the zero-bordered input copy.
    public static func scratchFloats(channels: Int, height: Int, width: Int) -> Int {
        channels * (height + 2) * (width + 2) + 16   // + 16: tail slack for the last vector load
    }

    /// Whether the direct path applies: 3×3, stride 1, a width that is a multiple of 8.
    public static func applies(_ conv: Conv2D, width: Int) -> Bool { conv.kernel == 3 && conv.stride == 1 && width % 8 == 0 && width > 0 }

    /// y = W ∗ x (+ b); W in PyTorch layout [Cout, Cin, 3, 3]; y has x's size. `padded` holds
    /// `scratchFloats` floats.
    /// `channelBlock`: input channels per sweep (Int.max: all at once).
    public static func forward(_ x: FeatureMap, weights: UnsafePointer<Float>, layout: Layout, bias: UnsafePointer<Float>?,
                        _ y: FeatureMap, accumulate: Bool = false, padded: UnsafeMutablePointer<Float>, channelBlock: Int = 32) {
        let c = x.channels, h = x.height, w = x.width
        precondition(y.height == h && y.width == w && w % 8 == 0)
        let wp = w + 2, plane = (h + 2) * wp
        padded.update(repeating: 0, count: scratchFloats(channels: c, height: h, width: w))
        for ch in 0..<c {
            for iy in 0..<h {
                (padded + ch * plane + (iy + 1) * wp + 1).update(from: x.data + (ch * h + iy) * w, count: w)
            }
        }
        let xp = UnsafePointer(padded)
        var c0 = 0
        while c0 < c {
            let c1 = min(c, c0 + channelBlock)
            if w % 16 == 0 {
                run(SIMD16<Float>.self, xp, c0, c1, h, w, weights, layout, bias, y, c0 == 0 && !accumulate)
            } else {
                run(SIMD8<Float>.self, xp, c0, c1, h, w, weights, layout, bias, y, c0 == 0 && !accumulate)
            }
            c0 = c1
        }
    }

    /// Input channels c0..<c1 of all outputs (c0 == 0: start from the bias, else add to y).
    @inline(__always)
    static func run<V: SIMD>(_: V.Type, _ xp: UnsafePointer<Float>, _ c0: Int, _ c1: Int, _ h: Int, _ w: Int,
                             _ weights: UnsafePointer<Float>, _ L: Layout, _ bias: UnsafePointer<Float>?,
                             _ y: FeatureMap, _ first: Bool) where V.Scalar == Float {
        let o = y.channels
        var o0 = 0
        if V.scalarCount == 8 && h % 2 == 0 {
            // width 8: one vector per row, so also block two rows (8 accumulators, as for width ≥ 16)
            while o0 + 4 <= o { block4x2(V.self, xp, c0, c1, h, w, weights, L, bias, y, o0, first); o0 += 4 }
        } else {
            while o0 + 4 <= o { block4(V.self, xp, c0, c1, h, w, weights, L, bias, y, o0, first); o0 += 4 }
        }
        while o0 < o { block1(V.self, xp, c0, c1, h, w, weights, L, bias, y, o0, first); o0 += 1 }
    }

    @inline(__always)
    static func load<V: SIMD>(_: V.Type, _ p: UnsafePointer<Float>) -> V where V.Scalar == Float {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// The accumulator's start: the bias (or 0) for the first channel block, else the partial sum in y.
    @inline(__always)
    static func start<V: SIMD>(_: V.Type, _ first: Bool, _ b: UnsafePointer<Float>?, _ o: Int, _ y: UnsafeMutablePointer<Float>) -> V
    where V.Scalar == Float {
        first ? V(repeating: b?[o] ?? 0) : load(V.self, UnsafePointer(y))
    }

    /// One output channel: y[o, oy, x0..<x0+L] per step.
    @inline(__always)
    static func block1<V: SIMD>(_: V.Type, _ xp: UnsafePointer<Float>, _ c0: Int, _ c1: Int, _ h: Int, _ w: Int,
                                _ weights: UnsafePointer<Float>, _ L: Layout, _ bias: UnsafePointer<Float>?,
                                _ y: FeatureMap, _ o: Int, _ first: Bool) where V.Scalar == Float {
        let l = V.scalarCount, wp = w + 2, plane = (h + 2) * wp
        let wo = weights + o * L.outStride
        for oy in 0..<h {
            var x0 = 0
            while x0 < w {
                let out = y.data + (o * h + oy) * w + x0
                var acc = start(V.self, first, bias, o, out)
                for ch in c0..<c1 {
                    let base = xp + ch * plane + oy * wp + x0, wk = wo + ch * L.inStride
                    for ky in 0..<3 {
                        let row = base + ky * wp
                        for kx in 0..<3 {
                            acc = acc.addingProduct(load(V.self, row + kx), V(repeating: wk[L.tap(ky * 3 + kx)]))
                        }
                    }
                }
                store(acc, out)
                x0 += l
            }
        }
    }

    /// Four output channels o..<o+4 share every input load.
    @inline(__always)
    static func block4<V: SIMD>(_: V.Type, _ xp: UnsafePointer<Float>, _ c0: Int, _ c1: Int, _ h: Int, _ w: Int,
                                _ weights: UnsafePointer<Float>, _ L: Layout, _ bias: UnsafePointer<Float>?,
                                _ y: FeatureMap, _ o: Int, _ first: Bool) where V.Scalar == Float {
        let l = V.scalarCount, wp = w + 2, plane = (h + 2) * wp, per = L.outStride, pl = h * w
        let w0 = weights + o * per, w1 = w0 + per, w2 = w1 + per, w3 = w2 + per
        for oy in 0..<h {
            var x0 = 0
            while x0 < w {
                let out = y.data + (o * h + oy) * w + x0
                var a0 = start(V.self, first, bias, o, out), a1 = start(V.self, first, bias, o + 1, out + pl)
                var a2 = start(V.self, first, bias, o + 2, out + 2 * pl), a3 = start(V.self, first, bias, o + 3, out + 3 * pl)
                for ch in c0..<c1 {
                    let base = xp + ch * plane + oy * wp + x0, t0 = ch * L.inStride
                    for ky in 0..<3 {
                        let row = base + ky * wp
                        for kx in 0..<3 {
                            let v = load(V.self, row + kx), t = t0 + L.tap(ky * 3 + kx)
                            a0 = a0.addingProduct(v, V(repeating: w0[t]))
                            a1 = a1.addingProduct(v, V(repeating: w1[t]))
                            a2 = a2.addingProduct(v, V(repeating: w2[t]))
                            a3 = a3.addingProduct(v, V(repeating: w3[t]))
                        }
                    }
                }
                store(a0, out); store(a1, out + pl); store(a2, out + 2 * pl); store(a3, out + 3 * pl)
                x0 += l
            }
        }
    }

    /// Four output channels × two output rows (oy, oy+1) per pass, for narrow maps.
    @inline(__always)
    static func block4x2<V: SIMD>(_: V.Type, _ xp: UnsafePointer<Float>, _ c0: Int, _ c1: Int, _ h: Int, _ w: Int,
                                  _ weights: UnsafePointer<Float>, _ L: Layout, _ bias: UnsafePointer<Float>?,
                                  _ y: FeatureMap, _ o: Int, _ first: Bool) where V.Scalar == Float {
        let l = V.scalarCount, wp = w + 2, plane = (h + 2) * wp, per = L.outStride, pl = h * w
        let w0 = weights + o * per, w1 = w0 + per, w2 = w1 + per, w3 = w2 + per
        var oy = 0
        while oy < h {
            var x0 = 0
            while x0 < w {
                let out = y.data + (o * h + oy) * w + x0, nx = out + w
                var a0 = start(V.self, first, bias, o, out), a1 = start(V.self, first, bias, o + 1, out + pl)
                var a2 = start(V.self, first, bias, o + 2, out + 2 * pl), a3 = start(V.self, first, bias, o + 3, out + 3 * pl)
                var b0 = start(V.self, first, bias, o, nx), b1 = start(V.self, first, bias, o + 1, nx + pl)
                var b2 = start(V.self, first, bias, o + 2, nx + 2 * pl), b3 = start(V.self, first, bias, o + 3, nx + 3 * pl)
                for ch in c0..<c1 {
                    let base = xp + ch * plane + oy * wp + x0, t0 = ch * L.inStride
                    for ky in 0..<3 {
                        let row = base + ky * wp
                        for kx in 0..<3 {
                            let u = load(V.self, row + kx), v = load(V.self, row + wp + kx), t = t0 + L.tap(ky * 3 + kx)
                            let s0 = V(repeating: w0[t]), s1 = V(repeating: w1[t])
                            let s2 = V(repeating: w2[t]), s3 = V(repeating: w3[t])
                            a0 = a0.addingProduct(u, s0); b0 = b0.addingProduct(v, s0)
                            a1 = a1.addingProduct(u, s1); b1 = b1.addingProduct(v, s1)
                            a2 = a2.addingProduct(u, s2); b2 = b2.addingProduct(v, s2)
                            a3 = a3.addingProduct(u, s3); b3 = b3.addingProduct(v, s3)
                        }
                    }
                }
                store(a0, out); store(a1, out + pl); store(a2, out + 2 * pl); store(a3, out + 3 * pl)
                store(b0, nx); store(b1, nx + pl); store(b2, nx + 2 * pl); store(b3, nx + 3 * pl)
                x0 += l
            }
            oy += 2
        }
    }
}
