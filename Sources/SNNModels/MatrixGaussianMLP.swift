import Foundation
import SNNRuntime

/// The matrix-Gaussian MLP (VMG / IM; docs/METHOD.md §Matrix-Gaussian MLP): every weight layer is
///   h = x̃ W,  x̃ = [x, 1] · s,  r = n + 1,  W = M + diag(√u) E diag(√v),  E_ij ~ N(0, 1),
/// with parameters M (r×c), a = log √u (r), b = log √v (c). ReLU after hidden layers, softmax last.
/// The input scale s is 1/√r (the VMG reference code) or 1 (the paper's literal prior), and a layer
/// may be deterministic (W = M): both are choices the paper leaves open, recorded in the card.
public final class MatrixGaussianMLP {
    /// How the layer input x̃ = [x, 1] is scaled before the product with W.
    public enum InputScaling: String, Sendable, CaseIterable {
        /// s = 1/√r: in effect an N(0, 1/r) prior per weight of the unscaled input.
        case sqrtRows = "1/sqrt(r)"
        /// s = 1: x̃ = [x, 1] with the MN(0, I, I) prior on W as the paper writes it.
        case none = "1"
    }

    public struct Layer {
        public let inputs: Int, outputs: Int
        public var rows: Int { inputs + 1 }
        public let M: UnsafeMutablePointer<Float>          // rows × outputs
        public let logSqrtU: UnsafeMutablePointer<Float>   // rows (unused when not stochastic)
        public let logSqrtV: UnsafeMutablePointer<Float>   // outputs (unused when not stochastic)
        public let scale: UnsafeMutablePointer<Float>      // rows × outputs: √u_i √v_j (derived; 0 when deterministic)
        /// s: the factor of x̃ = [x, 1] · s.
        public let inputScale: Float
        /// false: W = M (a point estimate with the N(0, 1) prior as an L2 penalty, no noise).
        public let stochastic: Bool
        public var weightCount: Int { rows * outputs }
    }

    public let sizes: [Int]
    public let name: String
    public let inputScaling: InputScaling
    /// Per weight layer: sampled (true) or deterministic W = M (false).
    public let stochasticLayers: [Bool]
    public let parameters: ParameterBlock
    let scales: ParameterBlock
    public private(set) var layers: [Layer] = []
    /// How workspaces draw realizations (set before making workspaces; docs/METHOD.md §Lazy sampler).
    public var sampler: WeightSampler = .explicit

    public var inputSize: Int { sizes[0] }
    public var classCount: Int { sizes[sizes.count - 1] }
    /// Parameters per layer: M, then log √u, then log √v.
    public static func parameterCount(sizes: [Int]) -> Int {
        zip(sizes, sizes.dropFirst()).reduce(0) { $0 + ($1.0 + 1) * $1.1 + ($1.0 + 1) + $1.1 }
    }

    public init(sizes: [Int], name: String = "mlp", inputScaling: InputScaling = .sqrtRows, stochasticLayers: [Bool]? = nil) {
        precondition(sizes.count >= 2 && sizes.allSatisfy { $0 > 0 })
        let stochastic = stochasticLayers ?? Array(repeating: true, count: sizes.count - 1)
        precondition(stochastic.count == sizes.count - 1)
        self.sizes = sizes
        self.name = name
        self.inputScaling = inputScaling
        self.stochasticLayers = stochastic
        parameters = ParameterBlock(count: Self.parameterCount(sizes: sizes))
        scales = ParameterBlock(count: zip(sizes, sizes.dropFirst()).reduce(0) { $0 + ($1.0 + 1) * $1.1 })
        var p = parameters.data, s = scales.data
        for (index, (n, c)) in zip(sizes, sizes.dropFirst()).enumerated() {
            let r = n + 1
            let inputScale: Float = inputScaling == .sqrtRows ? 1 / Float(r).squareRoot() : 1
            layers.append(Layer(inputs: n, outputs: c, M: p, logSqrtU: p + r * c, logSqrtV: p + r * c + r, scale: s,
                                inputScale: inputScale, stochastic: stochastic[index]))
            p += r * c + r + c
            s += r * c
        }
    }

    /// Recomputes the derived √u_i √v_j after the parameters changed (load, optimiser step).
    public func refreshScales() {
        for l in layers {
            guard l.stochastic else { l.scale.update(repeating: 0, count: l.weightCount); continue }
            for i in 0..<l.rows {
                let su = Foundation.exp(l.logSqrtU[i])
                for j in 0..<l.outputs { l.scale[i * l.outputs + j] = su * Foundation.exp(l.logSqrtV[j]) }
            }
        }
    }

    /// Initialisation (recorded in model.json): M_ij ~ N(0, mScale² / (r s²)), so that
    /// Var(h) ≈ mScale²·mean(x²) whatever the input scale s (He-style for mScale = √2; with
    /// s = 1/√r this is N(0, mScale²)); every weight's std exp(logStd): log √u = log √v = logStd / 2.
    public func initialise(seed: UInt64, mScale: Float, logStd: Float) {
        for (index, l) in layers.enumerated() {
            let address = RandomAddress(seed: seed, role: .train, image: RandomReservations.sharedImage, sample: UInt32(index),
                                        step: RandomReservations.mlpInitStep)
            NormalStream.fill(l.M, count: l.weightCount, address: address, tensor: 0)
            let std = mScale / (Float(l.rows).squareRoot() * l.inputScale)
            for e in 0..<l.weightCount { l.M[e] *= std }
            for i in 0..<l.rows { l.logSqrtU[i] = logStd / 2 }
            for j in 0..<l.outputs { l.logSqrtV[j] = logStd / 2 }
        }
        refreshScales()
    }

    /// W = M + S ⊙ E for layer `index`, E drawn from tensor `index` of `address` (docs/METHOD.md §Addresses), written
    /// straight into `w` 64 values at a time: no buffer of normals.
    @inline(__always)
    public func sampleWeights(layer index: Int, address: RandomAddress, into w: UnsafeMutablePointer<Float>) {
        let l = layers[index]
        let count = l.weightCount
        let m = UnsafeRawPointer(l.M), s = UnsafeRawPointer(l.scale), out = UnsafeMutableRawPointer(w)
        var g = 0
        while (g + 1) * 64 <= count {
            let z = NormalStream.group(address, tensor: index, group: g)
            let base = g * 256
            Self.put(m, s, out, base, z.0); Self.put(m, s, out, base + 64, z.1)
            Self.put(m, s, out, base + 128, z.2); Self.put(m, s, out, base + 192, z.3)
            g += 1
        }
        if g * 64 < count {
            let z = NormalStream.group(address, tensor: index, group: g)
            for e in (g * 64)..<count {
                let k = (e - g * 64) / 16, lane = (e - g * 64) % 16
                let zk = k == 0 ? z.0 : k == 1 ? z.1 : k == 2 ? z.2 : z.3
                w[e] = l.M[e] + l.scale[e] * zk[lane]
            }
        }
    }

    /// out[off…] = m[off…] + s[off…] · z for 16 floats at byte offset `off`.
    @inline(__always)
    static func put(_ m: UnsafeRawPointer, _ s: UnsafeRawPointer, _ out: UnsafeMutableRawPointer, _ off: Int, _ z: SIMD16<Float>) {
        let v = m.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self)
            .addingProduct(s.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self), z)
        out.storeBytes(of: v, toByteOffset: off, as: SIMD16<Float>.self)
    }

    /// KL(q ‖ MN(0, I, I)) summed over layers (docs/METHOD.md §KL divergence):
    /// ½ (Σu·Σv + ‖M‖² − r c − c Σ log u − r Σ log v). A deterministic layer (a point mass, whose
    /// KL is infinite) contributes the prior's negative log density up to a constant, ½ ‖M‖².
    public func kl() -> Double {
        var total = 0.0
        for l in layers {
            guard l.stochastic else {
                var mm = 0.0
                for e in 0..<l.weightCount { mm += Double(l.M[e]) * Double(l.M[e]) }
                total += 0.5 * mm
                continue
            }
            var su = 0.0, sv = 0.0, lu = 0.0, lv = 0.0, mm = 0.0
            for i in 0..<l.rows { let a = Double(l.logSqrtU[i]); su += Foundation.exp(2 * a); lu += 2 * a }
            for j in 0..<l.outputs { let b = Double(l.logSqrtV[j]); sv += Foundation.exp(2 * b); lv += 2 * b }
            for e in 0..<l.weightCount { mm += Double(l.M[e]) * Double(l.M[e]) }
            let r = Double(l.rows), c = Double(l.outputs)
            total += 0.5 * (su * sv + mm - r * c - c * lu - r * lv)
        }
        return total
    }
}
