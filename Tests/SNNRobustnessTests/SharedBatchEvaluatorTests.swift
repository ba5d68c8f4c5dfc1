import XCTest
import SNNModels
import SNNRobustness
import SNNRuntime

/// `--share-samples` in chunks (`SharedBatchEvaluator`, one GEMM per layer and realization for a
/// chunk of images) against the per-image path (`Evaluator`, one image at a time with its own
/// workspace and few-row kernels) on real FashionMNIST test images and the bundled VMG with the
/// explicit sampler: both draw the same shared realizations, so every reported field must agree —
/// integers exactly, floats to rounding (the GEMMs sum in another order).
final class SharedBatchEvaluatorTests: XCTestCase {
    static func model() throws -> MatrixGaussianMLP {
        // a non-saturating model: see EndToEndTests.fixtureModels
        let (m, _) = try ModelStore.load(EndToEndTests.fixtureModels + "/vmg-fmnist-2026-11")
        let mlp = try XCTUnwrap(m as? MatrixGaussianMLP)
        XCTAssertEqual(mlp.sampler, .explicit)
        return mlp
    }

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

    var base: EvaluationConfig {
        var c = EvaluationConfig(eta: 0, attackSamples: 1, inferenceSamples: 1, seed: 7)
        c.shareSamples = true; c.sampler = "explicit"
        c.varianceSamples = 5; c.countExtreme = true
        return c
    }

    /// Per-image results: results[i · configs.count + c].
    func perImage(_ model: MatrixGaussianMLP, _ configs: [EvaluationConfig], images: [[Float]], labels: [UInt8]) throws -> [ImageResult] {
        let sweep = try Evaluator(model: model, configs: configs,
                                       arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: configs).bytes))
        XCTAssertEqual(sweep.strategy, .fullJacobian)
        var out = [ImageResult](repeating: ImageResult(), count: images.count * configs.count)
        out.withUnsafeMutableBufferPointer { r in
            for (i, image) in images.enumerated() {
                sweep.input.update(from: image, count: image.count)
                sweep.evaluate(index: i, label: Int(labels[i]), into: r.baseAddress! + i * configs.count)
            }
        }
        return out
    }

    /// Batched results in chunks of `chunk` (the last one partial), same layout; also every x_adv.
    func batched(_ model: MatrixGaussianMLP, _ configs: [EvaluationConfig], images: [[Float]], labels: [UInt8],
                 chunk: Int) throws -> (results: [ImageResult], adversarial: [[Float]]) {
        let e = try SharedBatchEvaluator(model: model, configs: configs, chunk: chunk,
                                         arena: Arena(capacity: SharedBatchEvaluator.plan(model: model, configs: configs, chunk: chunk).bytes))
        let nc = configs.count, d = model.inputSize
        var out = [ImageResult](repeating: ImageResult(), count: images.count * nc)
        var adversarial: [[Float]] = []
        var first = 0
        while first < images.count {
            let n = min(chunk, images.count - first)
            for i in 0..<n { (e.input + i * d).update(from: images[first + i], count: d) }
            let indices = Array(first..<(first + n)), ys = (first..<(first + n)).map { Int(labels[$0]) }
            out.withUnsafeMutableBufferPointer { r in
                e.evaluate(count: n, indices: indices, labels: ys, into: r.baseAddress! + first * nc)
            }
            for i in 0..<n {
                for c in 0..<nc { adversarial.append(Array(UnsafeBufferPointer(start: e.adversarialInput(image: i, configuration: c), count: d))) }
            }
            first += n
        }
        return (out, adversarial)
    }

    /// Largest relative difference seen per field (reported, and bounded by `tolerance`).
    func compare(_ a: [ImageResult], _ b: [ImageResult], _ configs: [EvaluationConfig], tolerance: Float = 1e-4,
                 file: StaticString = #filePath, line: UInt = #line) -> [String: Float] {
        var worst: [String: Float] = [:]
        var attacked = 0
        func float(_ u: Float, _ v: Float, _ what: String, _ at: String) {
            if u.isNaN || v.isNaN { XCTAssertTrue(u.isNaN && v.isNaN, "\(at) \(what): \(u) vs \(v)", file: file, line: line); return }
            if u.isInfinite || v.isInfinite { XCTAssertEqual(u, v, "\(at) \(what)", file: file, line: line); return }
            // relative to the value, with a floor of 1e-3 of the field's natural scale (1) for values near 0
            let rel = abs(u - v) / max(abs(u), abs(v), 1e-3)
            worst[what] = max(worst[what] ?? 0, rel)
            XCTAssertLessThanOrEqual(rel, tolerance, "\(at) \(what): \(u) vs \(v)", file: file, line: line)
        }
        for (n, (u, v)) in zip(a, b).enumerated() {
            let c = n % configs.count
            let at = "image \(n / configs.count) config \(c) (η \(configs[c].eta), S_A \(configs[c].attackSamples), S_I \(configs[c].inferenceSamples))"
            XCTAssertEqual(u.index, v.index, at, file: file, line: line)
            XCTAssertEqual(u.label, v.label, at, file: file, line: line)
            XCTAssertEqual(u.eta, v.eta, at, file: file, line: line)
            XCTAssertEqual(u.attackSamples, v.attackSamples, at, file: file, line: line)
            XCTAssertEqual(u.inferenceSamples, v.inferenceSamples, at, file: file, line: line)
            XCTAssertEqual(u.attack, v.attack, at, file: file, line: line)
            XCTAssertEqual(u.target, v.target, at, file: file, line: line)
            XCTAssertEqual(u.cleanPrediction, v.cleanPrediction, at, file: file, line: line)
            XCTAssertEqual(u.attackPrediction, v.attackPrediction, at, file: file, line: line)
            XCTAssertEqual(u.adversarialPrediction, v.adversarialPrediction, at, file: file, line: line)
            XCTAssertEqual(u.freshAdversarialPrediction, v.freshAdversarialPrediction, at, file: file, line: line)
            XCTAssertEqual(u.extremeSamples, v.extremeSamples, at, file: file, line: line)
            XCTAssertEqual(u.conditions == nil, v.conditions == nil, at, file: file, line: line)
            if let cu = u.conditions, let cv = v.conditions {
                XCTAssertEqual(cu.minClass, cv.minClass, at, file: file, line: line)
                XCTAssertEqual(cu.runnerUpClass, cv.runnerUpClass, at, file: file, line: line)
                XCTAssertEqual(cu.linear, cv.linear, "\(at) linear condition (r̃ \(cu.minRLinear) vs \(cv.minRLinear), ‖δ‖ \(u.deltaNorm))",
                               file: file, line: line)
                XCTAssertEqual(cu.smooth, cv.smooth, at, file: file, line: line)
                XCTAssertNil(cu.minRSmooth, at, file: file, line: line)
                float(cu.minRLinear, cv.minRLinear, "min_r_linear", at)
                attacked += 1
            }
            for (x, y, what) in [(u.cleanProbability, v.cleanProbability, "clean_probability"), (u.deltaNorm, v.deltaNorm, "delta_norm"),
                                 (u.deltaLinf, v.deltaLinf, "delta_linf"), (u.cosAlpha, v.cosAlpha, "cos_alpha"),
                                 (u.gradNorm, v.gradNorm, "grad_norm"), (u.runnerUpCosAlpha, v.runnerUpCosAlpha, "runner_up_cos_alpha"),
                                 (u.runnerUpGradNorm, v.runnerUpGradNorm, "runner_up_grad_norm"), (u.minMargin, v.minMargin, "runner_up_margin"),
                                 (u.predictionVariance, v.predictionVariance, "prediction_variance")] {
                float(x, y, what, at)
            }
        }
        XCTAssertGreaterThan(attacked, 0, "no attacked configuration compared", file: file, line: line)
        return worst
    }

    func check(_ configs: [EvaluationConfig], images count: Int = 20, chunk: Int = 7, file: StaticString = #filePath, line: UInt = #line) throws {
        let (images, labels) = try EndToEndTests.loadImages(count)
        let model = try Self.model()
        XCTAssertNil(SharedBatchEvaluator.unsupported(model: model, configs: configs), file: file, line: line)
        let a = try perImage(model, configs, images: images, labels: labels)
        let (b, _) = try batched(model, configs, images: images, labels: labels, chunk: chunk)
        let worst = compare(a, b, configs, file: file, line: line)
        print("SharedBatchEvaluatorTests: largest relative differences per-image vs batched:",
              worst.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    /// FGM with the cross-entropy loss (the main job's attack): a sweep over η (with η = 0), nested
    /// S_A and S_I, fresh set, variance and extreme counts; chunks of 7 (the last one partial).
    func testFGMSweepMatchesPerImagePath() throws {
        try check(grid(base, etas: [0, 0.5, 1.5], sa: [3, 10], si: [4, 20]))
    }

    /// FGSM, targeted at (y + 1) mod k, independent sets, no fresh set.
    func testTargetedFGSMWithIndependentSetsMatchesPerImagePath() throws {
        var b = base
        b.attack.method = .fgsm; b.attack.norm = .linf; b.attack.target = .next; b.fresh = false; b.varianceSamples = 0
        try check(grid(b, etas: [0.05, 0.1], sa: [2, 5], si: [3, 6], independent: true), chunk: 20)
    }

    /// A fixed target class and the L2 attack in chunks of one image.
    func testFixedTargetInChunksOfOne() throws {
        var b = base
        b.attack.target = .fixed(3); b.countExtreme = false
        let (_, labels) = try EndToEndTests.loadImages(12)
        XCTAssertFalse(labels.contains(3), "the first 12 test images must avoid the target class")
        try check(grid(b, etas: [1], sa: [4], si: [5]), images: 12, chunk: 1)
    }

    /// An image's results do not depend on the chunk it is evaluated in (size, position, partial
    /// last chunk): every GEMM row is computed by the same arithmetic whatever the batch.
    func testResultsDoNotDependOnTheChunk() throws {
        let (images, labels) = try EndToEndTests.loadImages(13)
        let model = try Self.model()
        let configs = grid(base, etas: [0, 1.5], sa: [3], si: [4, 6])
        let (reference, referenceAdv) = try batched(model, configs, images: images, labels: labels, chunk: 13)
        for chunk in [1, 2, 5] {
            let (r, adv) = try batched(model, configs, images: images, labels: labels, chunk: chunk)
            XCTAssertTrue(adv == referenceAdv, "x_adv, chunks of \(chunk): not bitwise equal")
            for (n, (u, v)) in zip(reference, r).enumerated() {
                let at = "chunks of \(chunk): result \(n)"
                XCTAssertEqual(u.cleanPrediction, v.cleanPrediction, at)
                XCTAssertEqual(u.adversarialPrediction, v.adversarialPrediction, at)
                XCTAssertEqual(u.freshAdversarialPrediction, v.freshAdversarialPrediction, at)
                XCTAssertEqual(u.conditions, v.conditions, at)
                for (x, y) in [(u.cleanProbability, v.cleanProbability), (u.deltaNorm, v.deltaNorm), (u.cosAlpha, v.cosAlpha),
                               (u.gradNorm, v.gradNorm), (u.runnerUpGradNorm, v.runnerUpGradNorm), (u.minMargin, v.minMargin),
                               (u.predictionVariance, v.predictionVariance)] {
                    XCTAssertTrue(x == y || (x.isNaN && y.isNaN), "\(at): \(x) vs \(y) (bitwise equality expected)")
                }
            }
        }
    }

    /// Configurations the batched evaluator does not take (they run one image at a time).
    func testUnsupportedConfigurationsAreNamed() throws {
        let model = try Self.model()
        let fgm = grid(base, etas: [1], sa: [2], si: [2])
        XCTAssertNil(SharedBatchEvaluator.unsupported(model: model, configs: fgm))
        XCTAssertNil(SharedBatchEvaluator.unsupported(model: model, configs: grid(base, etas: [0], sa: [2], si: [2])))
        var pgd = fgm[0]; pgd.attack.method = .pgd
        XCTAssertEqual(SharedBatchEvaluator.unsupported(model: model, configs: [pgd]), "PGD")
        var margin = fgm[0]; margin.attack.loss = .margin
        XCTAssertEqual(SharedBatchEvaluator.unsupported(model: model, configs: [margin]), "--loss margin")
        var own = fgm[0]; own.shareSamples = false
        XCTAssertNotNil(SharedBatchEvaluator.unsupported(model: model, configs: [own]))
        model.sampler = .lazy
        XCTAssertEqual(SharedBatchEvaluator.unsupported(model: model, configs: fgm), "the lazy sampler")
        model.sampler = .explicit
        let (smoothed, _) = try ModelStore.load(EndToEndTests.packageRoot + "/models/vmg-fmnist-smooth")
        XCTAssertEqual(SharedBatchEvaluator.unsupported(model: smoothed, configs: fgm), "a smoothed model")
        let (wrn, _) = try ModelStore.load(EndToEndTests.packageRoot + "/models/wrn-fmnist-p03")
        XCTAssertNotNil(SharedBatchEvaluator.unsupported(model: wrn, configs: fgm))
    }

    /// The plan is exactly what the evaluator allocates.
    func testPlanIsWhatTheEvaluatorAllocates() throws {
        let model = try Self.model()
        let configs = grid(base, etas: [0.5, 1], sa: [2, 3], si: [2])
        let need = SharedBatchEvaluator.plan(model: model, configs: configs, chunk: 9).bytes
        XCTAssertNoThrow(try SharedBatchEvaluator(model: model, configs: configs, chunk: 9, arena: Arena(capacity: need)))
        XCTAssertThrowsError(try SharedBatchEvaluator(model: model, configs: configs, chunk: 9, arena: Arena(capacity: need - 64))) { error in
            XCTAssertTrue(error is OutOfBudget, "\(error)")
        }
        XCTAssertGreaterThan(SharedBatchEvaluator.plan(model: model, configs: configs, chunk: 100).bytes, need)
    }

    /// The steady state allocates nothing per chunk.
    func testChunkAllocatesNothing() throws {
        #if DEBUG
        throw XCTSkip("the allocation contract is for optimized builds")
        #endif
        let (images, labels) = try EndToEndTests.loadImages(12)
        let model = try Self.model()
        let configs = grid(base, etas: [0, 1.5], sa: [2, 3], si: [2, 3])
        let chunk = 4, nc = configs.count, d = model.inputSize
        let e = try SharedBatchEvaluator(model: model, configs: configs, chunk: chunk,
                                         arena: Arena(capacity: SharedBatchEvaluator.plan(model: model, configs: configs, chunk: chunk).bytes))
        let out = UnsafeMutablePointer<ImageResult>.allocate(capacity: chunk * nc)
        out.initialize(repeating: ImageResult(), count: chunk * nc)
        let indices = UnsafeMutablePointer<Int>.allocate(capacity: chunk), ys = UnsafeMutablePointer<Int>.allocate(capacity: chunk)
        defer { out.deallocate(); indices.deallocate(); ys.deallocate() }
        func run(_ first: Int) {
            for i in 0..<chunk {
                images[first + i].withUnsafeBufferPointer { (e.input + i * d).update(from: $0.baseAddress!, count: d) }
                indices[i] = first + i; ys[i] = Int(labels[first + i])
            }
            e.evaluate(count: chunk, indices: indices, labels: ys, into: out)
        }
        run(0)
        XCTAssertEqual(AllocationCounter.bytesAllocated { run(4); run(8) }, 0, "bytes allocated per chunk")
        XCTAssertNotNil(AllocationCounter.threadAllocatedBytes(), "jemalloc counter unavailable")
    }
}
