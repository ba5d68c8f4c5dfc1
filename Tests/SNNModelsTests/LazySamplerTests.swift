import XCTest
@_spi(Testing) import SNNModels
import SNNRuntime

/// The lazy sampler (docs/METHOD.md §Lazy sampler) is exact in distribution:
/// 1. one lazily revealed matrix E: the answers to a fixed sequence of left and right queries have
///    the closed-form mean 0 and covariances Cov((aE)_j, (a'E)_j') = ⟨a, a'⟩δ_jj',
///    Cov((aE)_j, (Eb)_i) = a_i b_j, Cov((Eb)_i, (Eb')_i') = ⟨b, b'⟩δ_ii' — with and without
///    materialization, and a sampler that forgets what it revealed fails the same test;
/// 2. whole MLP realizations with adaptive queries (layer 1's queries depend on layer 0's answers):
///    what an evaluation reads (outputs at x and x_adv, the JVP, the VJP rows) has the same law under
///    both samplers, by two-sample Kolmogorov–Smirnov tests on every coordinate and on random
///    projections (Bonferroni); the forgetting sampler is rejected by the same test.
final class LazySamplerTests: XCTestCase {
    // MARK: one matrix against the closed form

    enum Query { case left([Float]), right([Float]) }

    /// Answers of `queries` for realizations 0..<n, each answer vector concatenated.
    func answers(r: Int, c: Int, queries: [Query], n: Int, leftCapacity: Int, rightCapacity: Int, forgets: Bool = false) throws -> [[Double]] {
        let plan = LazyGaussianMatrix.plan(rows: r, cols: c, leftCapacity: leftCapacity, rightCapacity: rightCapacity, prefix: "E")
        let arena = Arena(capacity: plan.bytes + 4096)
        let e = LazyGaussianMatrix(rows: r, cols: c, leftCapacity: leftCapacity, rightCapacity: rightCapacity, tensor: 512, restTensor: 768, prefix: "E",
                                   buffers: try plan.allocate(in: arena))
        e.forgetsForTesting = forgets
        var out = [[Double]]()
        var buf = [Float](repeating: 0, count: max(r, c))
        for s in 0..<n {
            e.reset(RandomAddress(seed: 17, role: .inference, image: 2, sample: UInt32(s)))
            var row = [Double]()
            for q in queries {
                switch q {
                case .left(let a): e.left(a, into: &buf); row += buf[0..<c].map(Double.init)
                case .right(let b): e.right(b, into: &buf); row += buf[0..<r].map(Double.init)
                }
            }
            out.append(row)
        }
        return out
    }

    func closedFormCovariance(r: Int, c: Int, queries: [Query]) -> [[Double]] {
        // entry (query, index) → (kind, vector, index)
        var items: [(left: Bool, v: [Float], i: Int)] = []
        for q in queries {
            switch q {
            case .left(let a): for j in 0..<c { items.append((true, a, j)) }
            case .right(let b): for i in 0..<r { items.append((false, b, i)) }
            }
        }
        func dot(_ x: [Float], _ y: [Float]) -> Double { zip(x, y).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
        return items.map { p in items.map { q in
            switch (p.left, q.left) {
            case (true, true): return p.i == q.i ? dot(p.v, q.v) : 0              // (aE)_j, (a'E)_j'
            case (false, false): return p.i == q.i ? dot(p.v, q.v) : 0            // (Eb)_i, (Eb')_i'
            case (true, false): return Double(p.v[q.i]) * Double(q.v[p.i])        // (aE)_j, (Eb)_i = a_i b_j
            case (false, true): return Double(q.v[p.i]) * Double(p.v[q.i])
            }
        } }
    }

    /// Largest |empirical − closed form| / standard error over every mean and covariance entry.
    func worstZ(_ samples: [[Double]], _ sigma: [[Double]]) -> Double {
        let n = Double(samples.count), dim = sigma.count
        var mean = [Double](repeating: 0, count: dim)
        for s in samples { for i in 0..<dim { mean[i] += s[i] / n } }
        var worst = 0.0
        for i in 0..<dim { worst = max(worst, abs(mean[i]) / max(sigma[i][i] / n, 1e-30).squareRoot()) }
        for i in 0..<dim {
            for j in i..<dim {
                var cov = 0.0
                for s in samples { cov += s[i] * s[j] }
                cov /= n
                // Var(x_i x_j) = σ_ii σ_jj + σ_ij² for a centred Gaussian pair
                let se = ((sigma[i][i] * sigma[j][j] + sigma[i][j] * sigma[i][j]) / n).squareRoot()
                worst = max(worst, abs(cov - sigma[i][j]) / max(se, 1e-12))
            }
        }
        return worst
    }

    /// Left and right queries interleaved, one left query in the span of two earlier ones (no draw)
    /// and one right query repeated.
    func querySequence(r: Int, c: Int) -> [Query] {
        var g = SplitMix64(seed: 5)
        func vec(_ n: Int) -> [Float] { (0..<n).map { _ in Float(g.uniform() * 2 - 1) } }
        let a1 = vec(r), a2 = vec(r), b1 = vec(c), b2 = vec(c)
        let a3 = zip(a1, a2).map { 0.5 * $0 - 2 * $1 }
        return [.left(a1), .right(b1), .left(a2), .left(a3), .right(b2), .left(vec(r)), .right(b1)]
    }

    func testOneMatrixMatchesClosedFormMoments() throws {
        let r = 6, c = 4, n = 20_000
        let queries = querySequence(r: r, c: c)
        let sigma = closedFormCovariance(r: r, c: c, queries: queries)
        // 34 answers: 629 moments; |z| ≤ 5.5 holds for all of them with probability ≈ 1 − 2e-5
        let z = worstZ(try answers(r: r, c: c, queries: queries, n: n, leftCapacity: 8, rightCapacity: 8), sigma)
        XCTAssertLessThan(z, 5.5, "lazy answers' moments vs the closed form")
        // capacities of one: the rest of E is materialized after the first query of each side
        let zm = worstZ(try answers(r: r, c: c, queries: queries, n: n, leftCapacity: 1, rightCapacity: 1), sigma)
        XCTAssertLessThan(zm, 5.5, "materialized answers' moments vs the closed form")
        // a sampler that forgets what it revealed answers each query independently: rejected
        let zf = worstZ(try answers(r: r, c: c, queries: queries, n: n, leftCapacity: 8, rightCapacity: 8, forgets: true), sigma)
        XCTAssertGreaterThan(zf, 20, "the forgetting sampler must fail the moment test")
    }

    func testSameQueriesSameAnswersAndRepeatsAreConsistent() throws {
        let r = 9, c = 5
        let q = querySequence(r: r, c: c)
        let a = try answers(r: r, c: c, queries: q, n: 3, leftCapacity: 8, rightCapacity: 8)
        let b = try answers(r: r, c: c, queries: q, n: 3, leftCapacity: 8, rightCapacity: 8)
        XCTAssertEqual(a, b, "replaying the queries from the same address")
        // the last query repeats the second (right b1): same answer
        for s in 0..<3 {
            let first = Array(a[s][c..<(c + r)]), last = Array(a[s][(a[s].count - r)...])
            for i in 0..<r { XCTAssertEqual(first[i], last[i], accuracy: 1e-5 * (1 + abs(first[i]))) }
        }
        // a3 = 0.5 a1 − 2 a2 gets 0.5 (a1E) − 2 (a2E)
        for s in 0..<3 {
            let a1 = a[s][0..<c], a2 = a[s][(c + r)..<(2 * c + r)], a3 = a[s][(2 * c + r)..<(3 * c + r)]
            for j in 0..<c {
                XCTAssertEqual(a3[a3.startIndex + j], 0.5 * a1[a1.startIndex + j] - 2 * a2[a2.startIndex + j], accuracy: 1e-4)
            }
        }
    }

    // MARK: whole realizations, adaptive queries, both samplers

    /// What one evaluation reads from one realization: f(x), f(x_adv), the JVP along δ and the VJP
    /// of every class at x, concatenated (27 values for 6 inputs and 3 classes).
    func readings(_ model: MatrixGaussianMLP, sampler: WeightSampler, n: Int, forgets: Bool = false) throws -> [[Double]] {
        model.sampler = sampler
        let d = model.inputSize, k = model.classCount
        let arena = Arena(capacity: model.workspacePlan(rows: 2, cotangents: k).bytes + 4096)
        let ws = try model.makeWorkspace(arena: arena, rows: 2, cotangents: k)
        if forgets, let lazy = ws as? LazyMatrixGaussianMLPWorkspace { for e in lazy.noiseMatrices { e?.forgetsForTesting = true } }
        let x: [Float] = (0..<d).map { Float($0 % 3) * 0.4 - 0.3 }
        let delta: [Float] = (0..<d).map { Float(($0 * 5) % 7) / 7 - 0.45 }
        let xadv = zip(x, delta).map { $0 + $1 }
        var identity = [Float](repeating: 0, count: k * k)
        for c in 0..<k { identity[c * k + c] = 1 }
        var grads = [Float](repeating: 0, count: k * d)
        var out: [[Double]] = []
        for s in 0..<n {
            // sampler-independent addresses: the two samplers use different counters anyway
            ws.sample(RandomAddress(seed: 23, role: .inference, image: 1, sample: UInt32(s)))
            ws.input(row: 0).update(from: x, count: d)
            ws.input(row: 1).update(from: xadv, count: d)
            let p = ws.forward(rows: 2)
            var row = (0..<(2 * k)).map { Double(p[$0 / k, $0 % k]) }
            let t = ws.jvp(tangent: delta)
            row += (0..<k).map { Double(t[$0]) }
            identity.withUnsafeMutableBufferPointer { ip in grads.withUnsafeMutableBufferPointer { gp in
                ws.vjp(cotangents: Matrix(ip.baseAddress!, rows: k, cols: k), into: Matrix(gp.baseAddress!, rows: k, cols: d)) } }
            row += grads.map(Double.init)
            out.append(row)
        }
        model.sampler = .explicit
        return out
    }

    /// Asymptotic two-sample Kolmogorov–Smirnov p-value.
    static func ksPValue(_ a: [Double], _ b: [Double]) -> Double {
        let x = a.sorted(), y = b.sorted()
        var i = 0, j = 0, d = 0.0
        while i < x.count && j < y.count {
            let v = min(x[i], y[j])
            while i < x.count && x[i] <= v { i += 1 }
            while j < y.count && y[j] <= v { j += 1 }
            d = max(d, abs(Double(i) / Double(x.count) - Double(j) / Double(y.count)))
        }
        let ne = Double(x.count * y.count) / Double(x.count + y.count)
        let lambda = (ne.squareRoot() + 0.12 + 0.11 / ne.squareRoot()) * d
        if lambda < 0.3 { return 1 }         // the series below is only for λ away from 0 (Q(0.3) > 0.9999)
        var p = 0.0
        for k in 1...100 { p += 2 * (k % 2 == 1 ? 1 : -1) * Foundation.exp(-2 * Double(k * k) * lambda * lambda) }
        return min(max(p, 0), 1)
    }

    /// Smallest KS p-value over every coordinate and `projections` random unit directions, times the
    /// number of tests (Bonferroni).
    static func adjustedMinP(_ a: [[Double]], _ b: [[Double]], projections: Int) -> Double {
        let dim = a[0].count
        var g = SplitMix64(seed: 77)
        var dirs: [[Double]] = (0..<dim).map { i in (0..<dim).map { $0 == i ? 1 : 0 } }
        for _ in 0..<projections {
            var v = (0..<dim).map { _ in g.uniform() * 2 - 1 }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            v = v.map { $0 / norm }
            dirs.append(v)
        }
        var minP = 1.0
        for v in dirs {
            let pa = a.map { s in zip(s, v).reduce(0) { $0 + $1.0 * $1.1 } }
            let pb = b.map { s in zip(s, v).reduce(0) { $0 + $1.0 * $1.1 } }
            minP = min(minP, ksPValue(pa, pb))
        }
        return min(1, minP * Double(dirs.count))
    }

    /// N = 3000 realizations per sampler, 27 coordinates + 40 projections, Bonferroni at α = 0.001.
    /// Power (normal approximation of the KS statistic, n_e = 1500): the critical distance is 0.062,
    /// so a mean shift of 0.25 SD or a 30 % change of SD in any tested direction is rejected with
    /// probability > 0.95; the forgetting sampler (inconsistent VJP and forward) is rejected below.
    func testRealizationsHaveTheSameLawUnderBothSamplers() throws {
        for (stochastic, scaling) in [([true, true, true], MatrixGaussianMLP.InputScaling.sqrtRows), ([true, true, false], .none)] {
            let model = MatrixGaussianMLP(sizes: [6, 5, 4, 3], inputScaling: scaling, stochasticLayers: stochastic)
            model.initialise(seed: 3, mScale: 1.4, logStd: -0.5)
            let n = 3000
            let explicit = try readings(model, sampler: .explicit, n: n)
            let lazy = try readings(model, sampler: .lazy, n: n)
            let p = Self.adjustedMinP(explicit, lazy, projections: 40)
            XCTAssertGreaterThan(p, 0.001, "explicit vs lazy (\(scaling), stochastic \(stochastic)): Bonferroni p")
            let broken = try readings(model, sampler: .lazy, n: n, forgets: true)
            XCTAssertLessThan(Self.adjustedMinP(explicit, broken, projections: 40), 0.001, "the forgetting sampler must be rejected")
        }
    }
}

