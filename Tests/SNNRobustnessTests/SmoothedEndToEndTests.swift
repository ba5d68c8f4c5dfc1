import XCTest
import SNNModels
import SNNRobustness
import SNNRuntime

/// The smooth condition (Theorem 3.4; docs/METHOD.md §Smooth condition) end to end on real images:
/// a randomized-smoothing MLP through `Evaluator`, and the same quantities recomputed with the
/// naive Double reference — each smoothed realization is (1/n) Σ_j f(x + σ ε_j, θ) with θ from
/// `ReferenceMLP` and ε_j read from the noise stream — then r_c = m_c / |d_c/‖δ‖ − L‖δ‖| (∞ when
/// that is ≥ 0), L = 2/σ².
final class SmoothedEndToEndTests: XCTestCase {
    struct SmoothedReference {
        let nets: [ReferenceMLP]
        let noise: [[[Double]]]     // per realization, per draw: σ ε_j
        /// Averaged probabilities and Jacobian (k × d) over the realizations and their draws.
        func evaluate(_ x: [Double], jacobian: Bool) -> (p: [Double], jac: [[Double]]) {
            let k = 10, d = x.count
            var p = [Double](repeating: 0, count: k)
            var jac = [[Double]](repeating: [Double](repeating: 0, count: d), count: jacobian ? k : 0)
            let w = 1 / Double(nets.count * noise[0].count)
            for (s, net) in nets.enumerated() {
                for e in noise[s] {
                    let xn = zip(x, e).map { $0 + $1 }
                    for (c, v) in net.forward(xn).probs.enumerated() { p[c] += w * v }
                    if jacobian { for (c, row) in net.jacobian(xn).enumerated() { for j in 0..<d { jac[c][j] += w * row[j] } } }
                }
            }
            return (p, jac)
        }
    }

    func testSmoothConditionAgreesWithIndependentComputation() throws {
        let (images, labels) = try EndToEndTests.loadImages(12)
        let base = MatrixGaussianMLP(sizes: [784, 32, 10])
        base.initialise(seed: 21, mScale: 3, logStd: -3)
        let variance: Float = 0.1, draws = 3
        let model = SmoothedClassifier(base: base, variance: variance, noiseSamples: draws, name: "smoothed-test")
        let L = 2 / Double(variance), sigma = Double(variance.squareRoot())
        let d = 784, k = 10
        var smoothChecked = 0, finiteRadii = 0
        for eta: Float in [0.05, 0.5] {
            let config = EvaluationConfig(eta: eta, attackSamples: 2, inferenceSamples: 2, seed: 13)
            let evaluator = try Evaluator(model: model, configs: [config], arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: [config]).bytes))
            func reference(_ role: RandomRole, image: Int, samples: Int) -> SmoothedReference {
                let addresses = (0..<samples).map { config.address(role, image: image, sample: $0) }
                let noise = addresses.map { a in (0..<draws).map { j -> [Double] in
                    var z = [Float](repeating: 0, count: d)
                    z.withUnsafeMutableBufferPointer {
                        NormalStream.fill($0.baseAddress!, count: d, address: SmoothedClassifier.noiseAddress(a),
                                          tensor: SmoothedClassifier.noiseTensor(role: a.role, draw: j))
                    }
                    return z.map { sigma * Double($0) }
                } }
                return SmoothedReference(nets: addresses.map { ReferenceMLP(model: base, address: $0) }, noise: noise)
            }
            for (i, image) in images.enumerated() {
                let y = Int(labels[i])
                evaluator.input.update(from: image, count: d)
                let r = evaluator.evaluate(index: i, label: y)
                let x = image.map(Double.init)
                // attack: δ ∝ −Σ ∇f_y over the attack set (FGM, L2), clipped to [0, 1]
                let (pA, jacA) = reference(.attack, image: i, samples: 2).evaluate(x, jacobian: true)
                let g = jacA[y]
                let gn = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let xadv = (0..<d).map { min(max(x[$0] - Double(eta) * g[$0] / gn, 0), 1) }
                let delta = (0..<d).map { xadv[$0] - x[$0] }
                let dn = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
                XCTAssertEqual(Double(r.deltaNorm), dn, accuracy: 1e-3 * max(1, dn), "η \(eta) image \(i) ‖δ‖")
                // inference: m_c, d_c = ⟨∇m_c, δ⟩, r_c of Theorem 3.4
                let (p, jac) = reference(.inference, image: i, samples: 2).evaluate(x, jacobian: true)
                var minR = Double.infinity
                for c in 0..<k where c != y {
                    let m = p[y] - p[c]
                    let dc = (0..<d).reduce(0.0) { $0 + (jac[y][$1] - jac[c][$1]) * delta[$1] }
                    let v = dc / dn - L * dn
                    minR = min(minR, v >= 0 ? .infinity : m / -v)
                }
                let correct = p.indices.max { p[$0] < p[$1] } == y && pA.indices.max { pA[$0] < pA[$1] } == y
                let rs = try XCTUnwrap(r.conditions?.minRSmooth, "a smoothed model reports r_c")
                if minR.isFinite {
                    finiteRadii += 1
                    XCTAssertEqual(Double(rs), minR, accuracy: 2e-3 * max(1e-3, abs(minR)), "η \(eta) image \(i) min r_c")
                } else {
                    XCTAssertEqual(rs, .infinity, "η \(eta) image \(i) min r_c")
                }
                // the premise: only images that f^A and f^I classify correctly can meet it
                let expected = correct && minR > dn
                let smooth = try XCTUnwrap(r.conditions?.smooth, "a smoothed model reports the smooth condition")
                if smooth != expected {
                    XCTAssertEqual(minR / dn, 1, accuracy: 1e-2, "η \(eta) image \(i): smooth condition differs away from the boundary")
                }
                smoothChecked += 1
            }
        }
        XCTAssertEqual(smoothChecked, 24)
        XCTAssertGreaterThan(finiteRadii, 12, "most images have a finite r_c")
    }
}
