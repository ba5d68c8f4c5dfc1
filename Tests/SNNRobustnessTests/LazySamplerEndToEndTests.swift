import XCTest
import SNNModels
import SNNRobustness
import SNNRuntime

/// The lazy sampler on real images (docs/METHOD.md §Lazy sampler): the bundled VMG's per-image
/// outcomes under both samplers (same images, different random numbers) agree by paired tests —
/// McNemar's exact test for clean, adversarial and fresh-set accuracy and the linear condition,
/// a paired t-test for the attack length and cos α of class j — each at level 0.001.
final class LazySamplerEndToEndTests: XCTestCase {
    struct Outcome { var clean, adversarial, fresh, linear: Bool; var length, cos: Double }

    func outcomes(_ model: MatrixGaussianMLP, sampler: WeightSampler, images: [[Float]], labels: [UInt8]) throws -> [Outcome] {
        model.sampler = sampler
        defer { model.sampler = .explicit }
        var config = EvaluationConfig(eta: 1.5, attackSamples: 10, inferenceSamples: 50, seed: 4)
        config.sampler = sampler.rawValue
        let sweep = try Evaluator(model: model, configs: [config],
                                       arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: [config]).bytes))
        var r = ImageResult()
        var out: [Outcome] = []
        for (i, image) in images.enumerated() {
            sweep.input.update(from: image, count: 784)
            sweep.evaluate(index: i, label: Int(labels[i]), into: &r)
            out.append(Outcome(clean: r.cleanCorrect, adversarial: r.adversarialPrediction == r.label,
                               fresh: r.freshAdversarialPrediction == r.label, linear: r.conditions?.linear ?? false,
                               length: Double(r.deltaNorm), cos: Double(r.cosAlpha)))
        }
        return out
    }

    /// Exact two-sided McNemar p-value from the discordant counts.
    static func mcnemar(_ b: Int, _ c: Int) -> Double {
        let n = b + c
        guard n > 0 else { return 1 }
        var tail = 0.0, term = pow(0.5, Double(n))   // P(X = 0)
        for x in 0...min(b, c) {
            tail += term
            term *= Double(n - x) / Double(x + 1)
        }
        return min(1, 2 * tail)
    }

    func testRatesAgreeWithTheExplicitSampler() throws {
        let (images, labels) = try EndToEndTests.loadImages(200)
        let (m, _) = try ModelStore.load(EndToEndTests.packageRoot + "/models/vmg-fmnist")
        let model = try XCTUnwrap(m as? MatrixGaussianMLP)
        let e = try outcomes(model, sampler: .explicit, images: images, labels: labels)
        let l = try outcomes(model, sampler: .lazy, images: images, labels: labels)
        let rates: [(String, KeyPath<Outcome, Bool>)] = [("clean", \.clean), ("adversarial", \.adversarial), ("fresh", \.fresh),
                                                          ("linear condition", \.linear)]
        for (name, key) in rates {
            let b = zip(e, l).filter { $0[keyPath: key] && !$1[keyPath: key] }.count
            let c = zip(e, l).filter { !$0[keyPath: key] && $1[keyPath: key] }.count
            let p = Self.mcnemar(b, c)
            XCTAssertGreaterThan(p, 0.001, "\(name): discordant \(b) vs \(c), McNemar p = \(p)")
        }
        for (name, key) in [("attack length", \Outcome.length), ("cos α_j", \Outcome.cos)] as [(String, KeyPath<Outcome, Double>)] {
            let diffs = zip(e, l).map { $0[keyPath: key] - $1[keyPath: key] }.filter { $0.isFinite }
            let n = Double(diffs.count), mean = diffs.reduce(0, +) / n
            let sd = (diffs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
            let t = mean / (sd / n.squareRoot())
            XCTAssertLessThan(abs(t), 3.4, "\(name): paired t = \(t) over \(diffs.count) images")   // two-sided 0.001
        }
        XCTAssertGreaterThan(e.filter(\.clean).count, 150, "the bundled VMG classifies most of these images")
    }

    /// The lazy workspace allocates nothing per image once warm.
    func testNoAllocationPerImage() throws {
        let (images, labels) = try EndToEndTests.loadImages(8)
        let (m, _) = try ModelStore.load(EndToEndTests.packageRoot + "/models/vmg-fmnist")
        let model = try XCTUnwrap(m as? MatrixGaussianMLP)
        model.sampler = .lazy
        defer { model.sampler = .explicit }
        let config = EvaluationConfig(eta: 1.5, attackSamples: 3, inferenceSamples: 5, seed: 1)
        let sweep = try Evaluator(model: model, configs: [config],
                                       arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: [config]).bytes))
        var r = ImageResult()
        func run(_ i: Int) {
            sweep.input.update(from: images[i], count: 784)
            sweep.evaluate(index: i, label: Int(labels[i]), into: &r)
        }
        for i in 0..<3 { run(i) }
        XCTAssertEqual(AllocationCounter.bytesAllocated { for i in 3..<8 { run(i) } }, 0, "bytes allocated per image with the lazy sampler")
        XCTAssertNotNil(AllocationCounter.threadAllocatedBytes(), "jemalloc counter unavailable")
    }
}
