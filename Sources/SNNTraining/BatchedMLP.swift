import Foundation
import SNNModels
import SNNRuntime

/// One realization of the matrix-Gaussian MLP applied to a batch of B images, keeping every
/// layer's x̃ and pre-activation for the backward pass. Used by training and by the batched
/// (shared-sample) evaluation of model cards.
final class BatchedMLP {
    let model: MatrixGaussianMLP
    let arena: Arena  // owns every buffer below
    let batch: Int
    let weights: [UnsafeMutablePointer<Float>]   // per layer, r×c
    let inputs: [UnsafeMutablePointer<Float>]    // per layer, B×r   (x̃)
    let pre: [UnsafeMutablePointer<Float>]       // per layer, B×c   (h)
    let logp: UnsafeMutablePointer<Float>        // B×k log-softmax
    let scratch: UnsafeMutablePointer<Float>

    init(model: MatrixGaussianMLP, batch: Int, arena: Arena, sharedInput: UnsafeMutablePointer<Float>?) throws {
        self.model = model; self.arena = arena; self.batch = batch
        var w: [UnsafeMutablePointer<Float>] = [], x: [UnsafeMutablePointer<Float>] = [], h: [UnsafeMutablePointer<Float>] = []
        for (i, l) in model.layers.enumerated() {
            w.append(try arena.floats(l.weightCount, for: "W\(i)"))
            x.append(i == 0 && sharedInput != nil ? sharedInput! : try arena.floats(batch * l.rows, for: "x\(i)"))
            h.append(try arena.floats(batch * l.outputs, for: "h\(i)"))
        }
        weights = w; inputs = x; pre = h
        logp = try arena.floats(batch * model.classCount, for: "logp")
        scratch = try arena.floats(GEMM.scratchFloats, for: "gemm scratch")
    }

    /// x̃₀ = [x, 1]/√r for `rows` images of `pixels` floats (u8 / 255) into `dst` (B×r₀).
    static func prepareInput(model: MatrixGaussianMLP, images: UnsafePointer<UInt8>, indices: UnsafeBufferPointer<Int>,
                             dst: UnsafeMutablePointer<Float>, noise: ((Int, UnsafeMutablePointer<Float>) -> Void)? = nil) {
        let l = model.layers[0]
        let s = l.inputScale
        for (row, index) in indices.enumerated() {
            let src = images + index * l.inputs, out = dst + row * l.rows
            for j in 0..<l.inputs { out[j] = Float(src[j]) * (1 / 255) }
            noise?(row, out)
            for j in 0..<l.inputs { out[j] *= s }
            out[l.inputs] = s
        }
    }

    func sample(_ address: RandomAddress) {
        for i in model.layers.indices { model.sampleWeights(layer: i, address: address, into: weights[i]) }
    }

    /// Forward for the first `rows` rows of inputs[0]; fills pre-activations and log-softmax.
    func forward(rows: Int) {
        let layers = model.layers
        for (i, l) in layers.enumerated() {
            if i > 0 {
                let s = l.inputScale
                for r in 0..<rows {
                    let src = pre[i - 1] + r * l.inputs, dst = inputs[i] + r * l.rows
                    ScaledReLU.forward(src, into: dst, count: l.inputs, scale: s)
                    dst[l.inputs] = s
                }
            }
            GEMM.sgemm(transA: false, transB: false, m: rows, n: l.outputs, k: l.rows, a: inputs[i], lda: l.rows,
                       b: weights[i], ldb: l.outputs, beta: 0, c: pre[i], ldc: l.outputs, scratch: scratch)
        }
        let k = model.classCount
        let z = pre[layers.count - 1]
        for r in 0..<rows {
            let zr = z + r * k, out = logp + r * k
            var m = zr[0]
            for c in 1..<k { m = max(m, zr[c]) }
            var sum: Float = 0
            for c in 0..<k { sum += Foundation.exp(zr[c] - m) }
            let lse = m + Foundation.log(sum)
            for c in 0..<k { out[c] = zr[c] - lse }
        }
    }

    /// Backward from ∂loss/∂z (B×k, overwritten as scratch) into the parameter gradient `grad`
    /// (a model-shaped block): ∂W via the reparameterisation W = M + S ⊙ E, so
    /// ∂M += ∂W, ∂a_i += Σ_j ∂W_ij (W−M)_ij, ∂b_j += Σ_i ∂W_ij (W−M)_ij.
    func backward(gz: UnsafeMutablePointer<Float>, rows: Int, grad: MatrixGaussianMLP,
                  gW: UnsafeMutablePointer<Float>, gH: UnsafeMutablePointer<Float>, gX: UnsafeMutablePointer<Float>) {
        let layers = model.layers
        let gCur = gz
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let l = layers[i], g = grad.layers[i]
            GEMM.sgemm(transA: true, transB: false, m: l.rows, n: l.outputs, k: rows, a: inputs[i], lda: l.rows,
                       b: gCur, ldb: l.outputs, beta: 0, c: gW, ldc: l.outputs, scratch: scratch)
            let w = weights[i]
            for r in 0..<l.rows {
                var rowSum: Float = 0
                for c in 0..<l.outputs {
                    let e = r * l.outputs + c
                    let t = gW[e] * (w[e] - l.M[e])
                    g.M[e] += gW[e]
                    rowSum += t
                    g.logSqrtV[c] += t
                }
                g.logSqrtU[r] += rowSum
            }
            if i > 0 {
                GEMM.sgemm(transA: false, transB: true, m: rows, n: l.rows, k: l.outputs, a: gCur, lda: l.outputs,
                           b: w, ldb: l.outputs, beta: 0, c: gX, ldc: l.rows, scratch: scratch)
                let s = l.inputScale, h = pre[i - 1]
                for r in 0..<rows {
                    for j in 0..<l.inputs {
                        gH[r * l.inputs + j] = h[r * l.inputs + j] > 0 ? gX[r * l.rows + j] * s : 0
                    }
                }
                // gH becomes the current cotangent; swap roles with gz's buffer for the next layer
                let next = gH
                gCur.update(from: next, count: rows * l.inputs)
            }
        }
    }
}
