// GEMM throughput at the shapes the MLP uses (784-128-128-10, batch 100) and at 1024³.
// GFLOP/s: each iteration times one call with ContinuousClock and records 2·m·n·k / t as the
// custom metric "MFLOP/s" (an integer, so MFLOP/s rather than GFLOP/s); its median ÷ 1000 is the
// GFLOP/s in the README table. `throughput` (calls/s) × 2·m·n·k gives the same number.
import Benchmark
import SNNRuntime

let mflops = BenchmarkMetric.custom("MFLOP/s", polarity: .prefersLarger, useScalingFactor: false)

func random(_ count: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
    NormalStream.fill(p, count: count, address: RandomAddress(seed: seed, role: .train, image: 0, sample: 0), tensor: 0)
    return p
}

struct Shape {
    let name: String, transA: Bool, transB: Bool, m: Int, n: Int, k: Int
    var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

@inline(never)
func timed(_ body: () -> Void) -> Duration {
    let clock = ContinuousClock()
    let t0 = clock.now
    body()
    return clock.now - t0
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

let benchmarks: @Sendable () -> Void = {
    let shapes = [
        // forward: X[100×785] · W[785×128]
        Shape(name: "sgemm 100x785x128 (m×k×n, forward)", transA: false, transB: false, m: 100, n: 128, k: 785),
        // weight gradient: Xᵀ[785×100] · G[100×128]
        Shape(name: "sgemm 785x128x100 transA (m×n×k, dW = XᵀG)", transA: true, transB: false, m: 785, n: 128, k: 100),
        // input gradient: G[100×128] · Wᵀ[128×785]
        Shape(name: "sgemm 100x785x128 transB (m×n×k, dX = GWᵀ)", transA: false, transB: true, m: 100, n: 785, k: 128),
        Shape(name: "sgemm 1024x1024x1024", transA: false, transB: false, m: 1024, n: 1024, k: 1024),
    ]
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: GEMM.scratchFloats)
    scratch.initialize(repeating: 0, count: GEMM.scratchFloats)
    let config = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, mflops, .mallocCountTotal],
        warmupIterations: 3, scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 2000)

    for s in shapes {
        // A is op(A) = m×k (stored k×m when transposed), B is op(B) = k×n (stored n×k when transposed)
        let a = random(s.m * s.k, seed: 1), b = random(s.k * s.n, seed: 2)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: s.m * s.n)
        c.initialize(repeating: 0, count: s.m * s.n)
        let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
        Benchmark(s.name, configuration: config) { benchmark in
            for _ in benchmark.scaledIterations {
                let t = timed {
                    GEMM.sgemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                               a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: s.n, scratch: scratch)
                }
                benchmark.measurement(mflops, Int(s.flops / seconds(t) / 1e6))
            }
            blackHole(c[0])
        }
    }

    // one image's rows (x, x_adv, tangent) through the first layer: C[3×128] += A[3×785]·B[785×128]
    let m = 3, k = 785, n = 128
    let a = random(m * k, seed: 3), b = random(k * n, seed: 4)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    c.initialize(repeating: 0, count: m * n)
    Benchmark("fewRows 3x785x128 (m×k×n)", configuration: .init(
        metrics: [.wallClock, .throughput, mflops, .mallocCountTotal],
        warmupIterations: 10, scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 100_000)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            let t = timed {
                GEMM.fewRows(m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n, c: c, ldc: n)
            }
            benchmark.measurement(mflops, Int(2 * Double(m * n * k) / seconds(t) / 1e6))
        }
        blackHole(c[0])
    }
}
