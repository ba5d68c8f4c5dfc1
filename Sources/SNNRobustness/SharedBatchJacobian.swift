import SNNModels
import SNNRuntime

/// The margin gradients' backward through a hidden layer, image by image, over the units that are on.
///
/// Below the softmax layer, the k − 1 cotangent rows of image b are zero in every column whose unit
/// the image's ReLU switched off (pre-activation ≤ 0; on the bundled VMG about 60 % of them), so
///   out_b[r, j] += α · Σ_{h on for b} G_b[r, h] · W[j, h]
/// skips those terms. Skipping adds nothing that was not exactly zero (0 · w = 0 and x + 0 = x), and
/// the terms that remain are summed in the dense packed GEMM's order (h ascending, one FMA chain per
/// output, then out + α·acc), so the results are those of the dense `GEMM.sgemm` — and, being per
/// image, independent of the other images of the chunk.
extension SharedBatchEvaluator {
    /// Rows of an image handled by one pass of the kernel (5 SIMD16 accumulators: 10 ymm on AVX2).
    static let kernelRows = 5

    /// Panels of Wᵀ per layer below the last; per image of a chunk its on-units and packed cotangents.
    static func sparsePlan(model: MatrixGaussianMLP, chunk: Int) -> MemoryPlan {
        var plan = MemoryPlan()
        let layers = model.layers
        for (i, l) in layers.enumerated().dropLast() { plan.add("share.panel_w\(i)", floats: (l.inputs + 15) / 16 * 16 * l.outputs) }
        let widest = layers.map(\.outputs).max()!
        plan.add("share.active_units", count: chunk * (widest + 1), of: Int.self)
        plan.add("share.packed_g", floats: chunk * widest * model.classCount + kernelRows)
        return plan
    }

    /// dst[(b·m + r)·ldc + j] += α · Σ_{h: pre[i][b, h] > 0} gpre[i][b·m + r, h] · W_i[j, h] for the
    /// `n` images b, their m = `rowsPerImage` rows r and the inputs j of layer i (below the last layer).
    func sparseBackward(layer i: Int, images n: Int, rowsPerImage m: Int, into dst: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float) {
        let l = layers[i], units = l.outputs, cols = l.inputs
        let panels = (cols + 15) / 16, wt = panelW[i], wi = w[i]
        // W_iᵀ in panels of 16 input columns: panel p, unit h holds W_i[16p ..< 16p + 16, h]
        for p in 0..<panels {
            let panel = wt + p * units * 16
            for jj in 0..<16 {
                let j = 16 * p + jj
                if j < cols {
                    let src = wi + j * units
                    for h in 0..<units { panel[h * 16 + jj] = src[h] }
                } else {
                    for h in 0..<units { panel[h * 16 + jj] = 0 }
                }
            }
        }
        // per image b: its on-units (as byte offsets of panel rows, after their count) and its
        // cotangents there, unit-major: packedG[b·units·m + t·m + r] = G_b[r, h_t]
        let stride = units + 1
        for b in 0..<n {
            let mask = pre[i] + b * units, g = gpre[i] + b * m * units
            let list = activeUnits + b * stride + 1, packed = packedG + b * units * m
            var on = 0
            for h in 0..<units where mask[h] > 0 {
                list[on] = h &* 64
                for r in 0..<m { packed[on * m + r] = g[r * units + h] }
                on += 1
            }
            activeUnits[b * stride] = on
        }
        // panel-major, so that a panel (16 columns of Wᵀ) stays in L1 while every image uses it
        let R = Self.kernelRows
        for p in 0..<panels {
            let panel = UnsafeRawPointer(wt + p * units * 16), width = min(16, cols - 16 * p)
            for b in 0..<n {
                let list = UnsafePointer(activeUnits + b * stride + 1), on = activeUnits[b * stride]
                var first = 0
                while first < m {
                    let rows = min(R, m - first)
                    let a = packedG + b * units * m + first, out = dst + (b * m + first) * ldc + 16 * p
                    if rows == 5 {
                        kernel5(on: on, offsets: list, a: a, stride: m, panel: panel, out: out, ldc: ldc, cols: width, alpha: alpha)
                    } else {
                        kernel4(rows: rows, on: on, offsets: list, a: a, stride: m, panel: panel, out: out, ldc: ldc, cols: width, alpha: alpha)
                    }
                    first += rows
                }
            }
        }
    }

    /// out[r·ldc + col] += α · Σ_t a[t·stride + r] · panel[h_t][col] for r < 5, col < cols (≤ 16),
    /// where offsets[t] = 64·h_t.
    @inline(__always)
    func kernel5(on: Int, offsets: UnsafePointer<Int>, a: UnsafePointer<Float>, stride: Int, panel: UnsafeRawPointer,
                 out: UnsafeMutablePointer<Float>, ldc: Int, cols: Int, alpha: Float) {
        var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>(), c4 = SIMD16<Float>()
        var ap = a
        for t in 0..<on {
            let bv = panel.load(fromByteOffset: offsets[t], as: SIMD16<Float>.self)
            c0 = c0.addingProduct(SIMD16(repeating: ap[0]), bv)
            c1 = c1.addingProduct(SIMD16(repeating: ap[1]), bv)
            c2 = c2.addingProduct(SIMD16(repeating: ap[2]), bv)
            c3 = c3.addingProduct(SIMD16(repeating: ap[3]), bv)
            c4 = c4.addingProduct(SIMD16(repeating: ap[4]), bv)
            ap += stride
        }
        Self.put(c0, out, cols, alpha); Self.put(c1, out + ldc, cols, alpha); Self.put(c2, out + 2 * ldc, cols, alpha)
        Self.put(c3, out + 3 * ldc, cols, alpha); Self.put(c4, out + 4 * ldc, cols, alpha)
    }

    /// The same for r < rows ≤ 4 (four accumulators; rows past `rows` read what follows in `a`
    /// and are dropped).
    @inline(__always)
    func kernel4(rows: Int, on: Int, offsets: UnsafePointer<Int>, a: UnsafePointer<Float>, stride: Int, panel: UnsafeRawPointer,
                 out: UnsafeMutablePointer<Float>, ldc: Int, cols: Int, alpha: Float) {
        var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
        var ap = a
        for t in 0..<on {
            let bv = panel.load(fromByteOffset: offsets[t], as: SIMD16<Float>.self)
            c0 = c0.addingProduct(SIMD16(repeating: ap[0]), bv)
            c1 = c1.addingProduct(SIMD16(repeating: ap[1]), bv)
            c2 = c2.addingProduct(SIMD16(repeating: ap[2]), bv)
            c3 = c3.addingProduct(SIMD16(repeating: ap[3]), bv)
            ap += stride
        }
        Self.put(c0, out, cols, alpha)
        if rows > 1 { Self.put(c1, out + ldc, cols, alpha) }
        if rows > 2 { Self.put(c2, out + 2 * ldc, cols, alpha) }
        if rows > 3 { Self.put(c3, out + 3 * ldc, cols, alpha) }
    }

    /// row[0 ..< cols] += α · v (as the packed GEMM writes a tile row).
    @inline(__always)
    static func put(_ v: SIMD16<Float>, _ row: UnsafeMutablePointer<Float>, _ cols: Int, _ alpha: Float) {
        if cols == 16 {
            let p = UnsafeMutableRawPointer(row)
            p.storeBytes(of: p.loadUnaligned(as: SIMD16<Float>.self) + alpha * v, as: SIMD16<Float>.self)
        } else {
            for col in 0..<cols { row[col] += alpha * v[col] }
        }
    }
}
