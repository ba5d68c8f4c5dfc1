import Foundation
import SNNRuntime

/// How a matrix-Gaussian MLP's realizations are drawn (docs/METHOD.md §Lazy sampler).
public enum WeightSampler: String, Sendable, CaseIterable {
    /// Draw W = M + diag(√u) E diag(√v) whole (r·c normals per layer), then multiply.
    case explicit
    /// Reveal E only through the products an evaluation asks for, each drawn from its exact
    /// conditional law (`LazyGaussianMatrix`): r or c normals per product instead of r·c.
    case lazy
}

extension MatrixGaussianMLP {
    /// Left products revealed without materializing: the rows of a forward pass, each of them
    /// again and a JVP or two. Right products: one per cotangent row of one VJP, and two spare.
    static func lazyCapacities(rows: Int, cotangents: Int) -> (left: Int, right: Int) { (2 * rows + 2, cotangents + 2) }

    func lazyWorkspacePlan(rows: Int, cotangents: Int) -> MemoryPlan {
        var plan = MemoryPlan()
        let cap = Self.lazyCapacities(rows: rows, cotangents: cotangents)
        var widest = 1
        for (i, l) in layers.enumerated() {
            plan.add("in\(i)", floats: rows * l.rows)
            plan.add("pre\(i)", floats: rows * l.outputs)
            plan.add("tin\(i)", floats: l.rows)
            plan.add("tpre\(i)", floats: l.outputs)
            plan.add("gin\(i)", floats: cotangents * l.rows)
            plan.add("gpre\(i)", floats: cotangents * l.outputs)
            plan.add("su\(i)", floats: l.rows)
            plan.add("sv\(i)", floats: l.outputs)
            if l.stochastic {
                plan.add(LazyGaussianMatrix.plan(rows: l.rows, cols: l.outputs, leftCapacity: cap.left, rightCapacity: cap.right,
                                                 prefix: "E\(i)"))
            }
            widest = max(widest, l.rows, l.outputs)
        }
        plan.add("query", floats: widest)
        plan.add("answer", floats: widest)
        plan.add("staged", floats: rows * inputSize)
        plan.add("cache_in", floats: rows * inputSize)
        plan.add("cache_mean", floats: rows * layers[0].outputs)
        plan.add("cache_tangent", floats: inputSize)
        plan.add("cache_tangent_mean", floats: layers[0].outputs)
        plan.add("probs", floats: rows * classCount)
        plan.add("tprobs", floats: classCount)
        plan.add("pending", floats: cotangents * layers[0].outputs)
        return plan
    }
}

/// Forward, JVP and VJP of one realization of the matrix-Gaussian MLP with the lazy sampler:
///   x̃W = x̃M + ((x̃ ∘ √u) E) ∘ √v,   g x̃ = g Mᵀ + √u ∘ (E (g ∘ √v)),
/// E revealed product by product (`LazyGaussianMatrix`). Layer 0's mean products x̃M (and t̃M of
/// the JVP tangent) are the same for every realization of an image: they are kept per input row
/// and recomputed only when the row's pixels change.
public final class LazyMatrixGaussianMLPWorkspace: DeferringVJPWorkspace {
    let model: MatrixGaussianMLP
    let arena: Arena
    let maxRows: Int, maxCotangents: Int
    var xin: [UnsafeMutablePointer<Float>] = [], pre: [UnsafeMutablePointer<Float>] = []
    var tin: [UnsafeMutablePointer<Float>] = [], tpre: [UnsafeMutablePointer<Float>] = []
    var gin: [UnsafeMutablePointer<Float>] = [], gpre: [UnsafeMutablePointer<Float>] = []
    var su: [UnsafeMutablePointer<Float>] = [], sv: [UnsafeMutablePointer<Float>] = []
    let noise: [LazyGaussianMatrix?]
    /// Tests only: the noise matrices of the stochastic layers (nil for deterministic ones).
    @_spi(Testing) public var noiseMatrices: [LazyGaussianMatrix?] { noise }
    let query: UnsafeMutablePointer<Float>, answer: UnsafeMutablePointer<Float>
    let staged: UnsafeMutablePointer<Float>
    let cacheIn: UnsafeMutablePointer<Float>, cacheMean: UnsafeMutablePointer<Float>
    let cacheTangent: UnsafeMutablePointer<Float>, cacheTangentMean: UnsafeMutablePointer<Float>
    var cacheValid: [Bool]
    var tangentCacheValid = false
    let probs: UnsafeMutablePointer<Float>, tprobs: UnsafeMutablePointer<Float>
    /// Σ of layer-0 pre-activation cotangents whose mean product is deferred (cotangents × c₀).
    let pending: UnsafeMutablePointer<Float>
    var rowsDone = 0

    public init(model: MatrixGaussianMLP, arena: Arena, rows: Int, cotangents: Int) throws {
        precondition(model.layers.count <= 256, "the lazy sampler numbers at most 256 layers")
        self.model = model; self.arena = arena; maxRows = rows; maxCotangents = cotangents
        let b = try model.lazyWorkspacePlan(rows: rows, cotangents: cotangents).allocate(in: arena)
        let cap = MatrixGaussianMLP.lazyCapacities(rows: rows, cotangents: cotangents)
        var noise: [LazyGaussianMatrix?] = []
        for (i, l) in model.layers.enumerated() {
            xin.append(b["in\(i)"]!); pre.append(b["pre\(i)"]!); tin.append(b["tin\(i)"]!); tpre.append(b["tpre\(i)"]!)
            gin.append(b["gin\(i)"]!); gpre.append(b["gpre\(i)"]!); su.append(b["su\(i)"]!); sv.append(b["sv\(i)"]!)
            for r in 0..<l.rows { su[i][r] = Foundation.exp(l.logSqrtU[r]) }
            for c in 0..<l.outputs { sv[i][c] = Foundation.exp(l.logSqrtV[c]) }
            noise.append(l.stochastic
                ? LazyGaussianMatrix(rows: l.rows, cols: l.outputs, leftCapacity: cap.left, rightCapacity: cap.right,
                                     tensor: RandomReservations.lazyProducts(layer: i),
                                     restTensor: RandomReservations.lazyRest(layer: i), prefix: "E\(i)", buffers: b)
                : nil)
        }
        self.noise = noise
        query = b["query"]!; answer = b["answer"]!; staged = b["staged"]!
        cacheIn = b["cache_in"]!; cacheMean = b["cache_mean"]!
        cacheTangent = b["cache_tangent"]!; cacheTangentMean = b["cache_tangent_mean"]!
        cacheValid = Array(repeating: false, count: rows)
        probs = b["probs"]!; tprobs = b["tprobs"]!
        pending = b["pending"]!
        pending.update(repeating: 0, count: cotangents * model.layers[0].outputs)
    }

    public func sample(_ address: RandomAddress) {
        for n in noise { n?.reset(address) }
        rowsDone = 0
    }

    public func input(row: Int) -> UnsafeMutablePointer<Float> { staged + row * model.inputSize }

    /// out = x M (+ the lazy noise term) for one scaled input row x of layer i (c floats).
    @inline(__always) func layerLeft(_ i: Int, _ x: UnsafePointer<Float>, mean: Bool, into out: UnsafeMutablePointer<Float>) {
        let l = model.layers[i]
        if mean {
            out.update(repeating: 0, count: l.outputs)
            GEMM.fewRows(m: 1, n: l.outputs, k: l.rows, alpha: 1, a: x, lda: l.rows, b: l.M, ldb: l.outputs, c: out, ldc: l.outputs)
        }
        guard let e = noise[i] else { return }
        let u = su[i], v = sv[i]
        for r in 0..<l.rows { query[r] = x[r] * u[r] }
        e.left(query, into: answer)
        for c in 0..<l.outputs { out[c] += answer[c] * v[c] }
    }

    /// Layer 0's mean product for a scaled input row, from the cache when the pixels are unchanged.
    @inline(__always) func layer0Mean(raw: UnsafePointer<Float>, scaled: UnsafePointer<Float>, cachedIn: UnsafeMutablePointer<Float>,
                                      cachedMean: UnsafeMutablePointer<Float>, valid: inout Bool, into out: UnsafeMutablePointer<Float>) {
        let l = model.layers[0], d = model.inputSize
        if !(valid && memcmp(cachedIn, raw, d * MemoryLayout<Float>.size) == 0) {
            cachedMean.update(repeating: 0, count: l.outputs)
            GEMM.fewRows(m: 1, n: l.outputs, k: l.rows, alpha: 1, a: scaled, lda: l.rows, b: l.M, ldb: l.outputs, c: cachedMean, ldc: l.outputs)
            cachedIn.update(from: raw, count: d)
            valid = true
        }
        out.update(from: cachedMean, count: l.outputs)
    }

    public func forward(rows: Int) -> Matrix {
        precondition(rows <= maxRows)
        let layers = model.layers
        for (i, l) in layers.enumerated() {
            let s = l.inputScale
            for r in 0..<rows {
                let dst = xin[i] + r * l.rows, out = pre[i] + r * l.outputs
                if i == 0 {
                    let raw = staged + r * l.inputs
                    for j in 0..<l.inputs { dst[j] = raw[j] * s }
                    dst[l.inputs] = s
                    layer0Mean(raw: raw, scaled: dst, cachedIn: cacheIn + r * l.inputs, cachedMean: cacheMean + r * l.outputs,
                               valid: &cacheValid[r], into: out)
                    layerLeft(0, dst, mean: false, into: out)
                } else {
                    let src = pre[i - 1] + r * l.inputs
                    ScaledReLU.forward(src, into: dst, count: l.inputs, scale: s)
                    dst[l.inputs] = s
                    layerLeft(i, dst, mean: true, into: out)
                }
            }
        }
        let p = Matrix(probs, rows: rows, cols: model.classCount)
        Softmax.forward(Matrix(pre[layers.count - 1], rows: rows, cols: model.classCount), p)
        rowsDone = rows
        return p
    }

    public func jvp(tangent: UnsafePointer<Float>) -> UnsafePointer<Float> {
        precondition(rowsDone > 0, "forward first")
        let layers = model.layers
        for (i, l) in layers.enumerated() {
            let s = l.inputScale, dst = tin[i]
            if i == 0 {
                for j in 0..<l.inputs { dst[j] = tangent[j] * s }
                dst[l.inputs] = 0  // the bias input has no tangent
                layer0Mean(raw: tangent, scaled: dst, cachedIn: cacheTangent, cachedMean: cacheTangentMean, valid: &tangentCacheValid, into: tpre[0])
                layerLeft(0, dst, mean: false, into: tpre[0])
            } else {
                // ReLU JVP: the primal row 0 decides the mask (piecewise linear).
                let t = tpre[i - 1], x = pre[i - 1]
                ScaledReLU.derivative(at: x, t, into: dst, count: l.inputs, scale: s)
                dst[l.inputs] = 0
                layerLeft(i, dst, mean: true, into: tpre[i])
            }
        }
        let k = model.classCount
        Softmax.jvp(p: probs, tz: Matrix(tpre[layers.count - 1], rows: 1, cols: k), tp: Matrix(tprobs, rows: 1, cols: k))
        return UnsafePointer(tprobs)
    }

    public func vjp(cotangents: Matrix, into gradients: Matrix) { vjp(cotangents: cotangents, into: gradients, deferMean: false) }

    public func vjpDeferringMean(cotangents: Matrix, into gradients: Matrix) { vjp(cotangents: cotangents, into: gradients, deferMean: true) }

    public func addDeferredMean(into sums: Matrix) {
        let l = model.layers[0], q = sums.rows
        precondition(q <= maxCotangents && sums.cols == model.inputSize)
        gin[0].update(repeating: 0, count: q * l.rows)
        GEMM.fewRowsTransB(m: q, n: l.rows, k: l.outputs, alpha: 1, a: pending, lda: l.outputs, b: l.M, ldb: l.outputs,
                          c: gin[0], ldc: l.rows)
        for r in 0..<q { Vec.axpy(l.inputScale, gin[0] + r * l.rows, sums.row(r), l.inputs) }
    }

    public func clearDeferredMean() { pending.update(repeating: 0, count: maxCotangents * model.layers[0].outputs) }

    func vjp(cotangents: Matrix, into gradients: Matrix, deferMean: Bool) {
        precondition(rowsDone > 0, "forward first")
        let q = cotangents.rows
        precondition(q <= maxCotangents && gradients.rows == q && gradients.cols == model.inputSize)
        let layers = model.layers
        let last = layers.count - 1
        Softmax.vjp(p: probs, gp: cotangents, gz: Matrix(gpre[last], rows: q, cols: model.classCount))
        for i in stride(from: last, through: 0, by: -1) {
            let l = layers[i]
            // g x̃ = g Mᵀ + √u ∘ (E (g ∘ √v))  (q × r)
            gin[i].update(repeating: 0, count: q * l.rows)
            if i == 0 && deferMean {
                Vec.axpy(1, gpre[0], pending, q * l.outputs)
            } else {
                GEMM.fewRowsTransB(m: q, n: l.rows, k: l.outputs, alpha: 1, a: gpre[i], lda: l.outputs, b: l.M, ldb: l.outputs,
                                  c: gin[i], ldc: l.rows)
            }
            if let e = noise[i] {
                let u = su[i], v = sv[i]
                for r in 0..<q {
                    let g = gpre[i] + r * l.outputs, out = gin[i] + r * l.rows
                    for c in 0..<l.outputs { query[c] = g[c] * v[c] }
                    e.right(query, into: answer)
                    for j in 0..<l.rows { out[j] += answer[j] * u[j] }
                }
            }
            let s = l.inputScale
            if i > 0 {
                let x = pre[i - 1]
                for r in 0..<q {
                    let src = gin[i] + r * l.rows, dst = gpre[i - 1] + r * l.inputs
                    ScaledReLU.derivative(at: x, src, into: dst, count: l.inputs, scale: s)
                }
            } else {
                for r in 0..<q {
                    let src = gin[0] + r * l.rows, dst = gradients.row(r)
                    for j in 0..<l.inputs { dst[j] = src[j] * s }
                }
            }
        }
    }
}
