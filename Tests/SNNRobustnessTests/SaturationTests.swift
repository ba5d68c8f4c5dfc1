import XCTest
import SNNModels
import SNNRobustness
import SNNRuntime

/// A model whose logits are large enough that many single-sample softmax outputs are exactly 1 in
/// float32 (the paper's "extreme predictions", section 4.4). Checked against the Double reference:
/// the evaluator's extreme count equals an independent count, and the attack is δ = 0 exactly when
/// the gradient of every attack sample vanishes. Note that max_c f_c == 1 alone does not make the
/// gradient vanish: f_c of the other classes is then tiny but not 0 (e.g. e⁻³⁰), so the
/// cross-entropy gradient f_y (e_y − f) is tiny, and FGM's normalised step still has length η — as
/// in PyTorch. It vanishes when every other class's exp underflows to 0 in float32 (gap ≳ 104).
final class SaturationTests: XCTestCase {
    /// Top-1 minus top-2 logit gap of a realization, in Double. float32 softmax gives exactly 1
    /// when Σ_{c≠top} exp(z_c − z_top) < 2⁻²⁴ (half an ulp below 1); with 9 other classes a gap
    /// above 20 is surely saturated (9·e⁻²⁰ ≈ 1.9e-8 < 6e-8) and one below 15 surely not
    /// (e⁻¹⁵ ≈ 3.1e-7 > 6e-8).
    static func gap(_ net: ReferenceMLP, _ x: [Double]) -> Double {
        let z = net.logits(x).sorted(by: >)
        return z[0] - z[1]
    }

    /// How far the cross-entropy gradient of one sample is from vanishing: with y on top its
    /// softmax gradient is (p_c)_{c≠y}, so the top-2 gap; otherwise it is ∝ p_y, so z_top − z_y.
    /// In float32 the gradient is exactly 0 once that exponent underflows (≳ 104).
    static func attackGap(_ net: ReferenceMLP, _ x: [Double], label y: Int) -> Double {
        let z = net.logits(x)
        let top = z.indices.max { z[$0] < z[$1] }!
        return top == y ? gap(net, x) : z[top] - z[y]
    }

    func testExtremeCountsAndVanishingAttackGradient() throws {
        let (images, labels) = try EndToEndTests.loadImages(60)
        let model = MatrixGaussianMLP(sizes: [784, 16, 10], inputScaling: .none)
        model.initialise(seed: 4, mScale: 14, logStd: -2)
        var config = EvaluationConfig(eta: 1.5, attackSamples: 3, inferenceSamples: 10, seed: 17)
        config.countExtreme = true
        let evaluator = try Evaluator(model: model, configs: [config], arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: [config]).bytes))
        var checked = 0, extremeTotal = 0, zeroAttacks = 0, movingAttacks = 0
        for (i, image) in images.enumerated() {
            let x = image.map(Double.init)
            let inferenceGaps = (0..<10).map { Self.gap(ReferenceMLP(model: model, address: config.address(.inference, image: i, sample: $0)), x) }
            let attackGaps = (0..<3).map {
                Self.attackGap(ReferenceMLP(model: model, address: config.address(.attack, image: i, sample: $0)), x, label: Int(labels[i])) }
            if inferenceGaps.contains(where: { $0 >= 15 && $0 <= 20 }) { continue }  // too close to call in Double
            evaluator.input.update(from: image, count: 784)
            let r = evaluator.evaluate(index: i, label: Int(labels[i]))
            let expected = inferenceGaps.filter { $0 > 20 }.count
            XCTAssertEqual(r.extremeSamples, expected, "image \(i): extreme inference samples")
            extremeTotal += expected
            // exp(−110) = 1.7e-48 underflows to 0 in float32; exp(−80) = 1.8e-35 is a normal float
            if attackGaps.allSatisfy({ $0 > 110 }) {
                XCTAssertEqual(r.deltaNorm, 0, "image \(i): every attack sample's gradient vanishes, so δ = 0")
                zeroAttacks += 1
            } else if attackGaps.contains(where: { $0 < 80 }) {
                XCTAssertGreaterThan(r.deltaNorm, 0, "image \(i): an attack sample with a non-zero gradient")
                movingAttacks += 1
            }
            checked += 1
        }
        print("saturation: \(checked) images checked, \(extremeTotal) extreme samples, \(zeroAttacks) vanishing attacks, \(movingAttacks) moving")
        XCTAssertGreaterThanOrEqual(checked, 15)
        XCTAssertGreaterThan(extremeTotal, 0, "the model must saturate for this test to mean anything")
        XCTAssertGreaterThan(zeroAttacks, 0)
        XCTAssertGreaterThan(movingAttacks, 0)
    }
}
