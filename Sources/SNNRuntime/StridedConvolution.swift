// Direct stride-2 convolutions — 3×3 pad 1 and 1×1 pad 0 — the forward (and JVP) path of
// `Conv2D` for the wide ResNet's downsampling layers where it measures faster than im2col + GEMM
// (bench/WRN-RESULTS.md, `ConvBench`). The same register blocking as `DirectConvolution`: four
// output channels share every input load, input channels swept in blocks of 32.
//
// 3×3 stride 2: output column ox reads input columns 2ox − 1, 2ox, 2ox + 1, so the input is first
// split per row into its even and odd columns, E[j] = x[2j] (j < Wo) and O[j] = x[2j − 1]
// (j ≤ Wo, O[0] = the left zero pad), with a zero row above (and below for odd H). Every tap is then
// a contiguous run of the copy:
//
//   y[o, oy, x0..<x0+L] = b[o] + Σ_c Σ_ky  w[o,c,ky,0]·O[c, 2oy+ky, x0 ..]
//                                        + w[o,c,ky,1]·E[c, 2oy+ky, x0 ..] + w[o,c,ky,2]·O[c, 2oy+ky, x0+1 ..]
//
// (row index 2oy + ky of the copy is input row 2oy + ky − 1). 1×1 stride 2: the copy is the
// subsampled input S[c, oy, ox] = x[c, 2oy, 2ox], and y[o] = b[o] + Σ_c w[o,c]·S[c] runs along the
// flattened Ho·Wo plane.

public enum StridedConvolution {
    /// Floats of the phase-split (3×3) or subsampled (1×1) input copy for an H×W input.
    public static func scratchFloats(kernel: Int, channels: Int, height: Int, width: Int) -> Int {
        let ho = (height - 1) / 2 + 1, wo = (width - 1) / 2 + 1
        return kernel == 3 ? channels * (2 * ho + 1) * (2 * wo + 1) : channels * ho * wo
    }

    /// Whether the direct kernel can run the layer: stride 2, and output rows (3×3) or the output
    /// plane (1×1) a multiple of 8 floats.
    public static func fits(_ conv: Conv2D, height: Int, width: Int) -> Bool {
        guard conv.stride == 2, height > 0, width > 0 else { return false }
        let (ho, wo) = conv.outputSize(height: height, width: width)
        return conv.kernel == 3 ? wo % 8 == 0 : (ho * wo) % 8 == 0
    }

    /// Whether `Conv2D.forward` takes the direct kernel: where it fits and measured faster than
    /// im2col + GEMM (bench/WRN-RESULTS.md, ConvBench "strided"): 3×3 with Cin·Wo ≤ 512, i.e.
    /// WRN-10-1's 32→32 @32×32 and 64→64 @16×16 (1.4–2×). Past that GEMM's packed micro-kernel ties
    /// (64→64 @32×32, 640→640 @16×16) or wins (128→128 and 320→320 @32×32, where the copy of a
    /// 32-channel block no longer fits L1); the 1×1 shortcuts (K = Cin, ~10 µs) gain nothing.
    public static func applies(_ conv: Conv2D, height: Int, width: Int) -> Bool {
        conv.kernel == 3 && fits(conv, height: height, width: width)
            && conv.inChannels * conv.outputSize(height: height, width: width).width <= 512
    }

    /// y = W ∗ x (+ b) with stride 2; W in PyTorch layout [Cout, Cin, k, k]; y is `conv.outputSize`.
    /// `scratch` holds `scratchFloats` floats. `channelBlock`: input channels per sweep.
    public static func forward(_ conv: Conv2D, _ x: FeatureMap, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               _ y: FeatureMap, scratch: UnsafeMutablePointer<Float>, channelBlock: Int = 32) {
        precondition(fits(conv, height: x.height, width: x.width), "StridedConvolution: \(conv) does not fit the kernel")
        let c = x.channels, h = x.height, w = x.width, ho = y.height, wo = y.width
        precondition(c == conv.inChannels && y.channels == conv.outChannels && (ho, wo) == conv.outputSize(height: h, width: w))
        if conv.kernel == 3 {
            splitPhases(x, ho: ho, wo: wo, into: scratch)
        } else {
            subsample(x, ho: ho, wo: wo, into: scratch)
        }
        let xp = UnsafePointer(scratch)
        var c0 = 0
        while c0 < c {
            let c1 = min(c, c0 + channelBlock)
            let first = c0 == 0
            if conv.kernel == 3 {
                // copy rows: 2·Wo + 1 floats (E then O), 2·Ho + 1 of them per channel
                let rs = 2 * wo + 1, g = Geometry(plane: (2 * ho + 1) * rs, rowStep: 2 * rs, tapRow: rs,
                                                  inStride: 9, outStride: c * 9, rows: ho, cols: wo, offsets: (wo, 0, wo + 1))
                if wo % 16 == 0 {
                    run(SIMD16<Float>.self, 3, g, xp, c0, c1, weights, bias, y, first)
                } else {
                    run(SIMD8<Float>.self, 3, g, xp, c0, c1, weights, bias, y, first)
                }
            } else {
                // one row: the flattened Ho·Wo plane
                let n = ho * wo, g = Geometry(plane: n, rowStep: n, tapRow: 0, inStride: 1, outStride: c,
                                              rows: 1, cols: n, offsets: (0, 0, 0))
                if n % 16 == 0 {
                    run(SIMD16<Float>.self, 1, g, xp, c0, c1, weights, bias, y, first)
                } else {
                    run(SIMD8<Float>.self, 1, g, xp, c0, c1, weights, bias, y, first)
                }
            }
            c0 = c1
        }
    }

    // MARK: input copies

    /// E | O rows per channel (see the header); zero rows at copy row 0 and past the input.
    static func splitPhases(_ x: FeatureMap, ho: Int, wo: Int, into s: UnsafeMutablePointer<Float>) {
        let h = x.height, w = x.width, rs = 2 * wo + 1, rows = 2 * ho + 1
        for c in 0..<x.channels {
            let plane = s + c * rows * rs
            plane.update(repeating: 0, count: rs)                       // row −1
            for r in 1..<rows {
                let dst = plane + r * rs, iy = r - 1
                if iy >= h { dst.update(repeating: 0, count: rs); continue }
                let src = UnsafePointer(x.data) + (c * h + iy) * w
                let odd = dst + wo
                odd[0] = 0
                var j = 0
                if w == 2 * wo {
                    // even width: E[j] = x[2j], O[j+1] = x[2j+1] for every j < Wo
                    if wo % 8 == 0 {
                        while j < wo {
                            let v = UnsafeRawPointer(src + 2 * j).loadUnaligned(as: SIMD16<Float>.self)
                            UnsafeMutableRawPointer(dst + j).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
                            UnsafeMutableRawPointer(odd + j + 1).storeBytes(of: v.oddHalf, as: SIMD8<Float>.self)
                            j += 8
                        }
                    }
                    while j < wo { dst[j] = src[2 * j]; odd[j + 1] = src[2 * j + 1]; j += 1 }
                } else {
                    // odd width (W = 2·Wo − 1): the last odd column is the right pad
                    while j < wo { dst[j] = src[2 * j]; odd[j + 1] = 2 * j + 1 < w ? src[2 * j + 1] : 0; j += 1 }
                }
            }
        }
    }

    /// S[c, oy, ox] = x[c, 2oy, 2ox].
    static func subsample(_ x: FeatureMap, ho: Int, wo: Int, into s: UnsafeMutablePointer<Float>) {
        let h = x.height, w = x.width
        for c in 0..<x.channels {
            for oy in 0..<ho {
                let src = UnsafePointer(x.data) + (c * h + 2 * oy) * w, dst = s + (c * ho + oy) * wo
                var j = 0
                if wo % 8 == 0 && w == 2 * wo {
                    while j < wo {
                        let v = UnsafeRawPointer(src + 2 * j).loadUnaligned(as: SIMD16<Float>.self)
                        UnsafeMutableRawPointer(dst + j).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
                        j += 8
                    }
                }
                while j < wo { dst[j] = src[2 * j]; j += 1 }
            }
        }
    }

    // MARK: blocked loops

    /// Where the taps live in the copy: channel planes `plane` floats apart, output row oy at
    /// oy·rowStep, kernel row ky at +ky·tapRow, kernel column kx at +offsets.kx; weight (o, c, tap)
    /// at o·outStride + c·inStride + tap. The output is `rows` × `cols`.
    struct Geometry {
        let plane: Int, rowStep: Int, tapRow: Int, inStride: Int, outStride: Int, rows: Int, cols: Int
        let offsets: (Int, Int, Int)
        @inline(__always) func offset(_ kx: Int) -> Int { kx == 0 ? offsets.0 : kx == 1 ? offsets.1 : offsets.2 }
    }

    /// Input channels c0..<c1 of all outputs (first: start from the bias, else add to y).
    @inline(__always)
    static func run<V: SIMD>(_: V.Type, _ k: Int, _ g: Geometry, _ xp: UnsafePointer<Float>, _ c0: Int, _ c1: Int,
                             _ weights: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ y: FeatureMap, _ first: Bool)
    where V.Scalar == Float {
        let o = y.channels
        var o0 = 0
        let pairs = V.scalarCount == g.cols && g.rows % 2 == 0
        while o0 + 4 <= o {
            if pairs { block4(V.self, k, 2, g, xp, c0, c1, weights, bias, y, o0, first) }
            else { block4(V.self, k, 1, g, xp, c0, c1, weights, bias, y, o0, first) }
            o0 += 4
        }
        while o0 < o { block1(V.self, k, g, xp, c0, c1, weights, bias, y, o0, first); o0 += 1 }
    }

    /// One output channel.
    @inline(__always)
    static func block1<V: SIMD>(_: V.Type, _ k: Int, _ g: Geometry, _ xp: UnsafePointer<Float>, _ c0: Int, _ c1: Int,
                                _ weights: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ y: FeatureMap,
                                _ o: Int, _ first: Bool) where V.Scalar == Float {
        let wo = weights + o * g.outStride
        for oy in 0..<g.rows {
            var x0 = 0
            while x0 < g.cols {
                let out = y.data + (o * g.rows + oy) * g.cols + x0
                var acc = DirectConvolution.start(V.self, first, bias, o, out)
                for ch in c0..<c1 {
                    let base = xp + ch * g.plane + oy * g.rowStep + x0, wk = wo + ch * g.inStride
                    for ky in 0..<k {
                        for kx in 0..<k {
                            acc = acc.addingProduct(DirectConvolution.load(V.self, base + ky * g.tapRow + g.offset(kx)),
                                                    V(repeating: wk[ky * k + kx]))
                        }
                    }
                }
                DirectConvolution.store(acc, out)
                x0 += V.scalarCount
            }
        }
    }

    /// Four output channels o..<o+4 × `rowsPerPass` (1 or 2) output rows share every input load.
    @inline(__always)
    static func block4<V: SIMD>(_: V.Type, _ k: Int, _ rowsPerPass: Int, _ g: Geometry, _ xp: UnsafePointer<Float>,
                                _ c0: Int, _ c1: Int, _ weights: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                                _ y: FeatureMap, _ o: Int, _ first: Bool) where V.Scalar == Float {
        let per = g.outStride, pl = g.rows * g.cols
        let w0 = weights + o * per, w1 = w0 + per, w2 = w1 + per, w3 = w2 + per
        var oy = 0
        while oy < g.rows {
            var x0 = 0
            while x0 < g.cols {
                let out = y.data + (o * g.rows + oy) * g.cols + x0, nx = out + g.cols
                var a0 = DirectConvolution.start(V.self, first, bias, o, out)
                var a1 = DirectConvolution.start(V.self, first, bias, o + 1, out + pl)
                var a2 = DirectConvolution.start(V.self, first, bias, o + 2, out + 2 * pl)
                var a3 = DirectConvolution.start(V.self, first, bias, o + 3, out + 3 * pl)
                if rowsPerPass == 1 {
                    for ch in c0..<c1 {
                        let base = xp + ch * g.plane + oy * g.rowStep + x0, t0 = ch * g.inStride
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let v = DirectConvolution.load(V.self, base + ky * g.tapRow + g.offset(kx)), t = t0 + ky * k + kx
                                a0 = a0.addingProduct(v, V(repeating: w0[t]))
                                a1 = a1.addingProduct(v, V(repeating: w1[t]))
                                a2 = a2.addingProduct(v, V(repeating: w2[t]))
                                a3 = a3.addingProduct(v, V(repeating: w3[t]))
                            }
                        }
                    }
                } else {
                    // two output rows: the second reads its taps one rowStep further down
                    var b0 = DirectConvolution.start(V.self, first, bias, o, nx)
                    var b1 = DirectConvolution.start(V.self, first, bias, o + 1, nx + pl)
                    var b2 = DirectConvolution.start(V.self, first, bias, o + 2, nx + 2 * pl)
                    var b3 = DirectConvolution.start(V.self, first, bias, o + 3, nx + 3 * pl)
                    for ch in c0..<c1 {
                        let base = xp + ch * g.plane + oy * g.rowStep + x0, t0 = ch * g.inStride
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let p = base + ky * g.tapRow + g.offset(kx), t = t0 + ky * k + kx
                                let u = DirectConvolution.load(V.self, p), v = DirectConvolution.load(V.self, p + g.rowStep)
                                let s0 = V(repeating: w0[t]), s1 = V(repeating: w1[t])
                                let s2 = V(repeating: w2[t]), s3 = V(repeating: w3[t])
                                a0 = a0.addingProduct(u, s0); b0 = b0.addingProduct(v, s0)
                                a1 = a1.addingProduct(u, s1); b1 = b1.addingProduct(v, s1)
                                a2 = a2.addingProduct(u, s2); b2 = b2.addingProduct(v, s2)
                                a3 = a3.addingProduct(u, s3); b3 = b3.addingProduct(v, s3)
                            }
                        }
                    }
                    DirectConvolution.store(b0, nx); DirectConvolution.store(b1, nx + pl)
                    DirectConvolution.store(b2, nx + 2 * pl); DirectConvolution.store(b3, nx + 3 * pl)
                }
                DirectConvolution.store(a0, out); DirectConvolution.store(a1, out + pl)
                DirectConvolution.store(a2, out + 2 * pl); DirectConvolution.store(a3, out + 3 * pl)
                x0 += V.scalarCount
            }
            oy += rowsPerPass
        }
    }
}
