// 2-D convolution (3×3 pad 1 and 1×1 pad 0, stride 1 or 2, with bias) for the wide ResNet
// (docs/METHOD.md §Wide ResNet), as forward / VJP / JVP side by side.
//
// Layout: one image is C×H×W contiguous floats (NCHW with N = 1); a batch is handled by the caller
// looping over images (weight and bias gradients accumulate with +=, so the loop sums them).
// Weights are in PyTorch layout [Cout, Cin, kh, kw], i.e. a row-major Cout × (Cin·k·k) matrix.
//
// Why im2col + GEMM rather than a direct loop nest: the unfolded input turns the convolution into
// one Cout × (Cin·k·k) by (Cin·k·k) × (Hout·Wout) product, which runs in the tuned, register-
// blocked `GEMM.sgemm` (the same kernel as the dense layers) instead of a second hand-tuned kernel
// per shape. The cost is the k²-times larger scratch buffer and one extra pass over it, small next
// to the multiply-adds (Cin·k² per output element). 1×1 stride-1 convolutions need no unfolding:
// the input itself is the (Cin) × (H·W) right-hand matrix.

/// A view of one image's feature map: `channels` planes of `height`×`width` floats, contiguous.
/// Copying a view copies nothing.
public struct FeatureMap {
    public var data: UnsafeMutablePointer<Float>
    public let channels: Int
    public let height: Int
    public let width: Int

    @inlinable public init(_ data: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int) {
        precondition(channels >= 0 && height >= 0 && width >= 0)
        self.data = data; self.channels = channels; self.height = height; self.width = width
    }
    /// Floats per channel plane (H·W).
    @inlinable public var plane: Int { height * width }
    /// Floats in the whole map (C·H·W).
    @inlinable public var count: Int { channels * height * width }
    @inlinable public func channel(_ c: Int) -> UnsafeMutablePointer<Float> { data + c * height * width }
    @inlinable public subscript(c: Int, y: Int, x: Int) -> Float {
        get { data[(c * height + y) * width + x] }
        nonmutating set { data[(c * height + y) * width + x] = newValue }
    }
    /// The map as a channels × (H·W) matrix.
    @inlinable public var matrix: Matrix { Matrix(data, rows: channels, cols: height * width) }
    public func fill(_ value: Float) { data.update(repeating: value, count: count) }
    /// An arena-backed (zeroed) feature map.
    public static func allocate(_ arena: Arena, channels: Int, height: Int, width: Int,
                                for what: String = "feature map") throws -> FeatureMap {
        FeatureMap(try arena.floats(channels * height * width, for: what), channels: channels, height: height, width: width)
    }
}

/// The geometry of one convolution layer (no weights: those are passed per call).
public struct Conv2D: Equatable, Sendable {
    public let inChannels: Int
    public let outChannels: Int
    /// 3 or 1.
    public let kernel: Int
    /// 1 or 2.
    public let stride: Int
    /// 1 for 3×3, 0 for 1×1 ("same" padding).
    @inlinable public var padding: Int { kernel / 2 }
    /// Weight floats: Cout·Cin·k·k.
    @inlinable public var weightCount: Int { outChannels * inChannels * kernel * kernel }
    /// Rows of the unfolded input: Cin·k·k.
    @inlinable public var patchSize: Int { inChannels * kernel * kernel }

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int) {
        precondition(kernel == 1 || kernel == 3, "Conv2D supports 1×1 and 3×3 kernels")
        precondition(stride == 1 || stride == 2, "Conv2D supports stride 1 and 2")
        precondition(inChannels > 0 && outChannels > 0)
        self.inChannels = inChannels; self.outChannels = outChannels; self.kernel = kernel; self.stride = stride
    }

    /// Output spatial size: (H + 2p − k)/s + 1 — that is (H − 1)/s + 1 for both kernels, so a
    /// strided 1×1 shortcut and a strided 3×3 main path agree.
    @inlinable public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padding - kernel) / stride + 1, (width + 2 * padding - kernel) / stride + 1)
    }

    /// True when the input itself is the GEMM's right-hand matrix (1×1, stride 1).
    @inlinable public var isPointwise: Bool { kernel == 1 && stride == 1 }

    /// Floats of unfolding scratch (`cols`) that forward / VJP / JVP need for an H×W input
    /// (0 for 1×1 stride 1). The GEMM's packing scratch (`GEMM.scratchFloats`) is separate.
    public static func scratchFloats(inChannels: Int, kernel: Int, stride: Int, height: Int, width: Int) -> Int {
        let conv = Conv2D(inChannels: inChannels, outChannels: 1, kernel: kernel, stride: stride)
        return conv.scratchFloats(height: height, width: width)
    }
    public func scratchFloats(height: Int, width: Int) -> Int {
        if isPointwise { return 0 }
        let (ho, wo) = outputSize(height: height, width: width)
        return patchSize * ho * wo
    }

    @inline(__always)
    func checkShapes(_ x: FeatureMap, _ y: FeatureMap) {
        precondition(x.channels == inChannels, "Conv2D: input has \(x.channels) channels, expected \(inChannels)")
        precondition(y.channels == outChannels, "Conv2D: output has \(y.channels) channels, expected \(outChannels)")
        let (ho, wo) = outputSize(height: x.height, width: x.width)
        precondition(y.height == ho && y.width == wo, "Conv2D: output is \(y.height)×\(y.width), expected \(ho)×\(wo)")
    }

    // MARK: forward / JVP

    /// y = W ∗ x + b. `cols` holds `scratchFloats(height:width:)` floats (unused for 1×1 stride 1),
    /// `gemmScratch` holds `GEMM.scratchFloats` floats (64-byte aligned, e.g. from an `Arena`).
    /// y must not alias x or cols.
    /// 3×3 stride-1 layers with a width that is a multiple of 8 take the direct convolution
    /// (DirectConvolution.swift: faster by measurement), narrow stride-2 layers the strided direct
    /// one (StridedConvolution.swift, `StridedConvolution.applies`), every other layer im2col + GEMM.
    public func forward(
        _ x: FeatureMap, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, _ y: FeatureMap,
        cols: UnsafeMutablePointer<Float>?, gemmScratch: UnsafeMutablePointer<Float>
    ) {
        if DirectConvolution.applies(self, width: x.width), let cols {
            checkShapes(x, y)
            precondition(DirectConvolution.scratchFloats(channels: inChannels, height: x.height, width: x.width)
                         <= scratchFloats(height: x.height, width: x.width), "direct convolution scratch exceeds the im2col scratch")
            DirectConvolution.forward(x, weights: weights, layout: .forward(inChannels: inChannels), bias: bias, y, padded: cols)
            return
        }
        if StridedConvolution.applies(self, height: x.height, width: x.width), let cols {
            checkShapes(x, y)
            precondition(StridedConvolution.scratchFloats(kernel: kernel, channels: inChannels, height: x.height, width: x.width)
                         <= scratchFloats(height: x.height, width: x.width), "strided convolution scratch exceeds the im2col scratch")
            StridedConvolution.forward(self, x, weights: weights, bias: bias, y, scratch: cols)
            return
        }
        forwardIm2col(x, weights: weights, bias: bias, y, cols: cols, gemmScratch: gemmScratch)
    }

    /// The im2col + GEMM forward for every layer shape (the reference the direct path is compared with).
    public func forwardIm2col(
        _ x: FeatureMap, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, _ y: FeatureMap,
        cols: UnsafeMutablePointer<Float>?, gemmScratch: UnsafeMutablePointer<Float>
    ) {
        checkShapes(x, y)
        let n = y.plane
        if let bias {
            for o in 0..<outChannels { y.channel(o).update(repeating: bias[o], count: n) }
        }
        let b: UnsafePointer<Float>
        if isPointwise {
            b = UnsafePointer(x.data)
        } else {
            guard let cols else { preconditionFailure("Conv2D.forward: \(kernel)×\(kernel)/\(stride) needs cols scratch") }
            im2col(x, outHeight: y.height, outWidth: y.width, cols: cols)
            b = UnsafePointer(cols)
        }
        GEMM.sgemm(transA: false, transB: false, m: outChannels, n: n, k: patchSize,
                   a: weights, lda: patchSize, b: b, ldb: n,
                   beta: bias == nil ? 0 : 1, c: y.data, ldc: n, scratch: gemmScratch)
    }

    /// ty = W ∗ tx (the forward without bias: the convolution is linear in its input).
    public func jvp(
        tx: FeatureMap, weights: UnsafePointer<Float>, ty: FeatureMap,
        cols: UnsafeMutablePointer<Float>?, gemmScratch: UnsafeMutablePointer<Float>
    ) {
        forward(tx, weights: weights, bias: nil, ty, cols: cols, gemmScratch: gemmScratch)
    }

    // MARK: VJP

    /// gx (+)= Wᵀ ∗ gy: gcols = Wᵀ·gy (GEMM with transA), then col2im adds each patch entry back to
    /// the input pixel it came from. With `accumulate` the result is added to gx (e.g. a residual
    /// block's input, which also receives the shortcut's gradient); otherwise gx is overwritten.
    public func vjpInput(
        gy: FeatureMap, weights: UnsafePointer<Float>, gx: FeatureMap, accumulate: Bool = false,
        cols: UnsafeMutablePointer<Float>?, gemmScratch: UnsafeMutablePointer<Float>
    ) {
        checkShapes(gx, gy)
        // 3×3 stride 1: gx = the convolution of gy with the transposed, flipped kernel (direct path)
        // when its zero-bordered copy of gy fits the layer's own im2col scratch
        if DirectConvolution.applies(self, width: gy.width), let cols,
           DirectConvolution.scratchFloats(channels: outChannels, height: gy.height, width: gy.width) <= scratchFloats(height: gx.height, width: gx.width) {
            DirectConvolution.forward(gy, weights: weights, layout: .transposed(inChannels: inChannels), bias: nil, gx,
                                      accumulate: accumulate, padded: cols)
            return
        }
        let n = gy.plane
        if isPointwise {
            GEMM.sgemm(transA: true, transB: false, m: inChannels, n: n, k: outChannels,
                       a: weights, lda: patchSize, b: gy.data, ldb: n,
                       beta: accumulate ? 1 : 0, c: gx.data, ldc: n, scratch: gemmScratch)
            return
        }
        guard let cols else { preconditionFailure("Conv2D.vjpInput: \(kernel)×\(kernel)/\(stride) needs cols scratch") }
        GEMM.sgemm(transA: true, transB: false, m: patchSize, n: n, k: outChannels,
                   a: weights, lda: patchSize, b: gy.data, ldb: n,
                   beta: 0, c: cols, ldc: n, scratch: gemmScratch)
        if !accumulate { gx.fill(0) }
        col2imAdd(cols, outHeight: gy.height, outWidth: gy.width, into: gx)
    }

    /// gW += gy · colsᵀ (cols = im2col(x), recomputed into `cols`), gBias += Σ_pixels gy.
    /// Call once per image of a batch to sum the batch's gradient.
    public func vjpWeights(
        x: FeatureMap, gy: FeatureMap, gWeights: UnsafeMutablePointer<Float>, gBias: UnsafeMutablePointer<Float>?,
        cols: UnsafeMutablePointer<Float>?, gemmScratch: UnsafeMutablePointer<Float>
    ) {
        checkShapes(x, gy)
        let n = gy.plane
        let b: UnsafePointer<Float>
        if isPointwise {
            b = UnsafePointer(x.data)
        } else {
            guard let cols else { preconditionFailure("Conv2D.vjpWeights: \(kernel)×\(kernel)/\(stride) needs cols scratch") }
            im2col(x, outHeight: gy.height, outWidth: gy.width, cols: cols)
            b = UnsafePointer(cols)
        }
        GEMM.sgemm(transA: false, transB: true, m: outChannels, n: patchSize, k: n,
                   a: gy.data, lda: n, b: b, ldb: n,
                   beta: 1, c: gWeights, ldc: patchSize, scratch: gemmScratch)
        if let gBias {
            for o in 0..<outChannels { gBias[o] += Conv2D.sum(gy.channel(o), n) }
        }
    }

    @inline(__always)
    public static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>(), i = 0
        let raw = UnsafeRawPointer(p)
        while i + 16 <= n { acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self); i += 16 }
        var s = acc.horizontalSum()
        while i < n { s += p[i]; i += 1 }
        return s
    }

    // MARK: unfolding

    /// Output columns [lo, hi) whose input column ox·s + kx − p lies inside [0, W).
    @inline(__always)
    func validRange(kx: Int, inWidth w: Int, outWidth wo: Int) -> (Int, Int) {
        let pad = padding, s = stride
        let loNum = pad - kx                     // need ox·s ≥ p − kx
        let lo = loNum <= 0 ? 0 : (loNum + s - 1) / s
        let hiNum = w - 1 - kx + pad             // need ox·s ≤ W − 1 − kx + p
        let hi = hiNum < 0 ? 0 : min(wo, hiNum / s + 1)
        return (min(lo, hi), hi)
    }

    /// cols[(c·k + ky)·k + kx][oy·Wout + ox] = x[c, oy·s + ky − p, ox·s + kx − p] (0 outside).
    public func im2col(_ x: FeatureMap, outHeight ho: Int, outWidth wo: Int, cols: UnsafeMutablePointer<Float>) {
        im2col(UnsafePointer(x.data), channelStride: x.plane, height: x.height, width: x.width,
               outHeight: ho, outWidth: wo, cols: cols, rowStride: ho * wo)
    }

    /// The adjoint of `im2col`: gx[c, oy·s + ky − p, ox·s + kx − p] += cols[(c·k + ky)·k + kx][oy·Wout + ox].
    public func col2imAdd(_ cols: UnsafePointer<Float>, outHeight ho: Int, outWidth wo: Int, into gx: FeatureMap) {
        col2imAdd(cols, rowStride: ho * wo, outHeight: ho, outWidth: wo,
                  into: gx.data, channelStride: gx.plane, height: gx.height, width: gx.width)
    }

    /// `im2col` of one image whose channel planes lie `channelStride` floats apart (a batch in
    /// channel-major layout), writing the Ho·Wo columns of each patch row at `cols + row·rowStride`
    /// (so several images can fill adjacent column ranges of one matrix).
    public func im2col(_ x: UnsafePointer<Float>, channelStride: Int, height h: Int, width w: Int,
                       outHeight ho: Int, outWidth wo: Int, cols: UnsafeMutablePointer<Float>, rowStride: Int) {
        let k = kernel, s = stride, pad = padding
        for c in 0..<inChannels {
            let plane = x + c * channelStride
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = cols + ((c * k + ky) * k + kx) * rowStride
                    let (lo, hi) = validRange(kx: kx, inWidth: w, outWidth: wo)
                    let off = kx - pad
                    for oy in 0..<ho {
                        let dst = row + oy * wo
                        let iy = oy * s + ky - pad
                        if iy < 0 || iy >= h { dst.update(repeating: 0, count: wo); continue }
                        let src = plane + iy * w
                        if lo > 0 { dst.update(repeating: 0, count: lo) }
                        if s == 1 {
                            (dst + lo).update(from: src + lo + off, count: hi - lo)
                        } else {
                            var ox = lo
                            while ox < hi { dst[ox] = src[ox * s + off]; ox += 1 }
                        }
                        if hi < wo { (dst + hi).update(repeating: 0, count: wo - hi) }
                    }
                }
            }
        }
    }

    /// The adjoint of the strided `im2col` above (adds into gx).
    public func col2imAdd(_ cols: UnsafePointer<Float>, rowStride: Int, outHeight ho: Int, outWidth wo: Int,
                          into gx: UnsafeMutablePointer<Float>, channelStride: Int, height h: Int, width w: Int) {
        let k = kernel, s = stride, pad = padding
        for c in 0..<inChannels {
            let plane = gx + c * channelStride
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = cols + ((c * k + ky) * k + kx) * rowStride
                    let (lo, hi) = validRange(kx: kx, inWidth: w, outWidth: wo)
                    if hi <= lo { continue }
                    let off = kx - pad
                    for oy in 0..<ho {
                        let iy = oy * s + ky - pad
                        if iy < 0 || iy >= h { continue }
                        let src = row + oy * wo
                        let dst = plane + iy * w
                        if s == 1 {
                            Vec.axpy(1, src + lo, dst + lo + off, hi - lo)
                        } else {
                            var ox = lo
                            while ox < hi { dst[ox * s + off] += src[ox]; ox += 1 }
                        }
                    }
                }
            }
        }
    }
}
