import SNNModels
import SNNRuntime

/// Executes an `EvaluationPlan` for one image at a time: every configuration of a sweep
/// (η × S_A × S_I, docs/METHOD.md §Nested and independent sets; one configuration is a sweep of
/// one), sharing the work that does not depend on the configuration. One evaluator per worker; its
/// buffers (`EvaluationBuffers`) and the model's workspace come from its arena at start-up, so
/// evaluating an image allocates nothing.
///
///   attacks    one per distinct (η, S_A, attack set) (Evaluator+Attack.swift); FGM/FGSM compute the
///              direction at x once per (S_A, set), with cross-entropy as prefixes of one pass
///   inference  one pass over max S_I realizations per inference set: each realization is drawn
///              once and gives f(x), f(x_adv) for every attack (one forward of 1 + A rows) and the
///              margin-gradient information; sums are read off at each requested S_I (nested sets)
///   fresh      likewise one pass, f(x_adv) for every attack
///   variance   (1/V) Σ_v (f_y(x, θ_v) − f̄_y)² over the variance role
///
/// Margin gradients: with the full Jacobian (k VJPs per realization, the MLP's choice or any sweep
/// with many attacks) d_c = ⟨∇m_c, δ⟩ comes from the averaged Jacobian, J̄δ = mean_s J_s δ (the
/// JVP is linear), so one Jacobian serves every δ. With two passes (the WRN's choice for few
/// attacks) the first pass takes one JVP per attack; the second pass re-draws the realizations and
/// takes one VJP with cotangent e_y − e_c per class c that some configuration needs (j, j′).
///
/// A configuration's line is the same whatever else the sweep holds: each uses the same
/// realizations and sums in the same order as when it is run alone (checked against the naive
/// one-configuration evaluator kept in the tests, ReferenceImageEvaluator).
public final class Evaluator {
    public let plan: EvaluationPlan
    public let model: any StochasticClassifier
    public var configs: [EvaluationConfig] { plan.configs }
    public var strategy: GradientStrategy { plan.strategy }
    let ws: any ClassifierWorkspace
    /// `ws` when it can defer the realization-independent part of a sum of VJPs (the lazy MLP).
    let deferring: (any DeferringVJPWorkspace)?
    /// The arena every buffer points into: held so it lives as long as the evaluator.
    let arena: Arena
    let b: EvaluationBuffers
    let d: Int, k: Int

    /// Arena bytes of one evaluator: the model's workspace (x and one x_adv row per attack) and the
    /// buffers, O((attacks + configurations) · (d + k) + k · d).
    public static func memoryPlan(model: any StochasticClassifier, plan: EvaluationPlan) -> MemoryPlan {
        var m = model.workspacePlan(rows: plan.workspaceRows, cotangents: model.classCount)
        m.add(EvaluationBuffers.layout(plan, d: model.inputSize, k: model.classCount))
        return m
    }

    public static func memoryPlan(model: any StochasticClassifier, configs: [EvaluationConfig]) -> MemoryPlan {
        memoryPlan(model: model, plan: EvaluationPlan(configs: configs, model: model))
    }

    public init(model: any StochasticClassifier, plan: EvaluationPlan, arena: Arena) throws {
        self.model = model; self.plan = plan; self.arena = arena
        d = model.inputSize; k = model.classCount
        ws = try model.makeWorkspace(arena: arena, rows: plan.workspaceRows, cotangents: k)
        deferring = ws as? any DeferringVJPWorkspace
        b = try EvaluationBuffers(plan, d: d, k: k, arena: arena)
    }

    /// `strategy`: nil takes the plan's choice (tests force either).
    public convenience init(model: any StochasticClassifier, configs: [EvaluationConfig], arena: Arena,
                            strategy: GradientStrategy? = nil) throws {
        try self.init(model: model, plan: EvaluationPlan(configs: configs, model: model, strategy: strategy), arena: arena)
    }

    /// The input buffer to fill with the image (pixel space [0, 1]) before `evaluate`.
    public var input: UnsafeMutablePointer<Float> { b.x }

    /// x_adv of configuration `c` (pixel space, clipped to [0, 1]) after the last `evaluate`; for
    /// η = 0 the image itself. Read-only, valid until the next `evaluate`.
    public func adversarialInput(configuration c: Int) -> UnsafePointer<Float> {
        UnsafePointer(plan.attackOf[c] >= 0 ? b.xadvs + plan.attackOf[c] * d : b.x)
    }

    /// Writes one result per configuration, in the order of `configs`, to `results`.
    public func evaluate(index: Int, label y: Int, into results: UnsafeMutablePointer<ImageResult>) {
        for (c, cfg) in configs.enumerated() {
            var r = ImageResult()
            r.index = index; r.label = y; r.eta = cfg.eta
            r.attackSamples = cfg.attackSamples; r.inferenceSamples = cfg.inferenceSamples
            r.attack = cfg.attack
            results[c] = r
        }
        runAttacks(index: index, label: y)
        for c in configs.indices where plan.attackOf[c] >= 0 {
            let o = b.outcomes[plan.attackOf[c]]
            results[c].attackPrediction = o.attackPrediction; results[c].target = o.target
            results[c].deltaNorm = o.deltaNorm; results[c].deltaLinf = o.deltaLinf
        }
        for g in plan.groups.indices { infer(group: g, index: index, label: y, results: results) }
        if configs[0].varianceSamples > 0 {
            let v = predictionVariance(configs[0], index: index, label: y)
            for c in configs.indices { results[c].predictionVariance = v }
        }
    }

    /// The result of a one-configuration evaluator (a sweep of one).
    public func evaluate(index: Int, label y: Int) -> ImageResult {
        precondition(configs.count == 1, "evaluate(index:label:) needs one configuration; use evaluate(index:label:into:)")
        evaluate(index: index, label: y, into: b.results)
        return b.results[0]
    }

    /// (1/V) Σ_v (f_y(x, θ_v) − f̄_y)² over V = varianceSamples samples of role `variance` (docs/METHOD.md §Prediction variance).
    func predictionVariance(_ cfg: EvaluationConfig, index: Int, label y: Int) -> Float {
        var sum = 0.0, sumSq = 0.0
        let V = cfg.varianceSamples
        for s in 0..<V {
            ws.sample(cfg.address(.variance, image: index, sample: s))
            ws.input(row: 0).update(from: b.x, count: d)
            let f = Double(ws.forward(rows: 1)[0, y])
            sum += f; sumSq += f * f
        }
        let mean = sum / Double(V)
        return Float(max(sumSq / Double(V) - mean * mean, 0))
    }

    /// The inference (and fresh) passes of one inference-set group.
    func infer(group g: Int, index: Int, label y: Int, results: UnsafeMutablePointer<ImageResult>) {
        let group = plan.groups[g], A = plan.attacks.count
        let cfg0 = configs[group.configs[0]]
        let maxS = group.sizes.last!
        let anyAttack = group.configs.contains { plan.attackOf[$0] >= 0 }
        let full = strategy == .fullJacobian
        zero(b.pI, k); zero(b.pAdv, A * k); zero(b.dSum, A * k)
        if anyAttack && full { zero(b.jac, k * d); deferring?.clearDeferredMean() }
        let identity = Matrix(b.identity, rows: k, cols: k)
        let jacOut = Matrix(b.jacSample, rows: k, cols: d)
        var extreme = 0, next = 0
        for s in 0..<maxS {
            ws.sample(cfg0.address(.inference, image: index, sample: s))
            ws.input(row: 0).update(from: b.x, count: d)
            if anyAttack { for a in 0..<A { ws.input(row: 1 + a).update(from: b.xadvs + a * d, count: d) } }
            let p = ws.forward(rows: anyAttack ? 1 + A : 1)
            Vec.axpy(1, p.row(0), b.pI, k)
            if cfg0.countExtreme {
                var top: Float = 0
                for c in 0..<k { top = max(top, p[0, c]) }
                if top == 1 { extreme += 1 }
            }
            if anyAttack {
                for a in 0..<A { Vec.axpy(1, p.row(1 + a), b.pAdv + a * k, k) }
                if full {
                    if let dws = deferring { dws.vjpDeferringMean(cotangents: identity, into: jacOut) }
                    else { ws.vjp(cotangents: identity, into: jacOut) }
                    Vec.axpy(1, b.jacSample, b.jac, k * d)
                } else {
                    for a in 0..<A { Vec.axpy(1, ws.jvp(tangent: b.deltas + a * d), b.dSum + a * k, k) }
                }
            }
            if s + 1 == group.sizes[next] {
                // the Jacobian sum so far = jac + the deferred part, read into jacSample (free here)
                var jacRead = UnsafePointer(b.jac)
                if anyAttack && full, let dws = deferring {
                    b.jacSample.update(from: b.jac, count: k * d)
                    dws.addDeferredMean(into: jacOut)
                    jacRead = UnsafePointer(b.jacSample)
                }
                snapshot(group: g, jacobian: jacRead, size: s + 1, extreme: extreme, label: y, results: results)
                next += 1
            }
        }
        if anyAttack && !full { secondPass(group: g, index: index, label: y) }
        for c in group.configs where plan.attackOf[c] >= 0 { finish(config: c, result: &results[c]) }
        if cfg0.fresh && anyAttack { fresh(group: g, index: index, results: results) }
    }

    /// Reads the sums after `size` realizations into every configuration of the group with S_I = size.
    /// `jac` is the Jacobian sum over the first S realizations (full strategy only).
    func snapshot(group g: Int, jacobian jac: UnsafePointer<Float>, size S: Int, extreme: Int, label y: Int, results: UnsafeMutablePointer<ImageResult>) {
        let inv = 1 / Float(S), full = strategy == .fullJacobian
        var normsOf = -1   // the configuration whose norms (which depend on S only) are computed
        for c in plan.groups[g].configs where configs[c].inferenceSamples == S {
            let cp = b.pClean + c * k
            for i in 0..<k { cp[i] = b.pI[i] * inv }
            results[c].cleanPrediction = argmax(cp)
            results[c].cleanProbability = cp[y]
            if configs[c].countExtreme { results[c].extremeSamples = extreme }
            let a = plan.attackOf[c]
            guard a >= 0 else { continue }
            for i in 0..<k { b.scratchK[i] = b.pAdv[a * k + i] * inv }
            results[c].adversarialPrediction = argmax(b.scratchK)
            let m = b.margins + c * k, dr = b.dirs + c * k, nr = b.norms + c * k
            for i in 0..<k { m[i] = cp[y] - cp[i] }
            if full {
                // J̄ = jac/S; d_c = (J̄_y − J̄_c)·δ and ‖∇m_c‖ = ‖J̄_y − J̄_c‖
                let delta = b.deltas + a * d
                for i in 0..<k { b.jd[i] = Vec.dot(jac + i * d, delta, d) * inv }
                for i in 0..<k { dr[i] = b.jd[y] - b.jd[i] }
                if normsOf < 0 { marginGradientNorms(jac, S: S, label: y, into: nr); normsOf = c }
                else { nr.update(from: b.norms + normsOf * k, count: k) }
            } else {
                for i in 0..<k { dr[i] = (b.dSum[a * k + y] - b.dSum[a * k + i]) * inv }
                markNeeded(config: c, label: y, deltaNorm: results[c].deltaNorm)
            }
        }
    }

    /// ‖∇m_c‖ = ‖J̄_y − J̄_c‖ from the Jacobian sum of S realizations.
    func marginGradientNorms(_ jac: UnsafePointer<Float>, S: Int, label y: Int, into nr: UnsafeMutablePointer<Float>) {
        let inv = 1 / Float(S)
        let jy = jac + y * d
        for c in 0..<k {
            if c == y { nr[c] = 0; continue }
            let jc = jac + c * d
            var ss: Float = 0
            for i in 0..<d { let t = (jy[i] - jc[i]) * inv; ss += t * t }
            nr[c] = ss.squareRoot()
        }
    }

    /// Two passes: j = argmin r̃_c and j′ = argmin m_c need no gradient, only ‖∇m_j‖ and ‖∇m_j′‖;
    /// if every r̃_c is ∞, j = argmin cos α_c needs every class.
    func markNeeded(config c: Int, label y: Int, deltaNorm: Float) {
        let m = b.margins + c * k, dr = b.dirs + c * k, nd = b.needed + c * k
        for i in 0..<k { nd[i] = false }
        var j = -1, minR = Float.infinity, j2 = -1
        for i in 0..<k where i != y {
            let rc = deltaNorm == 0 ? Float.infinity : Conditions.linearRadius(margin: m[i], directional: dr[i], deltaNorm: deltaNorm)
            if rc < minR { minR = rc; j = i }
            if j2 < 0 || m[i] < m[j2] { j2 = i }
        }
        if j >= 0 { nd[j] = true; nd[j2] = true } else { for i in 0..<k where i != y { nd[i] = true } }
    }

    /// The second pass of two passes: the same realizations, one VJP with cotangent e_y − e_c for
    /// every class some configuration of the group needs; ‖Σ_s ∇(f_y − f_c)‖/S at each S_I.
    func secondPass(group g: Int, index: Int, label y: Int) {
        let group = plan.groups[g], cfg0 = configs[group.configs[0]]
        // cotangent row r is e_y − e_c for class c = rowClass[r], the union of the needed classes
        var rows = 0
        for i in 0..<k where i != y && group.configs.contains(where: { b.needed[$0 * k + i] }) {
            b.rowClass[rows] = i; rows += 1
        }
        guard rows > 0 else { return }
        zero(b.pairCot, rows * k)
        for r in 0..<rows { b.pairCot[r * k + y] = 1; b.pairCot[r * k + b.rowClass[r]] = -1 }
        zero(b.jac, rows * d)
        let cotM = Matrix(b.pairCot, rows: rows, cols: k)
        let out = Matrix(b.jacSample, rows: rows, cols: d)
        deferring?.clearDeferredMean()
        var next = 0
        for s in 0..<group.sizes.last! {
            ws.sample(cfg0.address(.inference, image: index, sample: s))
            ws.input(row: 0).update(from: b.x, count: d)
            _ = ws.forward(rows: 1)
            if let dws = deferring { dws.vjpDeferringMean(cotangents: cotM, into: out) } else { ws.vjp(cotangents: cotM, into: out) }
            Vec.axpy(1, b.jacSample, b.jac, rows * d)
            if s + 1 == group.sizes[next] {
                // the sum so far = jac + the deferred part, read into jacSample (free here)
                b.jacSample.update(from: b.jac, count: rows * d)
                deferring?.addDeferredMean(into: out)
                let inv = 1 / Float(s + 1)
                for c in group.configs where configs[c].inferenceSamples == s + 1 && plan.attackOf[c] >= 0 {
                    let nr = b.norms + c * k
                    for i in 0..<k { nr[i] = .nan }
                    for r in 0..<rows where b.needed[c * k + b.rowClass[r]] {
                        nr[b.rowClass[r]] = Vec.norm(b.jacSample + r * d, d) * inv
                    }
                }
                next += 1
            }
        }
    }

    /// Conditions, cos α and gradient norms of configuration c from its margins, d_c and norms.
    func finish(config c: Int, result r: inout ImageResult) {
        r.setConditions(classes: k, margins: b.margins + c * k, directional: b.dirs + c * k, gradNorms: b.norms + c * k,
                        lipschitz: model.smoothness)
    }

    /// f(x_adv) with the fresh set (role `fresh`), every attack in one forward per realization.
    func fresh(group g: Int, index: Int, results: UnsafeMutablePointer<ImageResult>) {
        let group = plan.groups[g], A = plan.attacks.count, cfg0 = configs[group.configs[0]]
        zero(b.pFresh, A * k)
        var next = 0
        for s in 0..<group.sizes.last! {
            ws.sample(cfg0.address(.fresh, image: index, sample: s))
            for a in 0..<A { ws.input(row: a).update(from: b.xadvs + a * d, count: d) }
            let p = ws.forward(rows: A)
            for a in 0..<A { Vec.axpy(1, p.row(a), b.pFresh + a * k, k) }
            if s + 1 == group.sizes[next] {
                for c in group.configs where configs[c].inferenceSamples == s + 1 && plan.attackOf[c] >= 0 {
                    results[c].freshAdversarialPrediction = argmax(b.pFresh + plan.attackOf[c] * k)
                }
                next += 1
            }
        }
    }

    @inline(__always) func zero(_ p: UnsafeMutablePointer<Float>, _ n: Int) { p.update(repeating: 0, count: n) }
    /// argmax with ties to the lowest index (docs/METHOD.md §Conventions).
    @inline(__always) func argmax(_ p: UnsafePointer<Float>) -> Int {
        var best = 0
        for c in 1..<k where p[c] > p[best] { best = c }
        return best
    }
}
