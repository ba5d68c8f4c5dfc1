import XCTest
import SNNModels
import SNNRobustness
import SNNRuntime

/// Every attack of docs/METHOD.md §Attacks against a naive Double re-implementation on the reference MLP: its own
/// weights, forward, logits and backward pass, its own PGD loop, projection and clipping.
final class AttackTests: XCTestCase {
    let e2e = EndToEndTests.self

    /// Expected x_adv for one image under `a`, computed with ReferenceMLP in Double.
    func referenceAdversarial(_ model: MatrixGaussianMLP, _ config: EvaluationConfig, image i: Int, x: [Double], label y: Int) -> [Double] {
        let a = config.attack, eta = Double(config.eta), d = x.count, k = 10
        let target = a.target.resolve(label: y, classes: k)
        var cur = x
        let steps = a.method == .pgd ? a.pgdSteps : 1
        let nu = a.method == .pgd ? Double(a.stepSize(eta: config.eta)) : eta
        for t in 0..<steps {
            let nets = (0..<config.attackSamples).map { ReferenceMLP(model: model, address: config.address(.attack, image: i, sample: $0, step: t)) }
            var g = [Double](repeating: 0, count: d)
            func add(_ v: [Double], _ w: Double) { for j in 0..<d { g[j] += w * v[j] } }
            switch a.loss {
            case .ce:
                // ascend −log f̄_y, or log f̄_t when targeted: ∝ ∓Σ_s ∇f_y|t
                for net in nets { add(net.jacobian(cur)[target ?? y], target == nil ? -1 : 1) }
            case .margin:
                var pbar = [Double](repeating: 0, count: k)
                for net in nets { for (c, p) in net.forward(cur).probs.enumerated() { pbar[c] += p } }
                let anchor = target ?? y
                let other = (0..<k).filter { $0 != anchor }.max { pbar[$0] < pbar[$1] }!
                let (up, down) = target == nil ? (other, y) : (anchor, other)
                for net in nets { let J = net.jacobian(cur); add(J[up], 1); add(J[down], -1) }
            case .cw:
                var zbar = [Double](repeating: 0, count: k)
                for net in nets { for (c, z) in net.logits(cur).enumerated() { zbar[c] += z } }
                let anchor = target ?? y
                let other = (0..<k).filter { $0 != anchor }.max { zbar[$0] < zbar[$1] }!
                let (up, down) = target == nil ? (other, y) : (anchor, other)
                if zbar[up] <= zbar[down] {
                    for net in nets { let J = net.logitJacobian(cur); add(J[up], 1); add(J[down], -1) }
                }
            }
            switch a.norm {
            case .l2:
                let n = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if n > 0 { for j in 0..<d { cur[j] += nu * g[j] / n } }
            case .linf:
                for j in 0..<d { cur[j] += g[j] > 0 ? nu : (g[j] < 0 ? -nu : 0) }
            }
            if a.method == .pgd {
                switch a.norm {
                case .l2:
                    let n = (0..<d).reduce(0.0) { $0 + pow(cur[$1] - x[$1], 2) }.squareRoot()
                    if n > eta { for j in 0..<d { cur[j] = x[j] + eta / n * (cur[j] - x[j]) } }
                case .linf:
                    for j in 0..<d { cur[j] = x[j] + min(max(cur[j] - x[j], -eta), eta) }
                }
            }
            for j in 0..<d { cur[j] = min(max(cur[j], 0), 1) }
        }
        return cur
    }

    func check(_ name: String, eta: Float, _ configure: (inout AttackConfig) -> Void, images n: Int = 8,
               maxOffPixels: Int = 0) throws {
        let (images, labels) = try e2e.loadImages(n)
        let model = try e2e.loadModel()
        var config = EvaluationConfig(eta: eta, attackSamples: 2, inferenceSamples: 2, seed: 21)
        config.fresh = false
        configure(&config.attack)
        XCTAssertNil(config.attack.problem)
        let evaluator = try Evaluator(model: model, configs: [config], arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: [config]).bytes))
        var moved = 0
        for (i, image) in images.enumerated() {
            let y = Int(labels[i])
            evaluator.input.update(from: image, count: 784)
            let r = evaluator.evaluate(index: i, label: y)
            let x = image.map(Double.init)
            let expected = referenceAdversarial(model, config, image: i, x: x, label: y)
            var off = 0, worst = 0.0
            for j in 0..<784 {
                let err = abs(Double(evaluator.adversarialInput(configuration: 0)[j]) - expected[j])
                if err > 2e-3 { off += 1 } else { worst = max(worst, err) }
            }
            XCTAssertLessThanOrEqual(off, maxOffPixels, "\(name) image \(i): \(off) pixels differ from the reference")
            if r.deltaNorm > 0 { moved += 1 }
            if let t = config.attack.target.resolve(label: y, classes: 10) { XCTAssertEqual(r.target, t) } else { XCTAssertEqual(r.target, -1) }
        }
        XCTAssertGreaterThan(moved, 0, "\(name): no image was perturbed")
    }

    func testFGSM() throws {
        // sign steps: a pixel whose gradient is ~0 may take the other sign in float32
        try check("fgsm", eta: 0.05, { $0.method = .fgsm; $0.norm = .linf }, maxOffPixels: 2)
    }
    func testFGMMarginTargeted() throws { try check("fgm margin next", eta: 1.0, { $0.loss = .margin; $0.target = .next }) }
    func testFGMCarliniWagner() throws { try check("fgm cw", eta: 1.0, { $0.loss = .cw }) }
    func testFGMCarliniWagnerTargeted() throws { try check("fgm cw target 3", eta: 1.0, { $0.loss = .cw; $0.target = .fixed(3) }, images: 8) }
    // 8 steps of η/5 go beyond η: the projection acts
    func testPGDL2() throws { try check("pgd l2", eta: 1.0, { $0.method = .pgd; $0.pgdSteps = 8 }) }
    func testPGDLinfMargin() throws {
        try check("pgd linf margin", eta: 0.05, { $0.method = .pgd; $0.norm = .linf; $0.loss = .margin; $0.pgdSteps = 3; $0.pgdStepSize = 0.02 },
                  maxOffPixels: 4)
    }

    func testPGDRandomStartStaysInTheBall() throws {
        let (images, labels) = try e2e.loadImages(4)
        let model = try e2e.loadModel()
        for norm in [AttackNorm.l2, .linf] {
            var config = EvaluationConfig(eta: norm == .l2 ? 1.0 : 0.05, attackSamples: 2, inferenceSamples: 2, seed: 3)
            config.attack.method = .pgd; config.attack.norm = norm; config.attack.randomStart = true; config.attack.pgdSteps = 2
            let ev = try Evaluator(model: model, configs: [config], arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: [config]).bytes))
            for (i, image) in images.enumerated() {
                ev.input.update(from: image, count: 784)
                let r = ev.evaluate(index: i, label: Int(labels[i]))
                if norm == .l2 { XCTAssertLessThanOrEqual(r.deltaNorm, 1.0 + 1e-5) } else { XCTAssertLessThanOrEqual(r.deltaLinf, 0.05 + 1e-6) }
                XCTAssertGreaterThan(r.deltaNorm, 0)
                XCTAssertGreaterThanOrEqual(r.attackPrediction, 0)
            }
        }
    }

    func testConflictingAttackFlagsAreNamed() {
        var a = AttackConfig(); a.method = .fgm; a.norm = .linf
        XCTAssertNotNil(a.problem)
        a = AttackConfig(); a.method = .fgsm; a.norm = .l2
        XCTAssertNotNil(a.problem)
        a = AttackConfig(); a.method = .pgd; a.norm = .linf; a.loss = .cw
        XCTAssertTrue(a.problem?.contains("cw") == true)
        a = AttackConfig(); a.method = .pgd; a.pgdSteps = 0
        XCTAssertTrue(a.problem?.contains("pgd-steps") == true)
    }
}
