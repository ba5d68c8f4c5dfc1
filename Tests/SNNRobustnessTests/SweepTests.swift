import XCTest
import SNNModels
import SNNRobustness
import SNNRuntime

/// The sweep evaluator shares realizations across configurations; each configuration must report
/// what the one-configuration `ReferenceImageEvaluator` (its own attack, inference and fresh passes, the
/// per-sample JVP) reports for it alone.
final class SweepTests: XCTestCase {
    func grid(_ base: EvaluationConfig, etas: [Float], sa: [Int], si: [Int], independent: Bool = false) -> [EvaluationConfig] {
        var out: [EvaluationConfig] = []
        for e in etas {
            for (ai, a) in sa.enumerated() {
                for (ii, i) in si.enumerated() {
                    var c = base
                    c.eta = e; c.attackSamples = a; c.inferenceSamples = i
                    if independent { c.attackSetStream = UInt32(ai + 1); c.inferenceSetStream = UInt32(ii + 1) }
                    out.append(c)
                }
            }
        }
        return out
    }

    func close(_ u: Float, _ v: Float, _ tol: Float = 2e-4) -> Bool {
        if u.isNaN || v.isNaN { return u.isNaN && v.isNaN }
        if u.isInfinite || v.isInfinite { return u == v }
        return abs(u - v) <= tol * max(1, abs(u), abs(v))
    }

    func check(configs: [EvaluationConfig], strategy: GradientStrategy, images n: Int, model: (any StochasticClassifier)? = nil,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let (images, labels) = try EndToEndTests.loadImages(n)
        let model = try model ?? EndToEndTests.loadModel()
        let sweep = try Evaluator(model: model, configs: configs,
                                       arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: configs).bytes), strategy: strategy)
        let single = try ReferenceImageEvaluator(model: model, config: configs[0],
                                                 arena: Arena(capacity: ReferenceImageEvaluator.plan(model: model).bytes))
        single.strategy = strategy
        let out = UnsafeMutablePointer<ImageResult>.allocate(capacity: configs.count)
        out.initialize(repeating: ImageResult(), count: configs.count)
        defer { out.deallocate() }
        var compared = 0
        for i in 0..<n {
            let y = Int(labels[i])
            sweep.input.update(from: images[i], count: 784)
            sweep.evaluate(index: i, label: y, into: out)
            for (c, cfg) in configs.enumerated() {
                single.config = cfg
                single.input.update(from: images[i], count: 784)
                let a = single.evaluate(index: i, label: y), b = out[c]
                let at = "image \(i) config \(c) (η \(cfg.eta), S_A \(cfg.attackSamples), S_I \(cfg.inferenceSamples))"
                XCTAssertEqual(a.eta, b.eta, at, file: file, line: line)
                XCTAssertEqual(a.inferenceSamples, b.inferenceSamples, at, file: file, line: line)
                XCTAssertEqual(a.attackPrediction, b.attackPrediction, at, file: file, line: line)
                XCTAssertEqual(a.target, b.target, at, file: file, line: line)
                XCTAssertEqual(a.cleanPrediction, b.cleanPrediction, at, file: file, line: line)
                XCTAssertEqual(a.adversarialPrediction, b.adversarialPrediction, at, file: file, line: line)
                XCTAssertEqual(a.freshAdversarialPrediction, b.freshAdversarialPrediction, at, file: file, line: line)
                XCTAssertEqual(a.extremeSamples, b.extremeSamples, at, file: file, line: line)
                XCTAssertEqual(a.conditions?.minClass, b.conditions?.minClass, at, file: file, line: line)
                XCTAssertEqual(a.conditions?.runnerUpClass, b.conditions?.runnerUpClass, at, file: file, line: line)
                for (u, v, what) in [(a.deltaNorm, b.deltaNorm, "‖δ‖"), (a.deltaLinf, b.deltaLinf, "‖δ‖∞"),
                                     (a.cleanProbability, b.cleanProbability, "f_y"), (a.gradNorm, b.gradNorm, "‖∇m_j‖"),
                                     (a.runnerUpGradNorm, b.runnerUpGradNorm, "‖∇m_j'‖"), (a.minMargin, b.minMargin, "m_j'"),
                                     (a.predictionVariance, b.predictionVariance, "variance")] {
                    XCTAssertTrue(close(u, v), "\(at) \(what): \(u) vs \(v)", file: file, line: line)
                }
                // d_c = ⟨∇m_c, δ⟩: the sweep takes J̄δ, the single run sums per-sample JVPs; where
                // d_c nearly cancels (r̃ in the thousands) the two roundings differ in the 4th digit
                for (u, v, what) in [(a.cosAlpha, b.cosAlpha, "cos α"), (a.runnerUpCosAlpha, b.runnerUpCosAlpha, "cos α'")] {
                    XCTAssertTrue(u.isNaN ? v.isNaN : abs(u - v) <= 1e-3, "\(at) \(what): \(u) vs \(v)", file: file, line: line)
                }
                let ra = a.conditions?.minRLinear ?? .nan, rb = b.conditions?.minRLinear ?? .nan
                XCTAssertTrue(close(ra, rb, 3e-3), "\(at) r̃: \(ra) vs \(rb)", file: file, line: line)
                if let ca = a.conditions, let cb = b.conditions, abs(ca.minRLinear - a.deltaNorm) > 1e-3 * a.deltaNorm {
                    XCTAssertEqual(ca.linear, cb.linear, at, file: file, line: line)
                }
                if a.attacked { compared += 1 }
            }
        }
        XCTAssertGreaterThan(compared, 0, file: file, line: line)
    }

    var base: EvaluationConfig {
        var c = EvaluationConfig(eta: 0, attackSamples: 1, inferenceSamples: 1, seed: 5)
        c.varianceSamples = 3; c.countExtreme = true
        return c
    }

    func testFGMSweepMatchesEachConfigurationFullJacobian() throws {
        try check(configs: grid(base, etas: [0, 0.5, 1.5], sa: [1, 3], si: [2, 5]), strategy: .fullJacobian, images: 6)
    }

    func testFGMSweepMatchesEachConfigurationTwoPass() throws {
        try check(configs: grid(base, etas: [0.5, 1.5, 3], sa: [1, 3], si: [2, 5]), strategy: .twoPass, images: 6)
    }

    func testIndependentSetsAndPGDSweep() throws {
        var b = base
        b.attack.method = .pgd; b.attack.pgdSteps = 2; b.attack.randomStart = true
        try check(configs: grid(b, etas: [0.5, 1.5], sa: [1, 2], si: [2, 3], independent: true), strategy: .fullJacobian, images: 4)
        try check(configs: grid(b, etas: [0.5, 1.5], sa: [1, 2], si: [2, 3]), strategy: .twoPass, images: 4)
    }

    /// The bundled MC-dropout WRN (its forward runs the rows one image at a time, row 0 last, and
    /// prefers two passes): both strategies against the one-configuration evaluator.
    func testWideResNetSweep() throws {
        let (model, _) = try ModelStore.load(EndToEndTests.packageRoot + "/models/wrn-fmnist-p03")
        var b = base
        b.varianceSamples = 0
        try check(configs: grid(b, etas: [0.5, 1.5], sa: [1, 2], si: [2, 3]), strategy: .fullJacobian, images: 3, model: model)
        try check(configs: grid(b, etas: [1.5], sa: [1, 2], si: [2, 3]), strategy: .twoPass, images: 3, model: model)
    }

    func testFGSMWithCWLossSweep() throws {
        var b = base
        b.attack.method = .fgsm; b.attack.norm = .linf; b.attack.loss = .cw; b.attack.target = .next; b.fresh = false
        try check(configs: grid(b, etas: [0.05, 0.1], sa: [2, 4], si: [3]), strategy: .fullJacobian, images: 4)
    }

    /// A sweep's steady state allocates nothing either.
    func testSweepAllocatesNothing() throws {
        #if DEBUG
        throw XCTSkip("the allocation contract is for optimized builds")
        #endif
        let (images, labels) = try EndToEndTests.loadImages(6)
        let model = try EndToEndTests.loadModel()
        for strategy in [GradientStrategy.fullJacobian, .twoPass] {
            let configs = grid(base, etas: [0, 1, 2], sa: [1, 2], si: [2, 3])
            let sweep = try Evaluator(model: model, configs: configs,
                                           arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: configs).bytes), strategy: strategy)
            let out = UnsafeMutablePointer<ImageResult>.allocate(capacity: configs.count)
            out.initialize(repeating: ImageResult(), count: configs.count)
            defer { out.deallocate() }
            func run(_ i: Int) {
                images[i].withUnsafeBufferPointer { sweep.input.update(from: $0.baseAddress!, count: 784) }
                sweep.evaluate(index: i, label: Int(labels[i]), into: out)
            }
            run(0)
            XCTAssertEqual(AllocationCounter.bytesAllocated { for i in 1..<6 { run(i) } }, 0, "\(strategy)")
        }
    }

    func testPlanNamesTheSizeWhenTheArenaIsTooSmall() throws {
        let model = try EndToEndTests.loadModel()
        let configs = grid(base, etas: [1, 2], sa: [1, 2], si: [2])
        let need = Evaluator.memoryPlan(model: model, configs: configs).bytes
        XCTAssertGreaterThan(need, Evaluator.memoryPlan(model: model, configs: [configs[0]]).bytes)
        XCTAssertNoThrow(try Evaluator(model: model, configs: configs, arena: Arena(capacity: need)))
        XCTAssertThrowsError(try Evaluator(model: model, configs: configs, arena: Arena(capacity: need - 64))) { error in
            XCTAssertTrue(error is OutOfBudget, "\(error)")
        }
        let clean = grid(base, etas: [0], sa: [1], si: [2, 3])   // no attack: the plan still fits exactly
        XCTAssertNoThrow(try Evaluator(model: model, configs: clean, arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: clean).bytes)))
    }
}
