import XCTest
@testable import SNNRuntime

/// The minibatch convolution (channel-major layout, chunked GEMMs) against the per-image `Conv2D`
/// calls, which `ConvolutionTests` checks against a naive convolution and finite differences.
final class BatchedConvolutionTests: XCTestCase {
    func check(cin: Int, cout: Int, k: Int, s: Int, h: Int, w: Int, batch: Int, chunk: Int) throws {
        let conv = Conv2D(inChannels: cin, outChannels: cout, kernel: k, stride: s)
        let (ho, wo) = conv.outputSize(height: h, width: w)
        var rng = TestRNG(UInt64(cin * 1000 + cout * 10 + k + s))
        let x = rng.fill(batch * cin * h * w)            // channel-major: (c·N + n)·H·W
        let gy = rng.fill(batch * cout * ho * wo)
        let wt = rng.fill(conv.weightCount), b = rng.fill(cout)
        let arena = Arena(capacity: 16 << 20)   // test buffers (a few MiB at most)
        let cols = try arena.floats(max(conv.batchScratchFloats(height: h, width: w, chunk: chunk), 1))
        let cols1 = try arena.floats(max(conv.scratchFloats(height: h, width: w), 1))
        let gemm = try arena.floats(GEMM.scratchFloats)
        let xb = try arena.floats(x.count), gyb = try arena.floats(gy.count)
        xb.update(from: x, count: x.count); gyb.update(from: gy, count: gy.count)
        let yb = try arena.floats(gy.count), gxb = try arena.floats(x.count)
        let gW = try arena.floats(conv.weightCount), gB = try arena.floats(cout)
        let X = BatchMap(xb, channels: cin, batch: batch, height: h, width: w)
        let GY = BatchMap(gyb, channels: cout, batch: batch, height: ho, width: wo)
        let Y = BatchMap(yb, channels: cout, batch: batch, height: ho, width: wo)
        let GX = BatchMap(gxb, channels: cin, batch: batch, height: h, width: w)
        wt.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in
            conv.forwardBatch(X, weights: wp.baseAddress!, bias: bp.baseAddress!, Y, cols: cols, chunk: chunk, gemmScratch: gemm)
            gxb.update(repeating: 0.5, count: x.count)
            conv.vjpInputBatch(gy: GY, weights: wp.baseAddress!, gx: GX, accumulate: true, cols: cols, chunk: chunk, gemmScratch: gemm)
            gW.update(repeating: 0.25, count: conv.weightCount); gB.update(repeating: 0.25, count: cout)
            conv.vjpWeightsBatch(x: X, gy: GY, gWeights: gW, gBias: gB, cols: cols, chunk: chunk, gemmScratch: gemm)
        } }
        // per-image reference
        var refW = [Float](repeating: 0.25, count: conv.weightCount), refB = [Float](repeating: 0.25, count: cout)
        let xi = try arena.floats(cin * h * w), gyi = try arena.floats(cout * ho * wo)
        let yi = try arena.floats(cout * ho * wo), gxi = try arena.floats(cin * h * w)
        var worst: Float = 0
        for n in 0..<batch {
            for c in 0..<cin { (xi + c * h * w).update(from: X.plane(c, n), count: h * w) }
            for c in 0..<cout { (gyi + c * ho * wo).update(from: GY.plane(c, n), count: ho * wo) }
            let xm = FeatureMap(xi, channels: cin, height: h, width: w), gym = FeatureMap(gyi, channels: cout, height: ho, width: wo)
            let ym = FeatureMap(yi, channels: cout, height: ho, width: wo), gxm = FeatureMap(gxi, channels: cin, height: h, width: w)
            wt.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in refW.withUnsafeMutableBufferPointer { rw in refB.withUnsafeMutableBufferPointer { rb in
                conv.forward(xm, weights: wp.baseAddress!, bias: bp.baseAddress!, ym, cols: cols1, gemmScratch: gemm)
                conv.vjpInput(gy: gym, weights: wp.baseAddress!, gx: gxm, cols: cols1, gemmScratch: gemm)
                conv.vjpWeights(x: xm, gy: gym, gWeights: rw.baseAddress!, gBias: rb.baseAddress!, cols: cols1, gemmScratch: gemm)
            } } } }
            for c in 0..<cout { for i in 0..<(ho * wo) { worst = max(worst, abs(Y.plane(c, n)[i] - yi[c * ho * wo + i])) } }
            for c in 0..<cin { for i in 0..<(h * w) { worst = max(worst, abs(GX.plane(c, n)[i] - (gxi[c * h * w + i] + 0.5))) } }
        }
        for i in 0..<conv.weightCount { worst = max(worst, abs(gW[i] - refW[i]) / max(1, abs(refW[i]))) }
        for i in 0..<cout { worst = max(worst, abs(gB[i] - refB[i]) / max(1, abs(refB[i]))) }
        XCTAssertLessThan(worst, 1e-4, "\(k)×\(k)/\(s) \(cin)→\(cout) batch \(batch) chunk \(chunk)")
    }

    func testMatchesPerImageConvolution() throws {
        try check(cin: 3, cout: 5, k: 3, s: 1, h: 7, w: 6, batch: 5, chunk: 2)      // chunk does not divide the batch
        try check(cin: 4, cout: 16, k: 3, s: 2, h: 8, w: 8, batch: 3, chunk: 4)
        try check(cin: 6, cout: 7, k: 1, s: 1, h: 5, w: 5, batch: 4, chunk: 3)      // pointwise: one GEMM, no unfolding
        try check(cin: 5, cout: 40, k: 1, s: 2, h: 6, w: 7, batch: 2, chunk: 1)     // m > 32: the packed GEMM path
        try check(cin: 34, cout: 33, k: 3, s: 1, h: 4, w: 4, batch: 3, chunk: 3)
    }
}
