import XCTest
@testable import SNNModels
@testable import SNNTraining
import SNNRuntime

/// The training gradient (reparameterised backward + KL) against central finite differences of
/// the loss with the realizations held fixed (same Philox addresses).
final class TrainingGradientTests: XCTestCase {
    func check(_ objective: Objective, smoothing: Float? = nil, scaling: MatrixGaussianMLP.InputScaling = .sqrtRows,
               stochastic: [Bool]? = nil, klWeight: Float = 1) throws {
        let model = MatrixGaussianMLP(sizes: [12, 7, 5, 4], inputScaling: scaling, stochasticLayers: stochastic)
        model.initialise(seed: 3, mScale: 1.5, logStd: -1)
        var config = TrainingConfig(objective: objective)
        config.batchSize = 6; config.samples = 3; config.smoothingVariance = smoothing; config.klWeight = klWeight
        let trainer = try MLPTrainer(model: model, config: config)
        var images = [UInt8](repeating: 0, count: 6 * 12)
        for i in images.indices { images[i] = UInt8((i * 37 + 11) % 256) }
        let labels: [UInt8] = [0, 1, 2, 3, 1, 2]
        let indices = Array(0..<6)
        let N: Float = 50
        func loss() -> Double {
            images.withUnsafeBufferPointer { im in labels.withUnsafeBufferPointer { lb in indices.withUnsafeBufferPointer { ix in
                trainer.lossAndGradient(images: im.baseAddress!, labels: lb.baseAddress!, indices: ix, datasetSize: N) } } }
                + Double(klWeight) * model.kl() / Double(N)
        }
        _ = loss()
        let analytic = Array(UnsafeBufferPointer(start: trainer.grad.parameters.data, count: model.parameters.count))
        let p = model.parameters.data
        var worst = 0.0
        for i in stride(from: 0, to: model.parameters.count, by: 3) {
            let saved = p[i], h: Float = 2e-3
            p[i] = saved + h; model.refreshScales(); let up = loss()
            p[i] = saved - h; model.refreshScales(); let down = loss()
            p[i] = saved; model.refreshScales()
            let fd = (up - down) / Double(2 * h)
            worst = max(worst, abs(fd - Double(analytic[i])) / (1e-3 + 2e-2 * abs(fd)))
        }
        XCTAssertLessThan(worst, 1, "\(objective): worst error / tolerance \(worst)")
    }

    func testELBOGradient() throws { try check(.elbo) }
    func testIMGradient() throws { try check(.im) }
    func testSmoothedGradient() throws { try check(.im, smoothing: 0.1) }
    func testUnscaledInputGradient() throws { try check(.elbo, scaling: .none) }
    func testDeterministicOutputGradient() throws { try check(.im, scaling: .none, stochastic: [true, true, false], klWeight: 0.3) }
}
