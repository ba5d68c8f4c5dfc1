import Foundation
import SNNModels
import SNNRuntime

/// An independent, naive Double implementation of one realization of the matrix-Gaussian MLP:
/// weights assembled element by element from the parameters and the normal stream, plain loops
/// for the forward pass and a hand-written backward pass for the input Jacobian.
struct ReferenceMLP {
    var weights: [[Double]] = []   // per layer, r×c row-major
    let sizes: [Int]
    let inputScales: [Double]      // s of x̃ = [x, 1]·s per layer (the model's configuration)

    init(model: MatrixGaussianMLP, address: RandomAddress) {
        sizes = model.sizes
        inputScales = model.layers.map { l in
            model.inputScaling == .sqrtRows ? 1 / Double(l.rows).squareRoot() : 1 }
        for (i, l) in model.layers.enumerated() {
            var z = [Float](repeating: 0, count: l.weightCount)
            z.withUnsafeMutableBufferPointer { NormalStream.fill($0.baseAddress!, count: l.weightCount, address: address, tensor: i) }
            var w = [Double](repeating: 0, count: l.weightCount)
            for r in 0..<l.rows {
                for c in 0..<l.outputs {
                    let e = r * l.outputs + c
                    let sd = l.stochastic ? exp(Double(l.logSqrtU[r])) * exp(Double(l.logSqrtV[c])) : 0
                    w[e] = Double(l.M[e]) + sd * Double(z[e])
                }
            }
            weights.append(w)
        }
    }

    /// Probabilities, and the pre-activations of each layer.
    func forward(_ x: [Double]) -> (probs: [Double], pre: [[Double]]) {
        var a = x
        var pres: [[Double]] = []
        for (i, w) in weights.enumerated() {
            let n = sizes[i], c = sizes[i + 1], s = inputScales[i]
            var h = [Double](repeating: 0, count: c)
            for j in 0..<c {
                var acc = w[n * c + j]  // bias row (input 1)
                for p in 0..<n { acc += a[p] * w[p * c + j] }
                h[j] = acc * s
            }
            pres.append(h)
            a = i == weights.count - 1 ? h : h.map { max($0, 0) }
        }
        let m = a.max()!
        let e = a.map { exp($0 - m) }
        let total = e.reduce(0, +)
        return (e.map { $0 / total }, pres)
    }

    /// ∂f_c/∂x for every class c (k × d), by backpropagating each unit cotangent.
    func jacobian(_ x: [Double]) -> [[Double]] {
        let (p, pres) = forward(x)
        let k = p.count
        return (0..<k).map { c in
            // softmax: ∂p_c/∂z_j = p_c (δ_cj − p_j)
            backprop((0..<k).map { j in p[c] * ((j == c ? 1 : 0) - p[j]) }, pres)
        }
    }

    /// ∂z_c/∂x for every class c (k × d): the logits' Jacobian.
    func logitJacobian(_ x: [Double]) -> [[Double]] {
        let (p, pres) = forward(x)
        return (0..<p.count).map { c in backprop((0..<p.count).map { $0 == c ? 1 : 0 }, pres) }
    }

    /// Logits z (the last pre-activation).
    func logits(_ x: [Double]) -> [Double] { forward(x).pre.last! }

    /// Input gradient of ⟨g, z⟩ for a cotangent g on the logits.
    func backprop(_ gz: [Double], _ pres: [[Double]]) -> [Double] {
        var g = gz
        for i in stride(from: weights.count - 1, through: 0, by: -1) {
            let n = sizes[i], cOut = sizes[i + 1], s = inputScales[i]
            var gin = [Double](repeating: 0, count: n)
            for q in 0..<n {
                var acc = 0.0
                for j in 0..<cOut { acc += weights[i][q * cOut + j] * g[j] }
                gin[q] = acc * s
            }
            if i > 0 { for q in 0..<n where pres[i - 1][q] <= 0 { gin[q] = 0 } }
            g = gin
        }
        return g
    }
}
