// A straightforward SIMD direct 3×3 convolution (stride 1, pad 1, with bias), written only to
// measure it against the product's im2col + GEMM `Conv2D.forward` (SNNRuntime/Convolution.swift)
// at the wide ResNets' layer shapes. It is not used by snn.
//
// The input is first copied into a zero-bordered (H+2)×(W+2) plane per channel, so every kernel
// tap (ky, kx) of output row oy is the contiguous input row oy+ky starting at column kx. Then
//
//   y[o, oy, x0..<x0+L] = b[o] + Σ_c Σ_ky Σ_kx  w[o, c, ky, kx] · xpad[c, oy+ky, x0+kx ..< x0+kx+L]
//
// with L = 16 (SIMD16, two ymm on AVX2) for widths 16 and 32, L = 8 for width 8. The accumulators
// stay in registers over all Cin·9 taps. `outBlock` output channels share each loaded input
// vector: 1 is the literal loop nest, 4 reuses each load four times (8 ymm accumulators); at
// width 8 the 4-channel variant also takes two output rows per pass (again 8 ymm accumulators).
// With `channelBlock` the input channels are swept in blocks (partial sums kept in y), so that a
// block's input rows stay in cache across the output channels instead of streaming the whole
// padded input (740 KB at 160×32×32) from L3 once per 4 output channels.
import SNNRuntime

public enum DirectConvolution {
    /// Floats of the zero-bordered input copy.
    public static func scratchFloats(channels: Int, height: Int, width: Int) -> Int {
        channels * (height + 2) * (width + 2) + 16   // + 16: tail slack for the last vector load
    }

    /// y = W ∗ x + b for a 3×3, stride-1, pad-1 convolution; W in PyTorch layout [Cout, Cin, 3, 3].
    /// The width must be a multiple of 8; y has x's height and width. `outBlock`: 1 or 4 output
    /// channels per pass. `channelBlock` > 0 splits the input channels into blocks of that many
    /// (all outputs are accumulated over one block before the next: its rows stay in L1/L2);
    /// 0 runs all input channels in one sweep.
    public static func forward(_ x: FeatureMap, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               _ y: FeatureMap, padded: UnsafeMutablePointer<Float>, outBlock: Int,
                               channelBlock: Int = 0) {
        let c = x.channels, h = x.height, w = x.width
        precondition(y.height == h && y.width == w && w % 8 == 0 && (outBlock == 1 || outBlock == 4))
        let wp = w + 2, plane = (h + 2) * wp
        padded.update(repeating: 0, count: scratchFloats(channels: c, height: h, width: w))
        for ch in 0..<c {
            for iy in 0..<h {
                (padded + ch * plane + (iy + 1) * wp + 1).update(from: x.data + (ch * h + iy) * w, count: w)
            }
        }
        let xp = UnsafePointer(padded)
        let cb = channelBlock > 0 ? channelBlock : c
        var c0 = 0
        while c0 < c {
            let c1 = min(c, c0 + cb)
            if w % 16 == 0 {
                run(SIMD16<Float>.self, xp, c0, c1, h, w, weights, c, bias, y, outBlock)
            } else {
                run(SIMD8<Float>.self, xp, c0, c1, h, w, weights, c, bias, y, outBlock)
            }
            c0 = c1
        }
    }

    /// Input channels c0..<c1 of all outputs (c0 == 0: start from the bias, else add to y).
    @inline(__always)
    static func run<V: SIMD>(_: V.Type, _ xp: UnsafePointer<Float>, _ c0: Int, _ c1: Int, _ h: Int, _ w: Int,
                             _ weights: UnsafePointer<Float>, _ c: Int, _ bias: UnsafePointer<Float>,
                             _ y: FeatureMap, _ outBlock: Int) where V.Scalar == Float {
        let o = y.channels
        var o0 = 0
        if outBlock == 4 {
            if V.scalarCount == 8 && h % 2 == 0 {
                // width 8: one vector per row, so also block two rows (8 accumulators, as for width ≥ 16)
                while o0 + 4 <= o { block4x2(V.self, xp, c0, c1, h, w, weights, c, bias, y, o0); o0 += 4 }
            } else {
                while o0 + 4 <= o { block4(V.self, xp, c0, c1, h, w, weights, c, bias, y, o0); o0 += 4 }
            }
        }
        while o0 < o { block1(V.self, xp, c0, c1, h, w, weights, c, bias, y, o0); o0 += 1 }
    }

    @inline(__always)
    static func load<V: SIMD>(_: V.Type, _ p: UnsafePointer<Float>) -> V where V.Scalar == Float {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// The accumulator's start: the bias for the first channel block, else the partial sum in y.
    @inline(__always)
    static func start<V: SIMD>(_: V.Type, _ first: Bool, _ b: Float, _ y: UnsafeMutablePointer<Float>) -> V
    where V.Scalar == Float {
        first ? V(repeating: b) : load(V.self, UnsafePointer(y))
    }

    /// One output channel: y[o, oy, x0..<x0+L] per step.
    @inline(__always)
    static func block1<V: SIMD>(_: V.Type, _ xp: UnsafePointer<Float>, _ c0: Int, _ c1: Int, _ h: Int, _ w: Int,
                                _ weights: UnsafePointer<Float>, _ c: Int, _ bias: UnsafePointer<Float>,
                                _ y: FeatureMap, _ o: Int) where V.Scalar == Float {
        let l = V.scalarCount, wp = w + 2, plane = (h + 2) * wp, first = c0 == 0
        let wo = weights + o * c * 9
        for oy in 0..<h {
            var x0 = 0
            while x0 < w {
                let out = y.data + (o * h + oy) * w + x0
                var acc = start(V.self, first, bias[o], out)
                for ch in c0..<c1 {
                    let base = xp + ch * plane + oy * wp + x0, wk = wo + ch * 9
                    for ky in 0..<3 {
                        let row = base + ky * wp
                        for kx in 0..<3 {
                            acc = acc.addingProduct(load(V.self, row + kx), V(repeating: wk[ky * 3 + kx]))
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
                                _ weights: UnsafePointer<Float>, _ c: Int, _ bias: UnsafePointer<Float>,
                                _ y: FeatureMap, _ o: Int) where V.Scalar == Float {
        let l = V.scalarCount, wp = w + 2, plane = (h + 2) * wp, per = c * 9, pl = h * w, first = c0 == 0
        let w0 = weights + o * per, w1 = w0 + per, w2 = w1 + per, w3 = w2 + per
        for oy in 0..<h {
            var x0 = 0
            while x0 < w {
                let out = y.data + (o * h + oy) * w + x0
                var a0 = start(V.self, first, bias[o], out), a1 = start(V.self, first, bias[o + 1], out + pl)
                var a2 = start(V.self, first, bias[o + 2], out + 2 * pl), a3 = start(V.self, first, bias[o + 3], out + 3 * pl)
                for ch in c0..<c1 {
                    let base = xp + ch * plane + oy * wp + x0, t0 = ch * 9
                    for ky in 0..<3 {
                        let row = base + ky * wp
                        for kx in 0..<3 {
                            let v = load(V.self, row + kx), t = t0 + ky * 3 + kx
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
                                  _ weights: UnsafePointer<Float>, _ c: Int, _ bias: UnsafePointer<Float>,
                                  _ y: FeatureMap, _ o: Int) where V.Scalar == Float {
        let l = V.scalarCount, wp = w + 2, plane = (h + 2) * wp, per = c * 9, pl = h * w, first = c0 == 0
        let w0 = weights + o * per, w1 = w0 + per, w2 = w1 + per, w3 = w2 + per
        var oy = 0
        while oy < h {
            var x0 = 0
            while x0 < w {
                let out = y.data + (o * h + oy) * w + x0, nx = out + w
                var a0 = start(V.self, first, bias[o], out), a1 = start(V.self, first, bias[o + 1], out + pl)
                var a2 = start(V.self, first, bias[o + 2], out + 2 * pl), a3 = start(V.self, first, bias[o + 3], out + 3 * pl)
                var b0 = start(V.self, first, bias[o], nx), b1 = start(V.self, first, bias[o + 1], nx + pl)
                var b2 = start(V.self, first, bias[o + 2], nx + 2 * pl), b3 = start(V.self, first, bias[o + 3], nx + 3 * pl)
                for ch in c0..<c1 {
                    let base = xp + ch * plane + oy * wp + x0, t0 = ch * 9
                    for ky in 0..<3 {
                        let row = base + ky * wp
                        for kx in 0..<3 {
                            let u = load(V.self, row + kx), v = load(V.self, row + wp + kx), t = t0 + ky * 3 + kx
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

/// One convolution shape of the comparison (3×3, stride 1, pad 1).
public struct ConvShape: Sendable, CustomStringConvertible {
    public let model: String, cin: Int, cout: Int, size: Int
    public init(_ model: String, _ cin: Int, _ cout: Int, _ size: Int) {
        self.model = model; self.cin = cin; self.cout = cout; self.size = size
    }
    public var flops: Double { 2 * Double(cout * cin * 9 * size * size) }
    public var description: String { "\(model) \(cin)→\(cout) @\(size)×\(size)" }

    /// WRN-28-10 (stem and the three group widths) and WRN-10-1 (the three group widths).
    public static let all: [ConvShape] = [
        ConvShape("WRN-28-10", 3, 16, 32), ConvShape("WRN-28-10", 160, 160, 32),
        ConvShape("WRN-28-10", 320, 320, 16), ConvShape("WRN-28-10", 640, 640, 8),
        ConvShape("WRN-10-1", 16, 16, 32), ConvShape("WRN-10-1", 32, 32, 16), ConvShape("WRN-10-1", 64, 64, 8),
    ]
}

/// The three algorithms compared.
public enum ConvAlgorithm: String, CaseIterable, Sendable {
    case im2colGEMM = "im2col+GEMM"
    case direct1 = "direct (1 out-ch/pass)"
    case direct4 = "direct (4 out-ch/pass)"
    case direct4Blocked = "direct (4 out-ch/pass, 32-ch blocks)"
}

/// Buffers of one shape: random input, He-normal weights, small bias, outputs, scratch.
public final class ConvCase: @unchecked Sendable {
    public let shape: ConvShape
    let conv: Conv2D
    let x: FeatureMap, y: FeatureMap, yRef: FeatureMap
    let weights: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>
    let cols: UnsafeMutablePointer<Float>, gemm: UnsafeMutablePointer<Float>, padded: UnsafeMutablePointer<Float>
    let arena: Arena

    public init(_ s: ConvShape) {
        shape = s
        conv = Conv2D(inChannels: s.cin, outChannels: s.cout, kernel: 3, stride: 1)
        let n = s.size
        var plan = MemoryPlan()
        plan.add("x", floats: s.cin * n * n); plan.add("y", floats: s.cout * n * n); plan.add("yRef", floats: s.cout * n * n)
        plan.add("w", floats: conv.weightCount); plan.add("b", floats: s.cout)
        plan.add("cols", floats: conv.scratchFloats(height: n, width: n)); plan.add("gemm", floats: GEMM.scratchFloats)
        plan.add("padded", floats: DirectConvolution.scratchFloats(channels: s.cin, height: n, width: n))
        arena = Arena(capacity: plan.bytes)
        let b = try! plan.allocate(in: arena)
        x = FeatureMap(b["x"]!, channels: s.cin, height: n, width: n)
        y = FeatureMap(b["y"]!, channels: s.cout, height: n, width: n)
        yRef = FeatureMap(b["yRef"]!, channels: s.cout, height: n, width: n)
        weights = b["w"]!; bias = b["b"]!; cols = b["cols"]!; gemm = b["gemm"]!; padded = b["padded"]!
        NormalStream.fill(x.data, count: x.count, address: RandomAddress(seed: 11, role: .noise, image: 0, sample: 0), tensor: 0)
        NormalStream.fill(weights, count: conv.weightCount, address: RandomAddress(seed: 11, role: .noise, image: 0, sample: 0), tensor: 1)
        let scale = (2 / Float(s.cin * 9)).squareRoot()
        for i in 0..<conv.weightCount { weights[i] *= scale }
        for o in 0..<s.cout { bias[o] = 0.01 * Float(o % 7) }
    }

    /// One forward with `algorithm` into `y`.
    @inline(never)
    public func run(_ algorithm: ConvAlgorithm) {
        switch algorithm {
        case .im2colGEMM:
            conv.forwardIm2col(x, weights: weights, bias: bias, y, cols: cols, gemmScratch: gemm)
        case .direct1:
            DirectConvolution.forward(x, weights: weights, bias: bias, y, padded: padded, outBlock: 1)
        case .direct4:
            DirectConvolution.forward(x, weights: weights, bias: bias, y, padded: padded, outBlock: 4)
        case .direct4Blocked:
            DirectConvolution.forward(x, weights: weights, bias: bias, y, padded: padded, outBlock: 4, channelBlock: 32)
        }
    }

    /// max |y_algorithm − y_im2col+GEMM| (the direct loops must compute the same convolution).
    public func maxDifference(_ algorithm: ConvAlgorithm) -> Float {
        conv.forwardIm2col(x, weights: weights, bias: bias, yRef, cols: cols, gemmScratch: gemm)
        run(algorithm)
        var m: Float = 0
        for i in 0..<y.count { m = max(m, abs(y.data[i] - yRef.data[i])) }
        return m
    }

    /// A checksum of the output, to keep it alive.
    public var first: Float { y.data[0] }
}
