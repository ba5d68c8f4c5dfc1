import XCTest
@testable import SNNModels
import SNNRuntime

/// The closed-form KL(q ‖ MN(0, I, I)) of the matrix-Gaussian layer against two independent
/// computations: the sum of per-weight Gaussian KLs in Double, and a Monte Carlo estimate of
/// E_q[log q(W) − log p(W)].
final class MatrixGaussianKLTests: XCTestCase {
    /// A model with varied, non-trivial parameters (the default initialisation has u, v constant).
    func model(stochastic: [Bool]? = nil) -> MatrixGaussianMLP {
        let m = MatrixGaussianMLP(sizes: [3, 2, 2], stochasticLayers: stochastic)
        m.initialise(seed: 5, mScale: 0.8, logStd: -0.5)
        for (index, l) in m.layers.enumerated() {
            for i in 0..<l.rows { l.logSqrtU[i] = -0.4 + 0.15 * Float(i) - 0.1 * Float(index) }
            for j in 0..<l.outputs { l.logSqrtV[j] = 0.2 - 0.3 * Float(j) }
        }
        m.refreshScales()
        return m
    }

    /// Σ_ij ½ (σ²_ij + μ²_ij − 1 − log σ²_ij) with σ_ij = √u_i √v_j: independent Gaussians.
    static func elementwiseKL(_ m: MatrixGaussianMLP) -> Double {
        var total = 0.0
        for l in m.layers {
            for i in 0..<l.rows {
                for j in 0..<l.outputs {
                    let mu = Double(l.M[i * l.outputs + j])
                    guard l.stochastic else { total += 0.5 * mu * mu; continue }
                    let logSigma = Double(l.logSqrtU[i]) + Double(l.logSqrtV[j])
                    let v = exp(2 * logSigma)
                    total += 0.5 * (v + mu * mu - 1 - 2 * logSigma)
                }
            }
        }
        return total
    }

    func testClosedFormEqualsElementwiseSum() {
        let m = model()
        XCTAssertEqual(m.kl(), Self.elementwiseKL(m), accuracy: 1e-9 * max(1, abs(m.kl())))
        let d = model(stochastic: [true, false])
        XCTAssertEqual(d.kl(), Self.elementwiseKL(d), accuracy: 1e-9 * max(1, abs(d.kl())))
        XCTAssertLessThan(d.kl(), m.kl(), "a deterministic layer contributes only ½‖M‖²")
    }

    /// log q(W) − log p(W) averaged over 200,000 draws W ~ q (Box–Muller from a seeded generator
    /// independent of the product's Philox streams); tolerance 4 standard errors.
    func testClosedFormMatchesMonteCarlo() {
        let m = model()
        var rng = SplitMix64(seed: 42)
        let draws = 200_000
        var sum = 0.0, sumSq = 0.0
        for _ in 0..<draws {
            var logRatio = 0.0
            for l in m.layers {
                for i in 0..<l.rows {
                    for j in 0..<l.outputs {
                        let mu = Double(l.M[i * l.outputs + j])
                        let sigma = exp(Double(l.logSqrtU[i]) + Double(l.logSqrtV[j]))
                        let z = rng.normal()
                        let w = mu + sigma * z
                        // log N(w; mu, σ²) − log N(w; 0, 1)
                        logRatio += -0.5 * z * z - log(sigma) + 0.5 * w * w
                    }
                }
            }
            sum += logRatio; sumSq += logRatio * logRatio
        }
        let mean = sum / Double(draws)
        let se = ((sumSq / Double(draws) - mean * mean) / Double(draws)).squareRoot()
        XCTAssertEqual(m.kl(), mean, accuracy: 4 * se, "closed form \(m.kl()) vs Monte Carlo \(mean) ± \(se)")
    }

    /// A deterministic layer's realization is its mean, whatever the address.
    func testDeterministicLayerSamplesItsMean() {
        let m = model(stochastic: [true, false])
        let l = m.layers[1]
        var w = [Float](repeating: .nan, count: l.weightCount)
        w.withUnsafeMutableBufferPointer {
            m.sampleWeights(layer: 1, address: RandomAddress(seed: 3, role: .inference, image: 0, sample: 7), into: $0.baseAddress!)
        }
        XCTAssertEqual(w, Array(UnsafeBufferPointer(start: l.M, count: l.weightCount)))
    }
}
