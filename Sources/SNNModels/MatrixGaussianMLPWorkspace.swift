import SNNRuntime

extension MatrixGaussianMLP {
    public func workspacePlan(rows: Int, cotangents: Int) -> MemoryPlan {
        switch sampler {
        case .explicit: explicitWorkspacePlan(rows: rows, cotangents: cotangents)
        case .lazy: lazyWorkspacePlan(rows: rows, cotangents: cotangents)
        }
    }

    func explicitWorkspacePlan(rows: Int, cotangents: Int) -> MemoryPlan {
        var plan = MemoryPlan()
        for (i, l) in layers.enumerated() {
            plan.add("W\(i)", floats: l.weightCount)
            plan.add("in\(i)", floats: rows * l.rows)            // x̃ rows of this layer
            plan.add("pre\(i)", floats: rows * l.outputs)        // pre-activations
            plan.add("tin\(i)", floats: l.rows)                  // tangent input
            plan.add("tpre\(i)", floats: l.outputs)
            plan.add("gin\(i)", floats: cotangents * l.rows)     // cotangent w.r.t. x̃
            plan.add("gpre\(i)", floats: cotangents * l.outputs)
        }
        plan.add("probs", floats: rows * classCount)
        plan.add("tprobs", floats: classCount)
        return plan
    }
}

/// Forward, JVP and VJP of one realization of the matrix-Gaussian MLP for a few input rows.
public final class MatrixGaussianMLPWorkspace: ClassifierWorkspace {
    let model: MatrixGaussianMLP
    let arena: Arena  // owns every buffer below
    let maxRows: Int, maxCotangents: Int
    var w: [UnsafeMutablePointer<Float>] = [], xin: [UnsafeMutablePointer<Float>] = [], pre: [UnsafeMutablePointer<Float>] = []
    var tin: [UnsafeMutablePointer<Float>] = [], tpre: [UnsafeMutablePointer<Float>] = []
    var gin: [UnsafeMutablePointer<Float>] = [], gpre: [UnsafeMutablePointer<Float>] = []
    let probs: UnsafeMutablePointer<Float>, tprobs: UnsafeMutablePointer<Float>
    let inputRows: [UnsafeMutablePointer<Float>]
    var rowsDone = 0

    public init(model: MatrixGaussianMLP, arena: Arena, rows: Int, cotangents: Int) throws {
        self.model = model; self.arena = arena; maxRows = rows; maxCotangents = cotangents
        let b = try model.explicitWorkspacePlan(rows: rows, cotangents: cotangents).allocate(in: arena)
        for i in model.layers.indices {
            w.append(b["W\(i)"]!); xin.append(b["in\(i)"]!); pre.append(b["pre\(i)"]!)
            tin.append(b["tin\(i)"]!); tpre.append(b["tpre\(i)"]!); gin.append(b["gin\(i)"]!); gpre.append(b["gpre\(i)"]!)
        }
        probs = b["probs"]!; tprobs = b["tprobs"]!
        // The raw input rows are staged in the first n columns of layer 0's x̃ and scaled in place.
        let l0 = model.layers[0]
        inputRows = (0..<rows).map { b["in0"]! + $0 * l0.rows }
    }

    public func sample(_ address: RandomAddress) {
        for i in model.layers.indices { model.sampleWeights(layer: i, address: address, into: w[i]) }
    }

    public func input(row: Int) -> UnsafeMutablePointer<Float> { inputRows[row] }

    public func forward(rows: Int) -> Matrix {
        precondition(rows <= maxRows)
        let layers = model.layers
        for (i, l) in layers.enumerated() {
            let s = l.inputScale
            let x = Matrix(xin[i], rows: rows, cols: l.rows)
            // x̃ = [x, 1]/√r; layer i > 0 takes ReLU of the previous pre-activations.
            for r in 0..<rows {
                let dst = x.row(r)
                if i == 0 {
                    for j in 0..<l.inputs { dst[j] *= s }
                } else {
                    let src = pre[i - 1] + r * l.inputs
                    ScaledReLU.forward(src, into: dst, count: l.inputs, scale: s)
                }
                dst[l.inputs] = s
            }
            GEMM.fewRows(m: rows, n: l.outputs, k: l.rows, alpha: 1, a: xin[i], lda: l.rows, b: w[i], ldb: l.outputs,
                        c: zeroed(pre[i], rows * l.outputs), ldc: l.outputs)
        }
        let last = layers.count - 1
        let p = Matrix(probs, rows: rows, cols: model.classCount)
        Softmax.forward(Matrix(pre[last], rows: rows, cols: model.classCount), p)
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
            } else {
                // ReLU JVP: the primal row 0 decides the mask (piecewise linear).
                let t = tpre[i - 1], x = pre[i - 1]
                ScaledReLU.derivative(at: x, t, into: dst, count: l.inputs, scale: s)
            }
            dst[l.inputs] = 0  // the bias input has no tangent
            GEMM.fewRows(m: 1, n: l.outputs, k: l.rows, alpha: 1, a: dst, lda: l.rows, b: w[i], ldb: l.outputs,
                        c: zeroed(tpre[i], l.outputs), ldc: l.outputs)
        }
        let k = model.classCount
        Softmax.jvp(p: probs, tz: Matrix(tpre[layers.count - 1], rows: 1, cols: k), tp: Matrix(tprobs, rows: 1, cols: k))
        return UnsafePointer(tprobs)
    }

    public func vjp(cotangents: Matrix, into gradients: Matrix) {
        precondition(rowsDone > 0, "forward first")
        let q = cotangents.rows
        precondition(q <= maxCotangents && gradients.rows == q && gradients.cols == model.inputSize)
        let layers = model.layers
        let last = layers.count - 1
        let k = model.classCount
        Softmax.vjp(p: probs, gp: cotangents, gz: Matrix(gpre[last], rows: q, cols: k))
        for i in stride(from: last, through: 0, by: -1) {
            let l = layers[i]
            // g x̃ = g h · Wᵀ  (q × r)
            GEMM.fewRowsTransB(m: q, n: l.rows, k: l.outputs, alpha: 1, a: gpre[i], lda: l.outputs, b: w[i], ldb: l.outputs,
                              c: zeroed(gin[i], q * l.rows), ldc: l.rows)
            let s = l.inputScale
            if i > 0 {
                // through x̃ = [relu(h_prev), 1]/√r: drop the bias column, scale, mask with row 0.
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

    @inline(__always) func zeroed(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> UnsafeMutablePointer<Float> {
        p.update(repeating: 0, count: n); return p
    }
}
