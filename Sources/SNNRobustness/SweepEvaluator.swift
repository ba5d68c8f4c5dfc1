import SNNModels
import SNNRuntime

/// Every configuration of a sweep (η × S_A × S_I, docs/METHOD.md §Nested and independent sets) for one image, sharing the work
/// that does not depend on the configuration:
///
///   attacks    one per distinct (η, S_A, attack set); FGM/FGSM compute the direction at x once per
///              (S_A, attack set) and step it for every η (the direction does not depend on η); with
///              the cross-entropy loss the direction is a plain sum over the nested attack set, so one
///              pass over the largest S_A gives every S_A's direction as a prefix
///   inference  one pass over max S_I realizations per inference set: each realization is drawn
///              once and gives f(x), f(x_adv) for every attack (one forward of 1 + A rows) and the
///              margin-gradient information; sums are read off at each requested S_I (nested sets)
///   fresh      likewise one pass, f(x_adv) for every attack
///
/// Margin gradients: with the full Jacobian (k VJPs per realization, the MLP's choice or any sweep
/// with many attacks) d_c = ⟨∇m_c, δ⟩ comes from the averaged Jacobian, J̄δ = mean_s J_s δ (the
/// JVP is linear), so one Jacobian serves every δ. With two passes (the WRN's choice for few
/// attacks) the first pass takes one JVP per attack; the second pass re-draws the realizations and
/// takes one VJP with cotangent e_y − e_c per class c that some configuration needs (j, j').
///
/// A configuration's line is the same whatever else the sweep holds: each uses the same
/// realizations and sums in the same order as when it is run alone.
public final class SweepEvaluator {
    public let configs: [EvaluationConfig]
    public let model: any StochasticClassifier
    let e: ImageEvaluator
    let d: Int, k: Int
    /// Distinct attacks (η > 0); attackOf[c] is configuration c's attack, −1 for η = 0.
    let attacks: [EvaluationConfig]
    let attackOf: [Int]
    /// Consecutive attacks that share the direction at x (FGM/FGSM with the same S_A and set).
    let sharesDirection: [Bool]
    /// FGM/FGSM with the cross-entropy loss: directions as prefixes of one pass per attack set.
    /// prefixRow[a] is attack a's row in prefixG/prefixP; a pass starts at each attack with
    /// passStart[a] (the first of its set), over passSamples[a] samples, filling rows
    /// passFirstRow[a] ..< passFirstRow[a] + passRows[a] at the S_A values in prefixSizes.
    let usePrefixes: Bool
    let prefixRow, passFirstRow, passRows, passSamples: [Int]
    let passStart: [Bool]
    let prefixSizes: UnsafeMutablePointer<Int>
    let prefixG, prefixP: UnsafeMutablePointer<Float>
    /// Configurations grouped by inference set stream, each with its S_I values ascending.
    let groups: [(stream: UInt32, sizes: [Int], configs: [Int])]
    public let strategy: GradientStrategy
    /// The workspace when it can defer the realization-independent part of the Jacobian sum.
    let deferring: (any DeferringVJPWorkspace)?
    let arena: Arena
    let xadvs, deltas, pAdv, dSum, pFresh, pClean, margins, dirs, norms, jd: UnsafeMutablePointer<Float>
    let pairCot: UnsafeMutablePointer<Float>
    let rowClass: UnsafeMutablePointer<Int>
    let outcomes: UnsafeMutablePointer<ImageResult>
    /// Classes whose ‖∇m_c‖ the two-pass second pass must compute, per S_I value (k flags each).
    let needed: UnsafeMutablePointer<Bool>

    /// Attacks a sweep runs (distinct (η, S_A, attack set) with η > 0).
    static func distinctAttacks(_ configs: [EvaluationConfig]) -> [EvaluationConfig] {
        var out: [EvaluationConfig] = []
        for c in configs where c.eta > 0 {
            if !out.contains(where: { $0.eta == c.eta && $0.attackSamples == c.attackSamples && $0.attackSetStream == c.attackSetStream }) {
                out.append(c)
            }
        }
        // same (S_A, set) next to each other, so FGM/FGSM reuse the direction across η
        return out.enumerated().sorted { a, b in
            (a.element.attackSetStream, a.element.attackSamples, a.offset) < (b.element.attackSetStream, b.element.attackSamples, b.offset)
        }.map(\.element)
    }

    /// Arena bytes one sweep evaluator needs: the workspace grows by one input row per attack, the
    /// sweep's own buffers by O((attacks + configurations) · (d + k)).
    public static func plan(model: any StochasticClassifier, configs: [EvaluationConfig]) -> MemoryPlan {
        let a = distinctAttacks(configs).count, n = configs.count
        let d = model.inputSize, k = model.classCount
        var plan = ImageEvaluator.plan(model: model, rows: 1 + a)
        plan.add("sweep.x_adv", floats: max(a, 1) * d)
        plan.add("sweep.delta", floats: max(a, 1) * d)
        for name in ["sweep.p_adv", "sweep.jvp_sum", "sweep.p_fresh"] { plan.add(name, floats: max(a, 1) * k) }
        for name in ["sweep.p_clean", "sweep.margins", "sweep.directional", "sweep.norms"] { plan.add(name, floats: n * k) }
        plan.add("sweep.jd", floats: k)
        plan.add("sweep.cotangents", floats: k * k)
        plan.add("sweep.row_class", floats: floats(k, of: Int.self))
        plan.add("sweep.outcomes", floats: floats(max(a, 1), of: ImageResult.self))
        plan.add("sweep.needed", floats: floats(n * k, of: Bool.self))
        plan.add("sweep.prefix_sizes", floats: floats(max(a, 1), of: Int.self))
        plan.add("sweep.prefix_g", floats: max(a, 1) * d)
        plan.add("sweep.prefix_p", floats: max(a, 1) * k)
        return plan
    }

    /// Floats that hold `count` values of `T` (the plan counts floats).
    static func floats<T>(_ count: Int, of _: T.Type) -> Int { (count * MemoryLayout<T>.stride + 3) / 4 }

    /// `strategy`: nil picks the cheaper one (tests force either).
    public init(model: any StochasticClassifier, configs: [EvaluationConfig], arena: Arena, strategy: GradientStrategy? = nil) throws {
        precondition(!configs.isEmpty)
        self.model = model; self.configs = configs; self.arena = arena
        d = model.inputSize; k = model.classCount
        let atk = Self.distinctAttacks(configs)
        attacks = atk
        attackOf = configs.map { c in
            atk.firstIndex { $0.eta == c.eta && $0.attackSamples == c.attackSamples && $0.attackSetStream == c.attackSetStream } ?? -1
        }
        sharesDirection = atk.indices.map { i in
            i > 0 && atk[i].attack.method != .pgd && atk[i - 1].attackSamples == atk[i].attackSamples
                && atk[i - 1].attackSetStream == atk[i].attackSetStream
        }
        usePrefixes = !atk.isEmpty && atk[0].attack.method != .pgd && atk[0].attack.loss == .ce
        // rows: one per distinct (attack set, S_A), in the sorted order of `atk`
        var rowOf: [Int] = [], sizes: [Int] = [], firstRow: [Int] = [], rowsIn: [Int] = [], samples: [Int] = [], starts: [Bool] = []
        for (i, c) in atk.enumerated() {
            let newSet = i == 0 || atk[i - 1].attackSetStream != c.attackSetStream
            if newSet || atk[i - 1].attackSamples != c.attackSamples { sizes.append(c.attackSamples) }
            rowOf.append(sizes.count - 1)
            starts.append(newSet)
        }
        for c in atk {
            let set = atk.indices.filter { atk[$0].attackSetStream == c.attackSetStream }
            firstRow.append(rowOf[set.first!]); rowsIn.append(rowOf[set.last!] - rowOf[set.first!] + 1)
            samples.append(atk[set.last!].attackSamples)
        }
        prefixRow = rowOf; passFirstRow = firstRow; passRows = rowsIn; passSamples = samples; passStart = starts
        var gs: [(stream: UInt32, sizes: [Int], configs: [Int])] = []
        for (i, c) in configs.enumerated() {
            if let g = gs.firstIndex(where: { $0.stream == c.inferenceSetStream }) {
                gs[g].configs.append(i)
                if !gs[g].sizes.contains(c.inferenceSamples) { gs[g].sizes.append(c.inferenceSamples) }
            } else {
                gs.append((c.inferenceSetStream, [c.inferenceSamples], [i]))
            }
        }
        groups = gs.map { ($0.stream, $0.sizes.sorted(), $0.configs) }
        // The full Jacobian costs k VJPs per realization for every attack together; two passes cost
        // a JVP per attack plus a forward and ~2 VJPs: past a few attacks the Jacobian is cheaper.
        self.strategy = strategy ?? (model.gradientStrategy == .fullJacobian || atk.count >= 4 ? .fullJacobian : .twoPass)
        e = try ImageEvaluator(model: model, config: configs[0], arena: arena, rows: 1 + atk.count)
        deferring = e.deferring
        let n = configs.count, a = max(atk.count, 1)
        xadvs = try arena.allocate(a * d, of: Float.self, for: "sweep.x_adv")
        deltas = try arena.allocate(a * d, of: Float.self, for: "sweep.delta")
        pAdv = try arena.allocate(a * k, of: Float.self, for: "sweep.p_adv")
        dSum = try arena.allocate(a * k, of: Float.self, for: "sweep.jvp_sum")
        pFresh = try arena.allocate(a * k, of: Float.self, for: "sweep.p_fresh")
        pClean = try arena.allocate(n * k, of: Float.self, for: "sweep.p_clean")
        margins = try arena.allocate(n * k, of: Float.self, for: "sweep.margins")
        dirs = try arena.allocate(n * k, of: Float.self, for: "sweep.directional")
        norms = try arena.allocate(n * k, of: Float.self, for: "sweep.norms")
        jd = try arena.allocate(k, of: Float.self, for: "sweep.jd")
        pairCot = try arena.allocate(k * k, of: Float.self, for: "sweep.cotangents")
        rowClass = try arena.allocate(k, of: Int.self, for: "sweep.row_class")
        outcomes = try arena.allocate(a, of: ImageResult.self, for: "sweep.outcomes")
        outcomes.initialize(repeating: ImageResult(), count: a)
        needed = try arena.allocate(n * k, of: Bool.self, for: "sweep.needed")
        needed.initialize(repeating: false, count: n * k)
        prefixSizes = try arena.allocate(a, of: Int.self, for: "sweep.prefix_sizes")
        for (i, size) in sizes.enumerated() { prefixSizes[i] = size }
        prefixG = try arena.allocate(a * d, of: Float.self, for: "sweep.prefix_g")
        prefixP = try arena.allocate(a * k, of: Float.self, for: "sweep.prefix_p")
    }

    /// The input buffer to fill with the image (pixel space [0, 1]) before `evaluate`.
    public var input: UnsafeMutablePointer<Float> { e.x }

    /// x_adv of configuration `c` (pixel space, clipped to [0, 1]) after the last `evaluate`; for
    /// η = 0 the image itself. Read-only, valid until the next `evaluate`.
    public func adversarialInput(configuration c: Int) -> UnsafePointer<Float> {
        UnsafePointer(attackOf[c] >= 0 ? xadvs + attackOf[c] * d : e.x)
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
        for c in configs.indices where attackOf[c] >= 0 {
            let o = outcomes[attackOf[c]]
            results[c].attackPrediction = o.attackPrediction; results[c].target = o.target
            results[c].deltaNorm = o.deltaNorm; results[c].deltaLinf = o.deltaLinf
        }
        for g in groups.indices { infer(group: g, index: index, label: y, results: results) }
        if configs[0].varianceSamples > 0 {
            e.config = configs[0]
            let v = e.predictionVariance(index: index, label: y)
            for c in configs.indices { results[c].predictionVariance = v }
        }
    }

    func runAttacks(index: Int, label y: Int) {
        for (a, cfg) in attacks.enumerated() {
            e.config = cfg
            var r = ImageResult()
            if usePrefixes {
                if passStart[a] {
                    // one pass over the set's largest S_A; the direction of each S_A is copied out
                    e.config.attackSamples = passSamples[a]
                    let f = passFirstRow[a]
                    e.direction(at: e.x, index: index, step: 0, label: y, target: cfg.attack.target.resolve(label: y, classes: k),
                                prefixes: DirectionPrefixes(sizes: prefixSizes + f, count: passRows[a], g: prefixG + f * d, p: prefixP + f * k))
                    e.config = cfg
                }
                e.g.update(from: prefixG + prefixRow[a] * d, count: d)
                e.pA.update(from: prefixP + prefixRow[a] * k, count: k)
            }
            e.runAttack(index: index, label: y, into: &r, reuseDirection: usePrefixes || sharesDirection[a])
            outcomes[a] = r
            (xadvs + a * d).update(from: e.xadv, count: d)
            (deltas + a * d).update(from: e.delta, count: d)
        }
    }

    /// The inference (and fresh) passes of one inference-set group.
    func infer(group g: Int, index: Int, label y: Int, results: UnsafeMutablePointer<ImageResult>) {
        let group = groups[g], A = attacks.count, ws = e.ws
        let cfg0 = configs[group.configs[0]]
        let maxS = group.sizes.last!
        let anyAttack = group.configs.contains { attackOf[$0] >= 0 }
        let full = strategy == .fullJacobian
        zero(e.pI, k); zero(pAdv, A * k); zero(dSum, A * k)
        if anyAttack && full { zero(e.jac, k * d); deferring?.clearDeferredMean() }
        let identity = Matrix(e.cot, rows: k, cols: k)
        let jacOut = Matrix(e.jacSample, rows: k, cols: d)
        var extreme = 0, next = 0
        for s in 0..<maxS {
            ws.sample(cfg0.address(.inference, image: index, sample: s))
            ws.input(row: 0).update(from: e.x, count: d)
            if anyAttack { for a in 0..<A { ws.input(row: 1 + a).update(from: xadvs + a * d, count: d) } }
            let p = ws.forward(rows: anyAttack ? 1 + A : 1)
            Vec.axpy(1, p.row(0), e.pI, k)
            if cfg0.countExtreme {
                var top: Float = 0
                for c in 0..<k { top = max(top, p[0, c]) }
                if top == 1 { extreme += 1 }
            }
            if anyAttack {
                for a in 0..<A { Vec.axpy(1, p.row(1 + a), pAdv + a * k, k) }
                if full {
                    if let dws = deferring { dws.vjpDeferringMean(cotangents: identity, into: jacOut) }
                    else { ws.vjp(cotangents: identity, into: jacOut) }
                    Vec.axpy(1, e.jacSample, e.jac, k * d)
                } else {
                    for a in 0..<A { Vec.axpy(1, ws.jvp(tangent: deltas + a * d), dSum + a * k, k) }
                }
            }
            if s + 1 == group.sizes[next] {
                // the Jacobian sum so far = e.jac + the deferred part, read into jacSample (free here)
                var jacRead = UnsafePointer(e.jac)
                if anyAttack && full, let dws = deferring {
                    e.jacSample.update(from: e.jac, count: k * d)
                    dws.addDeferredMean(into: jacOut)
                    jacRead = UnsafePointer(e.jacSample)
                }
                snapshot(group: g, jacobian: jacRead, size: s + 1, extreme: extreme, label: y, results: results)
                next += 1
            }
        }
        if anyAttack && !full { secondPass(group: g, index: index, label: y) }
        for c in group.configs where attackOf[c] >= 0 { finish(config: c, result: &results[c]) }
        if cfg0.fresh && anyAttack { fresh(group: g, index: index, results: results) }
    }

    /// Reads the sums after `size` realizations into every configuration of the group with S_I = size.
    /// `jac` is the Jacobian sum over the first S realizations (full strategy only).
    func snapshot(group g: Int, jacobian jac: UnsafePointer<Float>, size S: Int, extreme: Int, label y: Int, results: UnsafeMutablePointer<ImageResult>) {
        let inv = 1 / Float(S), full = strategy == .fullJacobian
        let pI = e.pI, pIadv = e.pIadv
        var normsOf = -1   // the configuration whose norms (which depend on S only) are computed
        for c in groups[g].configs where configs[c].inferenceSamples == S {
            let cp = pClean + c * k
            for i in 0..<k { cp[i] = pI[i] * inv }
            results[c].cleanPrediction = argmax(cp)
            results[c].cleanProbability = cp[y]
            if configs[c].countExtreme { results[c].extremeSamples = extreme }
            let a = attackOf[c]
            guard a >= 0 else { continue }
            for i in 0..<k { pIadv[i] = pAdv[a * k + i] * inv }
            results[c].adversarialPrediction = argmax(pIadv)
            let m = margins + c * k, dr = dirs + c * k, nr = norms + c * k
            for i in 0..<k { m[i] = cp[y] - cp[i] }
            if full {
                // J̄ = jac/S; d_c = (J̄_y − J̄_c)·δ and ‖∇m_c‖ = ‖J̄_y − J̄_c‖
                let delta = deltas + a * d
                for i in 0..<k { jd[i] = Vec.dot(jac + i * d, delta, d) * inv }
                for i in 0..<k { dr[i] = jd[y] - jd[i] }
                if normsOf < 0 { marginGradientNorms(jac, S: S, label: y, into: nr); normsOf = c }
                else { nr.update(from: norms + normsOf * k, count: k) }
            } else {
                for i in 0..<k { dr[i] = (dSum[a * k + y] - dSum[a * k + i]) * inv }
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

    /// Two passes: j = argmin r̃_c and j' = argmin m_c need no gradient, only ‖∇m_j‖ and ‖∇m_j'‖;
    /// if every r̃_c is ∞, j = argmin cos α_c needs every class.
    func markNeeded(config c: Int, label y: Int, deltaNorm: Float) {
        let m = margins + c * k, dr = dirs + c * k, nd = needed + c * k
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
        let group = groups[g], ws = e.ws, cfg0 = configs[group.configs[0]]
        // cotangent row r is e_y − e_c for class c = rowClass[r], the union of the needed classes
        var rows = 0
        for i in 0..<k where i != y && group.configs.contains(where: { needed[$0 * k + i] }) {
            rowClass[rows] = i; rows += 1
        }
        guard rows > 0 else { return }
        zero(pairCot, rows * k)
        for r in 0..<rows { pairCot[r * k + y] = 1; pairCot[r * k + rowClass[r]] = -1 }
        zero(e.jac, rows * d)
        let cotM = Matrix(pairCot, rows: rows, cols: k)
        let out = Matrix(e.jacSample, rows: rows, cols: d)
        var next = 0
        for s in 0..<group.sizes.last! {
            ws.sample(cfg0.address(.inference, image: index, sample: s))
            ws.input(row: 0).update(from: e.x, count: d)
            _ = ws.forward(rows: 1)
            ws.vjp(cotangents: cotM, into: out)
            Vec.axpy(1, e.jacSample, e.jac, rows * d)
            if s + 1 == group.sizes[next] {
                let inv = 1 / Float(s + 1)
                for c in group.configs where configs[c].inferenceSamples == s + 1 && attackOf[c] >= 0 {
                    let nr = norms + c * k
                    for i in 0..<k { nr[i] = .nan }
                    for r in 0..<rows where needed[c * k + rowClass[r]] {
                        nr[rowClass[r]] = Vec.norm(e.jac + r * d, d) * inv
                    }
                }
                next += 1
            }
        }
    }

    /// Conditions, cos α and gradient norms of configuration c from its margins, d_c and norms.
    func finish(config c: Int, result r: inout ImageResult) {
        r.setConditions(classes: k, margins: margins + c * k, directional: dirs + c * k, gradNorms: norms + c * k,
                        lipschitz: model.smoothness)
    }

    /// f(x_adv) with the fresh set (role `fresh`), every attack in one forward per realization.
    func fresh(group g: Int, index: Int, results: UnsafeMutablePointer<ImageResult>) {
        let group = groups[g], A = attacks.count, ws = e.ws, cfg0 = configs[group.configs[0]]
        zero(pFresh, A * k)
        var next = 0
        for s in 0..<group.sizes.last! {
            ws.sample(cfg0.address(.fresh, image: index, sample: s))
            for a in 0..<A { ws.input(row: a).update(from: xadvs + a * d, count: d) }
            let p = ws.forward(rows: A)
            for a in 0..<A { Vec.axpy(1, p.row(a), pFresh + a * k, k) }
            if s + 1 == group.sizes[next] {
                for c in group.configs where configs[c].inferenceSamples == s + 1 && attackOf[c] >= 0 {
                    results[c].freshAdversarialPrediction = argmax(pFresh + attackOf[c] * k)
                }
                next += 1
            }
        }
    }

    @inline(__always) func zero(_ p: UnsafeMutablePointer<Float>, _ n: Int) { p.update(repeating: 0, count: n) }
    @inline(__always) func argmax(_ p: UnsafePointer<Float>) -> Int {
        var best = 0
        for c in 1..<k where p[c] > p[best] { best = c }
        return best
    }
}
