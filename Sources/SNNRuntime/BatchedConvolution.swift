// Convolution over a whole minibatch for training (the wide ResNet trainer), as one GEMM per chunk
// of images instead of one small GEMM per image.
//
// Layout: channel-major ("CNHW"): channel c of image n is the H·W plane at data + (c·N + n)·H·W, so
// the batch is a C × (N·H·W) matrix. Then
//   - the convolution of images [n0, n1) is W[Cout × Cin·k²] · cols[Cin·k² × (n1 − n0)·Ho·Wo],
//     written straight into columns n0·Ho·Wo… of the output matrix (ldc = N·Ho·Wo);
//   - a 1×1 stride-1 convolution is one GEMM over the whole batch with no unfolding;
//   - batch norm over channel c reads one contiguous run of N·H·W floats.
// Chunking the images bounds the unfolding scratch (Cin·k²·chunk·Ho·Wo floats) while keeping the
// GEMM's n dimension large (chunk·Ho·Wo ≥ 1024 for the chunk sizes used).

/// A minibatch of feature maps in channel-major layout (see above). Copying a view copies nothing.
public struct BatchMap {
    public var data: UnsafeMutablePointer<Float>
    public let channels: Int, batch: Int, height: Int, width: Int

    @inlinable public init(_ data: UnsafeMutablePointer<Float>, channels: Int, batch: Int, height: Int, width: Int) {
        self.data = data; self.channels = channels; self.batch = batch; self.height = height; self.width = width
    }
    @inlinable public var plane: Int { height * width }
    /// Floats per channel row: N·H·W.
    @inlinable public var rowLength: Int { batch * height * width }
    @inlinable public var count: Int { channels * rowLength }
    /// The plane of channel c of image n.
    @inlinable public func plane(_ c: Int, _ n: Int) -> UnsafeMutablePointer<Float> { data + (c * batch + n) * height * width }
}

extension Conv2D {
    /// Floats of unfolding scratch for `chunk` images of H×W (0 for 1×1 stride 1).
    public func batchScratchFloats(height: Int, width: Int, chunk: Int) -> Int {
        scratchFloats(height: height, width: width) * chunk
    }

    @inline(__always)
    func checkBatch(_ x: BatchMap, _ y: BatchMap) {
        precondition(x.channels == inChannels && y.channels == outChannels && x.batch == y.batch,
                     "Conv2D batch: \(x.channels)→\(y.channels) channels for a \(inChannels)→\(outChannels) layer")
        let (ho, wo) = outputSize(height: x.height, width: x.width)
        precondition(y.height == ho && y.width == wo, "Conv2D batch: output is \(y.height)×\(y.width), expected \(ho)×\(wo)")
    }

    /// Unfolds images [n0, n0 + count) of x into cols (row stride count·Ho·Wo).
    func unfold(_ x: BatchMap, from n0: Int, count: Int, outHeight ho: Int, outWidth wo: Int, cols: UnsafeMutablePointer<Float>) {
        for j in 0..<count {
            im2col(UnsafePointer(x.plane(0, n0 + j)), channelStride: x.rowLength, height: x.height, width: x.width,
                   outHeight: ho, outWidth: wo, cols: cols + j * ho * wo, rowStride: count * ho * wo)
        }
    }

    /// y = W ∗ x + b for every image of the batch. `cols` holds `batchScratchFloats(…, chunk:)`.
    public func forwardBatch(
        _ x: BatchMap, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, _ y: BatchMap,
        cols: UnsafeMutablePointer<Float>, chunk: Int, gemmScratch: UnsafeMutablePointer<Float>
    ) {
        checkBatch(x, y)
        let ldc = y.rowLength
        if let bias { for o in 0..<outChannels { (y.data + o * ldc).update(repeating: bias[o], count: ldc) } }
        let beta: Float = bias == nil ? 0 : 1
        if isPointwise {
            GEMM.sgemm(transA: false, transB: false, m: outChannels, n: ldc, k: inChannels, a: weights, lda: patchSize,
                       b: x.data, ldb: x.rowLength, beta: beta, c: y.data, ldc: ldc, scratch: gemmScratch)
            return
        }
        let hw = y.plane
        var n0 = 0
        while n0 < x.batch {
            let count = min(chunk, x.batch - n0)
            unfold(x, from: n0, count: count, outHeight: y.height, outWidth: y.width, cols: cols)
            GEMM.sgemm(transA: false, transB: false, m: outChannels, n: count * hw, k: patchSize, a: weights, lda: patchSize,
                       b: cols, ldb: count * hw, beta: beta, c: y.data + n0 * hw, ldc: ldc, scratch: gemmScratch)
            n0 += count
        }
    }

    /// gx (+)= Wᵀ ∗ gy for every image.
    public func vjpInputBatch(
        gy: BatchMap, weights: UnsafePointer<Float>, gx: BatchMap, accumulate: Bool = false,
        cols: UnsafeMutablePointer<Float>, chunk: Int, gemmScratch: UnsafeMutablePointer<Float>
    ) {
        checkBatch(gx, gy)
        if isPointwise {
            GEMM.sgemm(transA: true, transB: false, m: inChannels, n: gy.rowLength, k: outChannels, a: weights, lda: patchSize,
                       b: gy.data, ldb: gy.rowLength, beta: accumulate ? 1 : 0, c: gx.data, ldc: gx.rowLength, scratch: gemmScratch)
            return
        }
        if !accumulate { gx.data.update(repeating: 0, count: gx.count) }
        let hw = gy.plane
        var n0 = 0
        while n0 < gy.batch {
            let count = min(chunk, gy.batch - n0)
            GEMM.sgemm(transA: true, transB: false, m: patchSize, n: count * hw, k: outChannels, a: weights, lda: patchSize,
                       b: gy.data + n0 * hw, ldb: gy.rowLength, beta: 0, c: cols, ldc: count * hw, scratch: gemmScratch)
            for j in 0..<count {
                col2imAdd(cols + j * hw, rowStride: count * hw, outHeight: gy.height, outWidth: gy.width,
                          into: gx.plane(0, n0 + j), channelStride: gx.rowLength, height: gx.height, width: gx.width)
            }
            n0 += count
        }
    }

    /// gW += Σ_images gy · im2col(x)ᵀ, gBias += Σ gy.
    public func vjpWeightsBatch(
        x: BatchMap, gy: BatchMap, gWeights: UnsafeMutablePointer<Float>, gBias: UnsafeMutablePointer<Float>?,
        cols: UnsafeMutablePointer<Float>, chunk: Int, gemmScratch: UnsafeMutablePointer<Float>
    ) {
        checkBatch(x, gy)
        if let gBias { for o in 0..<outChannels { gBias[o] += Conv2D.sum(gy.data + o * gy.rowLength, gy.rowLength) } }
        if isPointwise {
            Self.accumulateTransB(m: outChannels, n: inChannels, k: gy.rowLength, a: gy.data, lda: gy.rowLength,
                                  b: x.data, ldb: x.rowLength, c: gWeights, ldc: patchSize, scratch: gemmScratch)
            return
        }
        let hw = gy.plane
        var n0 = 0
        while n0 < x.batch {
            let count = min(chunk, x.batch - n0)
            unfold(x, from: n0, count: count, outHeight: gy.height, outWidth: gy.width, cols: cols)
            Self.accumulateTransB(m: outChannels, n: patchSize, k: count * hw, a: gy.data + n0 * hw, lda: gy.rowLength,
                                  b: cols, ldb: count * hw, c: gWeights, ldc: patchSize, scratch: gemmScratch)
            n0 += count
        }
    }

    /// C += A·Bᵀ with both operands contracted along their contiguous (long) dimension — the weight
    /// gradient, k = pixels of the chunk. For few output channels the packed GEMM spends as long
    /// packing the transposed operand (reused only m times) as multiplying, so small m goes to the
    /// dot-product kernel, k-blocked so A's block stays in L1/L2 while B's rows stream past.
    static func accumulateTransB(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                 c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutablePointer<Float>) {
        if m > 32 {
            GEMM.sgemm(transA: false, transB: true, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: 1, c: c, ldc: ldc, scratch: scratch)
            return
        }
        let block = 512
        var p0 = 0
        while p0 < k {
            let kb = min(block, k - p0)
            GEMM.fewRowsTransB(m: m, n: n, k: kb, alpha: 1, a: a + p0, lda: lda, b: b + p0, ldb: ldb, c: c, ldc: ldc)
            p0 += kb
        }
    }
}
