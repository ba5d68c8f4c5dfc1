@testable import SNNRobustness
import Foundation
import SNNModels
import SNNRuntime

/// The reference the library's `Evaluator` is checked against: the naive per-image procedure
/// (docs/METHOD.md §Attacks to §Extreme predictions) for ONE configuration, each pass on its own —
/// the attack, the inference set with a per-sample JVP and its own choice of j and j′, the second
/// pass, the fresh set — with nothing shared between configurations. This was the library's
/// single-configuration evaluator before the sweep executor replaced it; it is kept frozen here.
///
///   attack set A (S_A samples, a fresh set per PGD step): f^A(x) and the loss gradient → δ, clipped
///   inference set I (S_I samples), per sample: f(x), f(x_adv), ∂f(x)·δ (JVP), ∂f(x) (k VJPs)
///   fresh set (S_I samples): f(x_adv)
/// For the MLP the full k×d Jacobian per sample is cheaper than regenerating the realization for
/// a second pass (drawing the weights dominates), so every class's ∇m_c comes from one pass.
final class ReferenceImageEvaluator {
    let model: any StochasticClassifier
    /// The configuration of the next `evaluate` (buffers do not depend on η, S_A or S_I, so one
    /// evaluator serves every configuration of a sweep).
    var config: EvaluationConfig
    let ws: any ClassifierWorkspace
    /// `ws` when it can defer the realization-independent part of a sum of VJPs (the lazy MLP).
    let deferring: (any DeferringVJPWorkspace)?
    /// The arena every buffer below points into: held so it lives as long as the evaluator.
    let arena: Arena
    let d: Int, k: Int
    let x, xadv, delta, g, gradRow, jac, jacSample, cot, pairCot, pA, pI, pIadv, pF, dI, margins, dirs, norms: UnsafeMutablePointer<Float>
    let attackCot, logMean: UnsafeMutablePointer<Float>
    /// Full Jacobian in one pass, or two passes (defaults to the model's preference).
    var strategy: GradientStrategy

    /// Arena bytes one evaluator needs (workspace + its own buffers).
    /// `rows`: primal rows of the workspace (2: x and x_adv; a sweep needs 1 + its attacks).
    static func plan(model: any StochasticClassifier, rows: Int = 2) -> MemoryPlan {
        let d = model.inputSize, k = model.classCount
        var plan = model.workspacePlan(rows: max(rows, 2), cotangents: k)
        plan.add(Self.buffers(d: d, k: k))
        return plan
    }

    init(model: any StochasticClassifier, config: EvaluationConfig, arena: Arena, rows: Int = 2) throws {
        self.model = model; self.config = config; self.arena = arena
        d = model.inputSize; k = model.classCount
        ws = try model.makeWorkspace(arena: arena, rows: max(rows, 2), cotangents: k)
        deferring = ws as? any DeferringVJPWorkspace
        let b = try Self.buffers(d: d, k: k).allocate(in: arena)
        x = b["x"]!; xadv = b["x_adv"]!; delta = b["delta"]!; g = b["attack_grad"]!; gradRow = b["grad_row"]!
        jac = b["jacobian"]!; jacSample = b["jacobian_sample"]!; cot = b["cotangents"]!; pairCot = b["pair_cotangents"]!
        strategy = model.gradientStrategy
        pA = b["p_attack"]!; pI = b["p_inference"]!; pIadv = b["p_inference_adv"]!; pF = b["p_fresh"]!; dI = b["jvp_sum"]!
        margins = b["margins"]!; dirs = b["directional"]!; norms = b["grad_norms"]!
        attackCot = b["attack_cotangent"]!; logMean = b["attack_log_mean"]!
        for c in 0..<k { cot[c * k + c] = 1 }
    }

    /// The input buffer to fill with the image (pixel space [0, 1]) before `evaluate`.
    var input: UnsafeMutablePointer<Float> { x }

    /// The attack part of the last result, reused by `evaluate(…, reuseAttack: true)`.
    var lastAttack = ImageResult()

    /// `reuseAttack`: the previous call was the same image with the same η, S_A and attack (a sweep
    /// over S_I): δ is still in the buffers, so only the inference part runs again.
    func evaluate(index: Int, label y: Int, reuseAttack: Bool = false) -> ImageResult {
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
    var lastJacobian: UnsafePointer<Float> { UnsafePointer(jac) }
    var lastDelta: UnsafePointer<Float> { UnsafePointer(delta) }
    var lastDirectional: UnsafePointer<Float> { UnsafePointer(dI) }

    @inline(__always) func zero(_ p: UnsafeMutablePointer<Float>, _ n: Int) { p.update(repeating: 0, count: n) }
    /// argmax with ties to the lowest index (docs/METHOD.md §Conventions).
    @inline(__always) func argmax(_ p: UnsafePointer<Float>) -> Int {
        var best = 0
        for c in 1..<k where p[c] > p[best] { best = c }
        return best
    }
}

extension ReferenceImageEvaluator {
    static func buffers(d: Int, k: Int) -> MemoryPlan {
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

/// The attacks of docs/METHOD.md §Attacks on the averaged prediction of an attack set A (S_A samples).
///
/// Every attack needs only an ascent direction g of the attacker's objective at a point; the
/// steps are scale-free (g/‖g‖ for L2, sign g for L∞), so positive factors such as 1/f^A_y of the
/// cross-entropy are dropped. The directions, as VJP cotangents on the probabilities of sample s:
///   ce      untargeted −e_y                     targeted +e_t                      (one pass)
///   margin  untargeted e_c* − e_y, c* = argmax_{c≠y} f^A_c; targeted e_t − e_c*, c* = argmax_{c≠t}
///   cw      untargeted e_i*/p_i* − e_y/p_y with i* = argmax_{i≠y} Z̄_i, 0 once Z̄_i* > Z̄_y;
///           targeted e_t/p_t − e_i*/p_i* with i* = argmax_{i≠t} Z̄_i, 0 once Z̄_t > Z̄_i*
/// margin and cw need f^A (or Z̄) before the class is known: a forward pass over A first, then the
/// VJP pass over the same realizations. For cw, z_i − z_j = log p_i − log p_j for one sample
/// (softmax is shift-invariant), so Z̄_i − Z̄_j is the mean of log-probability differences and the
/// cotangent e_i/p_i − e_j/p_j on the probabilities is exactly e_i − e_j on the logits. A sample
/// whose p_i or p_j underflows below the smallest normal float cannot give its logit gradient this
/// way and is left out of the sum (README: a limitation of the probability-level interface).
extension ReferenceImageEvaluator {
    /// `reuseDirection`: FGM/FGSM only — the previous call was the same image, S_A, attack set and
    /// loss, so g and f^A at x are still in the buffers (the direction does not depend on η).
    func runAttack(index: Int, label y: Int, into r: inout ImageResult, reuseDirection: Bool = false) {
        let a = config.attack, eta = config.eta
        let target = a.target.resolve(label: y, classes: k)
        r.target = target ?? -1
        let pgd = a.method == .pgd
        // the iterate lives in xadv
        xadv.update(from: x, count: d)
        if pgd && a.randomStart {
            randomStart(index: index)
            attackPrediction(at: x, index: index, into: &r)
        }
        let steps = pgd ? a.pgdSteps : 1
        let stepSize = pgd ? a.stepSize(eta: eta) : eta
        for t in 0..<steps {
            if !(reuseDirection && !pgd) { direction(at: xadv, index: index, step: t, label: y, target: target) }
            if t == 0 && !(pgd && a.randomStart) { r.attackPrediction = argmax(pA) }  // f^A(x): step 0 is at x
            // step: x_{t+1} = x_t + ν·(g/‖g‖ | sign g); a zero gradient gives no step (docs/METHOD.md §PGD)
            switch a.norm {
            case .l2:
                let n = Vec.scaledNorm(g, d)
                if n > 0 { Vec.axpy(stepSize / n, g, xadv, d) }
            case .linf:
                for i in 0..<d { xadv[i] += g[i] > 0 ? stepSize : (g[i] < 0 ? -stepSize : 0) }
            }
            if pgd { project(eta: eta, norm: a.norm) }
            for i in 0..<d { xadv[i] = min(max(xadv[i], 0), 1) }
        }
        var l2: Float = 0, linf: Float = 0
        for i in 0..<d {
            let dv = xadv[i] - x[i]
            delta[i] = dv
            l2 += dv * dv; linf = max(linf, abs(dv))
        }
        r.deltaNorm = l2.squareRoot(); r.deltaLinf = linf
    }

    /// PGD projection of the iterate onto the η-ball around x (before clipping to [0, 1]).
    func project(eta: Float, norm: AttackNorm) {
        switch norm {
        case .l2:
            var ss: Float = 0
            for i in 0..<d { let t = xadv[i] - x[i]; ss += t * t }
            let n = ss.squareRoot()
            if n > eta {
                let s = eta / n
                for i in 0..<d { xadv[i] = x[i] + s * (xadv[i] - x[i]) }
            }
        case .linf:
            for i in 0..<d { xadv[i] = x[i] + min(max(xadv[i] - x[i], -eta), eta) }
        }
    }

    /// x_0 = clip(x + u) with u uniform in the η-ball: L∞ per pixel U(−η, η); L2 a normal direction
    /// scaled to η·U^{1/d}. Drawn from the attack stream of the image (sample field 0xFFFF_FFFF).
    func randomStart(index: Int) {
        let eta = config.eta
        let address = config.address(.attack, image: index, sample: Int(UInt32.max))
        switch config.attack.norm {
        case .linf:
            var e = 0
            while e < d {
                let (u0, u1, u2, u3) = UniformStream.group(address, tensor: 0, group: e / 64)
                for c in 0..<64 where e + c < d {
                    let u: Float
                    switch c >> 4 { case 0: u = u0[c & 15]; case 1: u = u1[c & 15]; case 2: u = u2[c & 15]; default: u = u3[c & 15] }
                    xadv[e + c] = x[e + c] + eta * (2 * u - 1)
                }
                e += 64
            }
        case .l2:
            NormalStream.fill(g, count: d, address: address, tensor: 0)
            let (u0, _, _, _) = UniformStream.group(address, tensor: 1, group: 0)
            let radius = eta * pow(u0[0], 1 / Float(d))
            let n = Vec.norm(g, d)
            if n > 0 { for i in 0..<d { xadv[i] = x[i] + radius / n * g[i] } }
        }
        for i in 0..<d { xadv[i] = min(max(xadv[i], 0), 1) }
    }

    /// f^A(x) with the step-0 attack set (only needed when PGD starts away from x).
    func attackPrediction(at point: UnsafePointer<Float>, index: Int, into r: inout ImageResult) {
        zero(pA, k)
        for s in 0..<config.attackSamples {
            ws.sample(config.address(.attack, image: index, sample: s, step: 0))
            ws.input(row: 0).update(from: point, count: d)
            Vec.axpy(1, ws.forward(rows: 1).row(0), pA, k)
        }
        r.attackPrediction = argmax(pA)
    }

    /// g ← ascent direction of the attacker's objective at `point` over attack set `step`
    /// (samples at step `step` of the attack stream); pA ← Σ_s f(point, θ_s).
    func direction(at point: UnsafePointer<Float>, index: Int, step: Int, label y: Int, target: Int?) {
        let loss = config.attack.loss, S = config.attackSamples
        zero(g, d); zero(pA, k)
        let gradOut = Matrix(gradRow, rows: 1, cols: d)
        let cotRow = Matrix(attackCot, rows: 1, cols: k)
        let gSum = Matrix(g, rows: 1, cols: d)
        // Σ_s of the VJPs, the realization-independent part deferred to `flush` where possible
        func addVJP() {
            if let dws = deferring { dws.vjpDeferringMean(cotangents: cotRow, into: gradOut) } else { ws.vjp(cotangents: cotRow, into: gradOut) }
            Vec.axpy(1, gradRow, g, d)
        }
        deferring?.clearDeferredMean()
        func realize(_ s: Int) -> UnsafePointer<Float> {
            ws.sample(config.address(.attack, image: index, sample: s, step: step))
            ws.input(row: 0).update(from: point, count: d)
            return UnsafePointer(ws.forward(rows: 1).row(0))
        }
        if loss == .ce {
            zero(attackCot, k)
            if let t = target { attackCot[t] = 1 } else { attackCot[y] = -1 }
            for s in 0..<S {
                Vec.axpy(1, realize(s), pA, k)
                addVJP()
            }
            deferring?.addDeferredMean(into: gSum)
            return
        }
        // first pass: f^A (margin) or the mean log-probabilities (cw, Z̄ up to a constant)
        zero(logMean, k)
        for s in 0..<S {
            let p = realize(s)
            Vec.axpy(1, p, pA, k)
            if loss == .cw { for c in 0..<k { logMean[c] += log(p[c]) } }
        }
        let scores = loss == .cw ? logMean : pA
        let anchor = target ?? y                        // the class whose score the attack raises (t) or lowers (y)
        var other = -1
        for c in 0..<k where c != anchor && (other < 0 || scores[c] > scores[other]) { other = c }
        // (up, down): the class whose score the step raises and the one it lowers
        let (up, down) = target == nil ? (other, y) : (anchor, other)
        if loss == .cw && scores[up] > scores[down] { return }   // CW loss already 0: no gradient
        for s in 0..<S {
            let p = realize(s)
            zero(attackCot, k)
            if loss == .margin {
                attackCot[up] = 1; attackCot[down] = -1
            } else {
                guard p[up] >= .leastNormalMagnitude && p[down] >= .leastNormalMagnitude else { continue }
                attackCot[up] = 1 / p[up]; attackCot[down] = -1 / p[down]
            }
            addVJP()
        }
        deferring?.addDeferredMean(into: gSum)
    }
}
