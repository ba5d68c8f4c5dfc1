import XCTest
@testable import SNNRuntime

final class GEMMTests: XCTestCase {
    func naive(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
               _ a: [Float], _ lda: Int, _ b: [Float], _ ldb: Int, _ beta: Float, _ c: [Float], _ ldc: Int) -> [Double] {
        var out = c.map(Double.init)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                out[i * ldc + j] = Double(alpha) * s + Double(beta) * Double(c[i * ldc + j])
            }
        }
        return out
    }

    func check(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, alpha: Float = 1, beta: Float = 0, pad: Int = 3) {
        var rng = TestRNG(UInt64(m * 1000 + n * 10 + k))
        let lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad
        let a = rng.fill((transA ? k : m) * lda), b = rng.fill((transB ? n : k) * ldb)
        var c = rng.fill(m * ldc)
        let expected = naive(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        let arena = Arena(capacity: GEMM.scratchFloats * 4 + 64)
        let scratch = try! arena.floats(GEMM.scratchFloats)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            GEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: lda,
                       b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc, scratch: scratch)
        } } }
        // padding columns must be untouched
        for i in 0..<m { for j in n..<ldc { XCTAssertEqual(Double(c[i * ldc + j]), expected[i * ldc + j]) } }
        assertClose(c, expected, rel: 1e-4, abs: 1e-4 * Double(k).squareRoot(), "gemm tA=\(transA) tB=\(transB) \(m)x\(n)x\(k)")
    }

    func testOddShapesAllTransposes() {
        for (m, n, k) in [(1, 1, 1), (1, 10, 785), (3, 128, 785), (2, 129, 7), (10, 785, 128), (7, 17, 33),
                          (13, 31, 300), (100, 128, 785), (37, 50, 3), (150, 1030, 260)] {
            for tA in [false, true] { for tB in [false, true] { check(tA, tB, m, n, k) } }
        }
    }

    func testAlphaBeta() {
        check(false, false, 20, 40, 30, alpha: 0.5, beta: 1)
        check(true, false, 3, 40, 30, alpha: -2, beta: 0.25)
        check(false, true, 4, 40, 30, alpha: 1, beta: 1)
        check(false, false, 5, 5, 0, alpha: 1, beta: 0.5)
    }
}
