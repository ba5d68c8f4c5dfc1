import SNNModels
import SNNRuntime

/// Runs the whole per-image procedure (docs/METHOD.md §Attacks to §Extreme predictions) for one configuration (the attacks are in
/// ImageEvaluator+Attack.swift). One evaluator per worker; all buffers come from its
/// arena at start-up, so evaluating an image allocates nothing.
///
///   attack set A (S_A samples, a fresh set per PGD step): f^A(x) and the loss gradient → δ, clipped
///   inference set I (S_I samples), per sample: f(x), f(x_adv), ∂f(x)·δ (JVP), ∂f(x) (k VJPs)
///   fresh set (S_I samples): f(x_adv)
/// For the MLP the full k×d Jacobian per sample is cheaper than regenerating the realization for
/// a second pass (drawing the weights dominates), so every class's ∇m_c comes from one pass.
public final class ImageEvaluator {
    public let model: any StochasticClassifier
    /// The configuration of the next `evaluate` (buffers do not depend on η, S_A or S_I, so one
    /// evaluator serves every configuration of a sweep).
    public var config: EvaluationConfig
    let ws: any ClassifierWorkspace
    /// `ws` when it can defer the realization-independent part of a sum of VJPs (the lazy MLP).
    let deferring: (any DeferringVJPWorkspace)?
    /// The arena every buffer below points into: held so it lives as long as the evaluator.
    let arena: Arena
    let d: Int, k: Int
    let x, xadv, delta, g, gradRow, jac, jacSample, cot, pairCot, pA, pI, pIadv, pF, dI, margins, dirs, norms: UnsafeMutablePointer<Float>
    let attackCot, logMean: UnsafeMutablePointer<Float>
    /// Full Jacobian in one pass, or two passes (defaults to the model's preference).
    public var strategy: GradientStrategy

    /// Arena bytes one evaluator needs (workspace + its own buffers).
    /// `rows`: primal rows of the workspace (2: x and x_adv; a sweep needs 1 + its attacks).
    public static func plan(model: any StochasticClassifier, rows: Int = 2) -> MemoryPlan {
        let d = model.inputSize, k = model.classCount
        var plan = model.workspacePlan(rows: max(rows, 2), cotangents: k)
        plan.add(MemoryPlan.evaluatorBuffers(d: d, k: k))
        return plan
    }

    public init(model: any StochasticClassifier, config: EvaluationConfig, arena: Arena, rows: Int = 2) throws {
        self.model = model; self.config = config; self.arena = arena
        d = model.inputSize; k = model.classCount
        ws = try model.makeWorkspace(arena: arena, rows: max(rows, 2), cotangents: k)
        deferring = ws as? any DeferringVJPWorkspace
        let b = try MemoryPlan.evaluatorBuffers(d: d, k: k).allocate(in: arena)
        x = b["x"]!; xadv = b["x_adv"]!; delta = b["delta"]!; g = b["attack_grad"]!; gradRow = b["grad_row"]!
        jac = b["jacobian"]!; jacSample = b["jacobian_sample"]!; cot = b["cotangents"]!; pairCot = b["pair_cotangents"]!
        strategy = model.gradientStrategy
        pA = b["p_attack"]!; pI = b["p_inference"]!; pIadv = b["p_inference_adv"]!; pF = b["p_fresh"]!; dI = b["jvp_sum"]!
        margins = b["margins"]!; dirs = b["directional"]!; norms = b["grad_norms"]!
        attackCot = b["attack_cotangent"]!; logMean = b["attack_log_mean"]!
        for c in 0..<k { cot[c * k + c] = 1 }
    }

    /// The input buffer to fill with the image (pixel space [0, 1]) before `evaluate`.
    public var input: UnsafeMutablePointer<Float> { x }

    /// The attack part of the last result, reused by `evaluate(…, reuseAttack: true)`.
    var lastAttack = ImageResult()

    /// `reuseAttack`: the previous call was the same image with the same η, S_A and attack (a sweep
    /// over S_I): δ is still in the buffers, so only the inference part runs again.
    public func evaluate(index: Int, label y: Int, reuseAttack: Bool = false) -> ImageResult {
        var r = ImageResult()
        r.index = index; r.label = y; r.eta = config.eta
        r.attackSamples = config.attackSamples; r.inferenceSamples = config.inferenceSamples
        r.attack = config.attack
        let attack = config.eta > 0
        if attack {
            if reuseAttack && lastAttack.index == index && lastAttack.attacked {
                r.attackPrediction = lastAttack.attackPrediction; r.target = lastAttack.target
                r.deltaNorm = lastAttack.deltaNorm; r.deltaLinf = lastAttack.deltaLinf
            } else {
                runAttack(index: index, label: y, into: &r)
                lastAttack = r
            }
        }
        runInference(index: index, label: y, attack: attack, into: &r)
        if attack && config.fresh { r.freshAdversarialPrediction = runFresh(index: index) }
        if config.varianceSamples > 0 { r.predictionVariance = predictionVariance(index: index, label: y) }
        return r
    }

    /// (1/V) Σ_v (f_y(x, θ_v) − f̄_y)² over V = varianceSamples samples of role `variance` (docs/METHOD.md §Prediction variance).
    func predictionVariance(index: Int, label y: Int) -> Float {
        var sum = 0.0, sumSq = 0.0
        let V = config.varianceSamples
        for s in 0..<V {
            ws.sample(config.address(.variance, image: index, sample: s))
            ws.input(row: 0).update(from: x, count: d)
            let f = Double(ws.forward(rows: 1)[0, y])
            sum += f; sumSq += f * f
        }
        let mean = sum / Double(V)
        return Float(max(sumSq / Double(V) - mean * mean, 0))
    }

    func runInference(index: Int, label y: Int, attack: Bool, into r: inout ImageResult) {
        zero(pI, k); zero(pIadv, k); zero(dI, k)
        var extreme = 0
        defer { if config.countExtreme { r.extremeSamples = extreme } }
        if attack { zero(jac, k * d) }
        let rows = attack ? 2 : 1
        let identity = Matrix(cot, rows: k, cols: k)
        let jacOut = Matrix(jacSample, rows: k, cols: d)
        for s in 0..<config.inferenceSamples {
            ws.sample(config.address(.inference, image: index, sample: s))
            ws.input(row: 0).update(from: x, count: d)
            if attack { ws.input(row: 1).update(from: xadv, count: d) }
            let p = ws.forward(rows: rows)
            Vec.axpy(1, p.row(0), pI, k)
            if config.countExtreme {
                var top: Float = 0
                for c in 0..<k { top = max(top, p[0, c]) }
                if top == 1 { extreme += 1 }
            }
            if attack {
                Vec.axpy(1, p.row(1), pIadv, k)
                Vec.axpy(1, ws.jvp(tangent: delta), dI, k)
                if strategy == .fullJacobian {
                    ws.vjp(cotangents: identity, into: jacOut)
                    Vec.axpy(1, jacSample, jac, k * d)
                }
            }
        }
        let inv = 1 / Float(config.inferenceSamples)
        Vec.scale(pI, inv, k)
        r.cleanPrediction = argmax(pI)
        r.cleanProbability = pI[y]
        guard attack else { return }
        Vec.scale(pIadv, inv, k); Vec.scale(dI, inv, k)
        r.adversarialPrediction = argmax(pIadv)
        // m_c and d_c = ⟨∇m_c, δ⟩ (from the JVP)
        for c in 0..<k {
            margins[c] = pI[y] - pI[c]
            dirs[c] = dI[y] - dI[c]
        }
        var full = strategy == .fullJacobian
        if !full {
            // j = argmin r̃_c and j' = argmin m_c need no gradient; ‖∇m_j‖, ‖∇m_j'‖ come from a second
            // pass. If every r̃_c is ∞, j = argmin cos α_c needs every norm: fall back to the Jacobian.
            var j = -1, minR = Float.infinity, j2 = -1
            for c in 0..<k where c != y {
                let rc = r.deltaNorm == 0 ? Float.infinity
                    : Conditions.linearRadius(margin: margins[c], directional: dirs[c], deltaNorm: r.deltaNorm)
                if rc < minR { minR = rc; j = c }
                if j2 < 0 || margins[c] < margins[j2] { j2 = c }
            }
            if j >= 0 {
                secondPass(index: index, label: y, classes: j, j2)
            } else {
                full = true
                zero(jac, k * d)
                for s in 0..<config.inferenceSamples {
                    ws.sample(config.address(.inference, image: index, sample: s))
                    ws.input(row: 0).update(from: x, count: d)
                    _ = ws.forward(rows: 1)
                    ws.vjp(cotangents: identity, into: jacOut)
                    Vec.axpy(1, jacSample, jac, k * d)
                }
            }
        }
        if full {
            // ‖∇m_c‖ with ∇m_c = J_y − J_c from the averaged Jacobian
            Vec.scale(jac, inv, k * d)
            let jy = jac + y * d
            for c in 0..<k {
                if c == y { norms[c] = 0; continue }
                let jc = jac + c * d
                var ss: Float = 0
                for i in 0..<d { let t = jy[i] - jc[i]; ss += t * t }
                norms[c] = ss.squareRoot()
            }
        }
        r.setConditions(classes: k, margins: margins, directional: dirs, gradNorms: norms, lipschitz: model.smoothness)
    }

    /// Second pass of `.twoPass`: the same inference realizations, one VJP with cotangents
    /// e_y − e_j and e_y − e_j'; fills norms[j], norms[j'] (the other norms are not needed).
    func secondPass(index: Int, label y: Int, classes j: Int, _ j2: Int) {
        zero(pairCot, 2 * k)
        pairCot[y] = 1; pairCot[j] -= 1
        pairCot[k + y] = 1; pairCot[k + j2] -= 1
        let rows = Matrix(pairCot, rows: 2, cols: k)
        let out = Matrix(jacSample, rows: 2, cols: d)
        zero(jac, 2 * d)
        for s in 0..<config.inferenceSamples {
            ws.sample(config.address(.inference, image: index, sample: s))
            ws.input(row: 0).update(from: x, count: d)
            _ = ws.forward(rows: 1)
            ws.vjp(cotangents: rows, into: out)
            Vec.axpy(1, jacSample, jac, 2 * d)
        }
        let inv = 1 / Float(config.inferenceSamples)
        for c in 0..<k { norms[c] = .nan }
        norms[j] = Vec.norm(jac, d) * inv
        norms[j2] = Vec.norm(jac + d, d) * inv
    }

    func runFresh(index: Int) -> Int {
        zero(pF, k)
        for s in 0..<config.inferenceSamples {
            ws.sample(config.address(.fresh, image: index, sample: s))
            ws.input(row: 0).update(from: xadv, count: d)
            Vec.axpy(1, ws.forward(rows: 1).row(0), pF, k)
        }
        return argmax(pF)
    }

    /// Directional derivative check hook for tests: the averaged Jacobian of the last image.
    public var lastJacobian: UnsafePointer<Float> { UnsafePointer(jac) }
    public var lastDelta: UnsafePointer<Float> { UnsafePointer(delta) }
    public var lastDirectional: UnsafePointer<Float> { UnsafePointer(dI) }

    @inline(__always) func zero(_ p: UnsafeMutablePointer<Float>, _ n: Int) { p.update(repeating: 0, count: n) }
    /// argmax with ties to the lowest index (docs/METHOD.md §Conventions).
    @inline(__always) func argmax(_ p: UnsafePointer<Float>) -> Int {
        var best = 0
        for c in 1..<k where p[c] > p[best] { best = c }
        return best
    }
}

extension MemoryPlan {
    static func evaluatorBuffers(d: Int, k: Int) -> MemoryPlan {
        var plan = MemoryPlan()
        for (name, n) in [("x", d), ("x_adv", d), ("delta", d), ("attack_grad", d), ("grad_row", d), ("jacobian", k * d),
                          ("jacobian_sample", k * d), ("cotangents", k * k), ("pair_cotangents", 2 * k), ("p_attack", k), ("p_inference", k),
                          ("p_inference_adv", k), ("p_fresh", k), ("jvp_sum", k), ("margins", k), ("directional", k),
                          ("grad_norms", k), ("attack_cotangent", k), ("attack_log_mean", k)] {
            plan.add(name, floats: n)
        }
        return plan
    }
}
