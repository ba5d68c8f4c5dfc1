// The few-row GEMM kernels: one image's rows (x, x_adv, tangent) against a weight matrix that is
// used once per sample, so packing it would cost as much as the product.

extension GEMM {
    /// C[m×n] += α·A[m×k]·B[k×n] for few rows m: strips of 16 columns, up to 4 rows at a time,
    /// B read in place (unaligned SIMD16 loads).
    public static func fewRows(
        m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let braw = UnsafeRawPointer(b)
        var i = 0
        while i < m {
            let rows = min(4, m - i)
            var j = 0
            while j + 32 <= n {
                var acc = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
                           SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
                for p in 0..<k {
                    let off = (p * ldb + j) * 4
                    let b0 = braw.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self)
                    let b1 = braw.loadUnaligned(fromByteOffset: off + 64, as: SIMD16<Float>.self)
                    let a0 = a[i * lda + p]
                    acc.0.addProduct(a0, b0); acc.1.addProduct(a0, b1)
                    if rows > 1 { let a1 = a[(i + 1) * lda + p]; acc.2.addProduct(a1, b0); acc.3.addProduct(a1, b1) }
                    if rows > 2 { let a2 = a[(i + 2) * lda + p]; acc.4.addProduct(a2, b0); acc.5.addProduct(a2, b1) }
                    if rows > 3 { let a3 = a[(i + 3) * lda + p]; acc.6.addProduct(a3, b0); acc.7.addProduct(a3, b1) }
                }
                addRow(c + i * ldc + j, acc.0, alpha); addRow(c + i * ldc + j + 16, acc.1, alpha)
                if rows > 1 { addRow(c + (i + 1) * ldc + j, acc.2, alpha); addRow(c + (i + 1) * ldc + j + 16, acc.3, alpha) }
                if rows > 2 { addRow(c + (i + 2) * ldc + j, acc.4, alpha); addRow(c + (i + 2) * ldc + j + 16, acc.5, alpha) }
                if rows > 3 { addRow(c + (i + 3) * ldc + j, acc.6, alpha); addRow(c + (i + 3) * ldc + j + 16, acc.7, alpha) }
                j += 32
            }
            while j + 16 <= n {
                for r in 0..<rows {
                    var acc = SIMD16<Float>()
                    for p in 0..<k {
                        acc.addProduct(a[(i + r) * lda + p], braw.loadUnaligned(fromByteOffset: (p * ldb + j) * 4, as: SIMD16<Float>.self))
                    }
                    addRow(c + (i + r) * ldc + j, acc, alpha)
                }
                j += 16
            }
            if j < n {
                for r in 0..<rows {
                    for jj in j..<n {
                        var s: Float = 0
                        for p in 0..<k { s += a[(i + r) * lda + p] * b[p * ldb + jj] }
                        c[(i + r) * ldc + jj] += alpha * s
                    }
                }
            }
            i += rows
        }
    }

    /// C[m×n] += α·A[m×k]·Bᵀ with B stored n×k: dot products of rows, SIMD16 along k, four rows
    /// of A per pass so each chunk of B is loaded once for four FMAs.
    public static func fewRowsTransB(
        m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let k16 = k / 16 * 16
        let araw = UnsafeRawPointer(a), braw = UnsafeRawPointer(b)
        @inline(__always) func chunk(_ row: Int, _ p: Int) -> SIMD16<Float> {
            araw.loadUnaligned(fromByteOffset: (row * lda + p) * 4, as: SIMD16<Float>.self)
        }
        for j in 0..<n {
            let bRow = j * ldb
            var i = 0
            while i + 4 <= m {
                var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
                var p = 0
                while p < k16 {
                    let bv = braw.loadUnaligned(fromByteOffset: (bRow + p) * 4, as: SIMD16<Float>.self)
                    s0.addProduct(chunk(i, p), bv); s1.addProduct(chunk(i + 1, p), bv)
                    s2.addProduct(chunk(i + 2, p), bv); s3.addProduct(chunk(i + 3, p), bv)
                    p += 16
                }
                var t0 = s0.horizontalSum(), t1 = s1.horizontalSum(), t2 = s2.horizontalSum(), t3 = s3.horizontalSum()
                while p < k {
                    let bv = b[bRow + p]
                    t0 += a[i * lda + p] * bv; t1 += a[(i + 1) * lda + p] * bv
                    t2 += a[(i + 2) * lda + p] * bv; t3 += a[(i + 3) * lda + p] * bv
                    p += 1
                }
                c[i * ldc + j] += alpha * t0; c[(i + 1) * ldc + j] += alpha * t1
                c[(i + 2) * ldc + j] += alpha * t2; c[(i + 3) * ldc + j] += alpha * t3
                i += 4
            }
            while i < m {
                var acc = SIMD16<Float>()
                var p = 0
                while p < k16 {
                    acc.addProduct(chunk(i, p), braw.loadUnaligned(fromByteOffset: (bRow + p) * 4, as: SIMD16<Float>.self))
                    p += 16
                }
                var t = acc.horizontalSum()
                while p < k { t += a[i * lda + p] * b[bRow + p]; p += 1 }
                c[i * ldc + j] += alpha * t
                i += 1
            }
        }
    }
}

extension SIMD16 where Scalar == Float {
    @inline(__always) mutating func addProduct(_ x: SIMD16<Float>, _ y: SIMD16<Float>) {
        self = self.addingProduct(x, y)
    }

    /// Σ lanes as a tree (halves added pairwise: 4 vector adds and a scalar add). The standard
    /// library's `sum()` keeps the strict left-to-right order, a 16-deep chain of dependent scalar
    /// adds (~50 cycles of latency), which made the dot-product kernels latency-bound.
    @inline(__always) public func horizontalSum() -> Float {
        let a = lowHalf + highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }
}
