import Foundation
import SNNModels
import SNNRuntime

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
extension Evaluator {
    /// Every distinct attack of the plan: x_adv and δ into row a of xadvs / deltas, the attack
    /// fields of the result into outcomes[a].
    func runAttacks(index: Int, label y: Int) {
        for (a, cfg) in plan.attacks.enumerated() {
            if plan.usePrefixes {
                if plan.passStart[a] {
                    // one pass over the set's largest S_A; the direction of each S_A is copied out
                    let f = plan.passFirstRow[a]
                    direction(cfg, samples: plan.passSamples[a], at: b.x, index: index, step: 0, label: y,
                              target: cfg.attack.target.resolve(label: y, classes: k),
                              prefixes: DirectionPrefixes(sizes: b.prefixSizes + f, count: plan.passRows[a], g: b.prefixG + f * d,
                                                          p: b.prefixP + f * k))
                }
                b.g.update(from: b.prefixG + plan.prefixRow[a] * d, count: d)
                b.pA.update(from: b.prefixP + plan.prefixRow[a] * k, count: k)
            }
            var r = ImageResult()
            runAttack(cfg, attack: a, index: index, label: y, into: &r, reuseDirection: plan.usePrefixes || plan.sharesDirection[a])
            b.outcomes[a] = r
        }
    }

    /// Attack `a` of the plan (configuration `cfg`): the iterate lives in row a of xadvs.
    /// `reuseDirection`: FGM/FGSM only — g and f^A at x are already in the buffers (a prefix
    /// pass, or the previous attack with the same S_A and set: the direction does not depend on η).
    func runAttack(_ cfg: EvaluationConfig, attack a: Int, index: Int, label y: Int, into r: inout ImageResult, reuseDirection: Bool) {
        let atk = cfg.attack, eta = cfg.eta
        let target = atk.target.resolve(label: y, classes: k)
        r.target = target ?? -1
        let pgd = atk.method == .pgd
        let xadv = b.xadvs + a * d
        xadv.update(from: b.x, count: d)
        if pgd && atk.randomStart {
            randomStart(cfg, index: index, into: xadv)
            r.attackPrediction = attackPrediction(cfg, at: b.x, index: index)
        }
        let steps = pgd ? atk.pgdSteps : 1
        let stepSize = pgd ? atk.stepSize(eta: eta) : eta
        for t in 0..<steps {
            if !(reuseDirection && !pgd) {
                direction(cfg, samples: cfg.attackSamples, at: xadv, index: index, step: t, label: y, target: target)
            }
            if t == 0 && !(pgd && atk.randomStart) { r.attackPrediction = argmax(b.pA) }  // f^A(x): step 0 is at x
            // x_{t+1} = x_t + ν·(g/‖g‖ | sign g); a zero gradient gives no step (docs/METHOD.md §PGD)
            AttackStep.step(xadv, along: b.g, length: stepSize, norm: atk.norm, count: d)
            if pgd { AttackStep.project(xadv, around: b.x, eta: eta, norm: atk.norm, count: d) }
            AttackStep.clip(xadv, count: d)
        }
        let norms = AttackStep.delta(b.deltas + a * d, from: b.x, to: xadv, count: d)
        r.deltaNorm = norms.l2; r.deltaLinf = norms.linf
    }

    /// x_0 = clip(x + u) with u uniform in the η-ball: L∞ per pixel U(−η, η); L2 a normal direction
    /// scaled to η·U^{1/d}. Drawn from the attack stream of the image (sample field 0xFFFF_FFFF).
    func randomStart(_ cfg: EvaluationConfig, index: Int, into xadv: UnsafeMutablePointer<Float>) {
        let eta = cfg.eta, x = b.x, g = b.g
        let address = cfg.address(.attack, image: index, sample: Int(RandomReservations.randomStartSample))
        switch cfg.attack.norm {
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
        AttackStep.clip(xadv, count: d)
    }

    /// f^A(x) with the step-0 attack set (only needed when PGD starts away from x).
    func attackPrediction(_ cfg: EvaluationConfig, at point: UnsafePointer<Float>, index: Int) -> Int {
        zero(b.pA, k)
        for s in 0..<cfg.attackSamples {
            ws.sample(cfg.address(.attack, image: index, sample: s, step: 0))
            ws.input(row: 0).update(from: point, count: d)
            Vec.axpy(1, ws.forward(rows: 1).row(0), b.pA, k)
        }
        return argmax(b.pA)
    }

    /// g ← ascent direction of the attacker's objective at `point` over the first `samples` samples
    /// of attack set `step` (step `step` of the attack stream of `cfg`); pA ← Σ_s f(point, θ_s).
    /// `prefixes` (cross-entropy only): the direction is a plain sum over samples, so with nested
    /// sets every smaller S_A's direction is a prefix of this pass; they are copied out on the way.
    func direction(_ cfg: EvaluationConfig, samples S: Int, at point: UnsafePointer<Float>, index: Int, step: Int, label y: Int,
                   target: Int?, prefixes: DirectionPrefixes? = nil) {
        let loss = cfg.attack.loss
        let g = b.g, pA = b.pA, gradRow = b.gradRow, attackCot = b.attackCot, logMean = b.logMean
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
            ws.sample(cfg.address(.attack, image: index, sample: s, step: step))
            ws.input(row: 0).update(from: point, count: d)
            return UnsafePointer(ws.forward(rows: 1).row(0))
        }
        if loss == .ce {
            zero(attackCot, k)
            if let t = target { attackCot[t] = 1 } else { attackCot[y] = -1 }
            var next = 0
            for s in 0..<S {
                Vec.axpy(1, realize(s), pA, k)
                addVJP()
                if let q = prefixes, next < q.count, q.sizes[next] == s + 1 {
                    (q.g + next * d).update(from: g, count: d)
                    deferring?.addDeferredMean(into: Matrix(q.g + next * d, rows: 1, cols: d))
                    (q.p + next * k).update(from: pA, count: k)
                    next += 1
                }
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

/// Where `direction` copies the cross-entropy direction g and Σ f after the first sizes[i] samples
/// (ascending), for i < count: rows of d and k floats.
struct DirectionPrefixes {
    let sizes: UnsafePointer<Int>, count: Int
    let g: UnsafeMutablePointer<Float>, p: UnsafeMutablePointer<Float>
}
