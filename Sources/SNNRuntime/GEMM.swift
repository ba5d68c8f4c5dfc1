// Single-precision matrix multiply, row-major: C = α·op(A)·op(B) + β·C.
// Large shapes: Goto-style blocking (B block kc×nc in L3, A block mc×kc in L2, B micro-panel in
// L1) around a 6×16 register-blocked micro-kernel (6 SIMD16 accumulators = 12 ymm on AVX2,
// 6 zmm on AVX-512). Few rows (one image's x, x_adv and tangent): no packing, B is streamed.

public enum GEMM {
    public static let mr = 6, nr = 16
    public static let mc = 144, kc = 256, nc = 1024
    /// Floats of scratch that `sgemm` needs for packing (allocate it once, from an arena).
    public static let scratchFloats = mc * kc + kc * nc
    /// At or below this many rows of C, the unpacked kernels are used.
    public static let smallM = 12

    /// C[m×n] = α·op(A)[m×k]·op(B)[k×n] + β·C. op(X) = Xᵀ when trans is set; lda/ldb/ldc are
    /// row strides of the matrices as stored. `scratch` holds `scratchFloats` floats.
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        scratch: UnsafeMutablePointer<Float>
    ) {
        if m == 0 || n == 0 { return }
        scale(c, rows: m, cols: n, ldc: ldc, by: beta)
        if k == 0 || alpha == 0 { return }
        if m <= smallM && !transA {
            if transB {
                fewRowsTransB(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
            } else {
                fewRows(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
            }
            return
        }
        let packedA = scratch
        let packedB = scratch + mc * kc
        var jc = 0
        while jc < n {
            let nb = min(nc, n - jc)
            var pc = 0
            while pc < k {
                let kb = min(kc, k - pc)
                packB(transB: transB, b: b, ldb: ldb, p0: pc, j0: jc, kb: kb, nb: nb, into: packedB)
                var ic = 0
                while ic < m {
                    let mb = min(mc, m - ic)
                    packA(transA: transA, a: a, lda: lda, i0: ic, p0: pc, mb: mb, kb: kb, into: packedA)
                    var jr = 0
                    while jr < nb {
                        let bPanel = packedB + (jr / nr) * nr * kb
                        var ir = 0
                        while ir < mb {
                            let aPanel = packedA + (ir / mr) * mr * kb
                            microKernel(
                                kb: kb, a: aPanel, b: bPanel, alpha: alpha,
                                c: c + (ic + ir) * ldc + jc + jr, ldc: ldc,
                                rows: min(mr, mb - ir), cols: min(nr, nb - jr))
                            ir += mr
                        }
                        jr += nr
                    }
                    ic += mc
                }
                pc += kc
            }
            jc += nc
        }
    }

    @inline(__always)
    static func scale(_ c: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ldc: Int, by beta: Float) {
        if beta == 1 { return }
        for i in 0..<rows {
            let row = c + i * ldc
            if beta == 0 {
                row.update(repeating: 0, count: cols)
            } else {
                for j in 0..<cols { row[j] *= beta }
            }
        }
    }

    /// A block (mb×kb of op(A)) → panels of mr rows, each stored k-major: panel[p·mr + r].
    @inline(__always)
    static func packA(
        transA: Bool, a: UnsafePointer<Float>, lda: Int, i0: Int, p0: Int, mb: Int, kb: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        var ir = 0
        while ir < mb {
            let panel = out + (ir / mr) * mr * kb
            let rows = min(mr, mb - ir)
            for p in 0..<kb {
                let dst = panel + p * mr
                for r in 0..<mr {
                    if r < rows {
                        let i = i0 + ir + r, q = p0 + p
                        dst[r] = transA ? a[q * lda + i] : a[i * lda + q]
                    } else {
                        dst[r] = 0
                    }
                }
            }
            ir += mr
        }
    }

    /// B block (kb×nb of op(B)) → panels of nr columns, each stored k-major: panel[p·nr + c].
    @inline(__always)
    static func packB(
        transB: Bool, b: UnsafePointer<Float>, ldb: Int, p0: Int, j0: Int, kb: Int, nb: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        var jr = 0
        while jr < nb {
            let panel = out + (jr / nr) * nr * kb
            let cols = min(nr, nb - jr)
            if !transB && cols == nr {
                for p in 0..<kb {
                    let src = UnsafeRawPointer(b + (p0 + p) * ldb + j0 + jr)
                    UnsafeMutableRawPointer(panel + p * nr).storeBytes(
                        of: src.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                }
            } else {
                for p in 0..<kb {
                    let dst = panel + p * nr
                    for col in 0..<nr {
                        if col < cols {
                            let j = j0 + jr + col, q = p0 + p
                            dst[col] = transB ? b[j * ldb + q] : b[q * ldb + j]
                        } else {
                            dst[col] = 0
                        }
                    }
                }
            }
            jr += nr
        }
    }

    /// C tile (rows×cols ≤ 6×16) += α·Apanel·Bpanel over kb.
    @inline(__always)
    static func microKernel(
        kb: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, alpha: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int
    ) {
        var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>()
        var c3 = SIMD16<Float>(), c4 = SIMD16<Float>(), c5 = SIMD16<Float>()
        let braw = UnsafeRawPointer(b)
        var ap = a
        for p in 0..<kb {
            let bv = braw.load(fromByteOffset: p * 64, as: SIMD16<Float>.self)
            c0.addProduct(ap[0], bv); c1.addProduct(ap[1], bv); c2.addProduct(ap[2], bv)
            c3.addProduct(ap[3], bv); c4.addProduct(ap[4], bv); c5.addProduct(ap[5], bv)
            ap += mr
        }
        if rows == mr && cols == nr {
            addRow(c, c0, alpha); addRow(c + ldc, c1, alpha); addRow(c + 2 * ldc, c2, alpha)
            addRow(c + 3 * ldc, c3, alpha); addRow(c + 4 * ldc, c4, alpha); addRow(c + 5 * ldc, c5, alpha)
        } else if cols == nr {
            // short edge tile (m not a multiple of 6): full-width rows still go out as vectors
            addRow(c, c0, alpha)
            if rows > 1 { addRow(c + ldc, c1, alpha) }
            if rows > 2 { addRow(c + 2 * ldc, c2, alpha) }
            if rows > 3 { addRow(c + 3 * ldc, c3, alpha) }
            if rows > 4 { addRow(c + 4 * ldc, c4, alpha) }
        } else {
            // edge tiles: spill the accumulators to the stack (no heap array per tile)
            withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: mr) { acc in
                acc[0] = c0; acc[1] = c1; acc[2] = c2; acc[3] = c3; acc[4] = c4; acc[5] = c5
                for r in 0..<rows {
                    for col in 0..<cols { c[r * ldc + col] += alpha * acc[r][col] }
                }
            }
        }
    }

    @inline(__always)
    static func addRow(_ c: UnsafeMutablePointer<Float>, _ v: SIMD16<Float>, _ alpha: Float) {
        let p = UnsafeMutableRawPointer(c)
        let old = p.loadUnaligned(as: SIMD16<Float>.self)
        p.storeBytes(of: old + alpha * v, as: SIMD16<Float>.self)
    }
}

extension SIMD16 where Scalar == Float {
    @inline(__always) mutating func addProduct(_ s: Float, _ v: SIMD16<Float>) {
        self = self.addingProduct(SIMD16(repeating: s), v)
    }
}
