import SNNModels
import SNNRuntime

/// `--share-samples` for the matrix-Gaussian MLP with the explicit sampler, a chunk of images at a
/// time (docs/METHOD.md §Sharing mode): every image uses the same realizations, so each realization
/// is drawn once per chunk (`MatrixGaussianMLP.sampleWeights`) and every layer of the chunk's
/// forward and backward passes is ONE GEMM (`GEMM.sgemm`) over all of its images' rows:
///
///   attack     per attack set, one pass over the set's largest S_A: forward of the chunk's x rows,
///              one VJP row per image (cotangent −e_y, or +e_t when targeted; cross-entropy on the
///              averaged prediction, docs/METHOD.md §Attacks); every S_A's direction is a prefix
///   inference  per inference set, one pass over max S_I: forward of the x rows and of every
///              attack's x_adv rows, k − 1 VJP rows per image with cotangents e_y − e_c (the margin
///              gradients at x, ∇m_c = J_y − J_c, summed over the realizations); m_c,
///              d_c = ⟨∇m_c, δ⟩ and ‖∇m_c‖ read off at each requested S_I (nested sets)
///   fresh      per inference set, forward of every attack's x_adv rows
///   variance   forward of the x rows
///
/// The quantities are those of `Evaluator` with its full-Jacobian strategy (the MLP's choice),
/// computed from the same realizations; only the order of the arithmetic differs (the per-image
/// workspace uses the few-row kernels and takes J_y − J_c after the sum), so floats agree to rounding.
///
/// Row independence: every GEMM runs on at least `GEMM.smallM + 1` rows (padding rows are
/// computed and ignored), so it always takes the packed path, whose arithmetic for one output row
/// does not depend on the other rows or on how many there are. An image's results therefore depend
/// only on the seed and the image — not on the chunk it lands in (`--share-chunk`, `--shard`, the
/// last partial chunk, a batch cut short by a slow stdin) nor on the thread count.
///
/// Supported: FGM/FGSM with the cross-entropy loss (untargeted or targeted), any η / S_A / S_I
/// lists, nested or independent sets, the fresh set, --variance-samples, --extreme. Anything else
/// (`unsupported` says why) goes through `Evaluator`, one image at a time.
public final class SharedBatchEvaluator {
    public let configs: [EvaluationConfig]
    public let model: MatrixGaussianMLP
    /// Images per chunk (B): the buffers hold this many.
    public let chunk: Int
    let arena: Arena
    let d: Int, k: Int
    let layers: [MatrixGaussianMLP.Layer]
    let attacks: [EvaluationConfig]
    let attackOf: [Int]
    /// As in `EvaluationPlan`: attack a's direction is prefix row prefixRow[a]; a pass over
    /// passSamples[a] samples starts at each attack with passStart[a] and fills rows
    /// passFirstRow[a] ..< passFirstRow[a] + passRows[a] at the S_A values prefixSizes.
    let prefixRow, passFirstRow, passRows, passSamples, prefixSizes: [Int]
    let passStart: [Bool]
    let groups: [EvaluationPlan.InferenceGroup]

    // one realization and the chunk's activations (rows: forward rows; cotangent rows for gpre)
    let w, xin, pre, gpre: [UnsafeMutablePointer<Float>]
    let probs, marginCot, attackCot, gemmScratch: UnsafeMutablePointer<Float>
    // per chunk (B rows each; per attack a the rows a·B ..< a·B + B)
    let x, gSum, pAttack, prefixG, prefixP, xadvs, deltas, jac, pClean, pAdv, pFresh: UnsafeMutablePointer<Float>
    let extreme: UnsafeMutablePointer<Int>
    let varSum: UnsafeMutablePointer<Double>
    // per image scratch
    let step, cp, pa, margins, dirs, norms, jd: UnsafeMutablePointer<Float>
    // the sparse Jacobian backward (SharedBatchJacobian.swift): W_iᵀ in panels, per layer below the last
    let panelW: [UnsafeMutablePointer<Float>]
    let activeUnits: UnsafeMutablePointer<Int>
    let packedG: UnsafeMutablePointer<Float>

    /// Why `configs` on `model` cannot be evaluated in shared chunks (then `Evaluator` runs
    /// one image at a time), or nil if they can.
    public static func unsupported(model: any StochasticClassifier, configs: [EvaluationConfig]) -> String? {
        guard let mlp = model as? MatrixGaussianMLP else {
            return model is SmoothedClassifier ? "a smoothed model" : "not a matrix-Gaussian MLP"
        }
        if mlp.sampler != .explicit { return "the lazy sampler" }
        if !configs.allSatisfy(\.shareSamples) { return "realizations are not shared" }
        for c in configs where c.eta > 0 {
            if c.attack.method == .pgd { return "PGD" }
            if c.attack.loss != .ce { return "--loss \(c.attack.loss.rawValue)" }
        }
        return nil
    }

    /// Rows a GEMM runs on for `rows` real rows: enough for the packed (row-independent) kernel.
    @inline(__always) static func padded(_ rows: Int) -> Int { max(rows, GEMM.smallM + 1) }

    /// Arena bytes of one evaluator for chunks of `chunk` images.
    public static func plan(model: MatrixGaussianMLP, configs: [EvaluationConfig], chunk: Int) -> MemoryPlan {
        let layout = EvaluationPlan(configs: configs)
        let B = chunk, A = max(layout.attacks.count, 1), P = max(layout.prefixSizes.count, 1)
        let d = model.inputSize, k = model.classCount
        let R = padded(B * (1 + layout.attacks.count)), Q = padded(B * k)
        var plan = MemoryPlan()
        for (i, l) in model.layers.enumerated() {
            plan.add("share.W\(i)", floats: l.weightCount)
            plan.add("share.in\(i)", floats: R * l.rows)
            plan.add("share.pre\(i)", floats: R * l.outputs)
            plan.add("share.gpre\(i)", floats: Q * l.outputs)
        }
        plan.add("share.probs", floats: R * k)
        plan.add("share.margin_cotangents", floats: k * (k - 1) * k)
        plan.add("share.attack_cot", floats: B * k)
        plan.add("share.gemm_scratch", floats: GEMM.scratchFloats)
        plan.add("share.x", floats: B * d)
        plan.add("share.attack_grad", floats: padded(B) * d)
        plan.add("share.p_attack", floats: B * k)
        plan.add("share.prefix_g", floats: P * B * d)
        plan.add("share.prefix_p", floats: P * B * k)
        plan.add("share.x_adv", floats: A * B * d)
        plan.add("share.delta", floats: A * B * d)
        plan.add("share.jacobian", floats: Q * d)
        plan.add("share.p_clean", floats: B * k)
        plan.add("share.p_adv", floats: A * B * k)
        plan.add("share.p_fresh", floats: A * B * k)
        plan.add("share.extreme", count: B, of: Int.self)
        plan.add("share.variance", count: 2 * B, of: Double.self)
        plan.add(sparsePlan(model: model, chunk: chunk))
        plan.add("share.step", floats: d)
        for name in ["share.cp", "share.pa", "share.margins", "share.dirs", "share.norms", "share.jd"] { plan.add(name, floats: k) }
        return plan
    }

    public init(model: MatrixGaussianMLP, configs: [EvaluationConfig], chunk: Int, arena: Arena) throws {
        precondition(!configs.isEmpty && chunk >= 1)
        precondition(Self.unsupported(model: model, configs: configs) == nil)
        self.model = model; self.configs = configs; self.chunk = chunk; self.arena = arena
        d = model.inputSize; k = model.classCount
        layers = model.layers
        let layout = EvaluationPlan(configs: configs)
        attacks = layout.attacks; attackOf = layout.attackOf
        prefixRow = layout.prefixRow; passFirstRow = layout.passFirstRow; passRows = layout.passRows
        passSamples = layout.passSamples; prefixSizes = layout.prefixSizes; passStart = layout.passStart
        groups = layout.groups
        let b = try Self.plan(model: model, configs: configs, chunk: chunk).allocate(in: arena)
        w = layers.indices.map { b["share.W\($0)"]! }
        xin = layers.indices.map { b["share.in\($0)"]! }
        pre = layers.indices.map { b["share.pre\($0)"]! }
        gpre = layers.indices.map { b["share.gpre\($0)"]! }
        probs = b["share.probs"]!; marginCot = b["share.margin_cotangents"]!; attackCot = b["share.attack_cot"]!
        gemmScratch = b["share.gemm_scratch"]!
        x = b["share.x"]!; gSum = b["share.attack_grad"]!; pAttack = b["share.p_attack"]!
        prefixG = b["share.prefix_g"]!; prefixP = b["share.prefix_p"]!
        xadvs = b["share.x_adv"]!; deltas = b["share.delta"]!; jac = b["share.jacobian"]!
        pClean = b["share.p_clean"]!; pAdv = b["share.p_adv"]!; pFresh = b["share.p_fresh"]!
        extreme = UnsafeMutableRawPointer(b["share.extreme"]!).bindMemory(to: Int.self, capacity: chunk)
        varSum = UnsafeMutableRawPointer(b["share.variance"]!).bindMemory(to: Double.self, capacity: 2 * chunk)
        step = b["share.step"]!; cp = b["share.cp"]!; pa = b["share.pa"]!; margins = b["share.margins"]!
        dirs = b["share.dirs"]!; norms = b["share.norms"]!; jd = b["share.jd"]!
        // for label y, row r: e_y − e_c with c the r-th class other than y (the margin gradients)
        for y in 0..<k {
            for c in 0..<k where c != y {
                let row = marginCot + (y * (k - 1) + (c < y ? c : c - 1)) * k
                row[y] = 1; row[c] = -1
            }
        }
        panelW = layers.indices.dropLast().map { b["share.panel_w\($0)"]! }
        activeUnits = UnsafeMutableRawPointer(b["share.active_units"]!).bindMemory(to: Int.self, capacity: chunk * (layers.map(\.outputs).max()! + 1))
        packedG = b["share.packed_g"]!
    }

    /// The chunk's input rows (image i of the chunk at i·d, pixel space [0, 1]); fill before `evaluate`.
    public var input: UnsafeMutablePointer<Float> { x }

    /// x_adv of image `i` of the last chunk under configuration `c` (the image itself for η = 0).
    public func adversarialInput(image i: Int, configuration c: Int) -> UnsafePointer<Float> {
        UnsafePointer(attackOf[c] >= 0 ? xadvs + (attackOf[c] * chunk + i) * d : x + i * d)
    }

    /// Evaluates the first `count` (≤ chunk) input rows, image i with record index indices[i] and
    /// label labels[i]; writes configuration c of image i to results[i · configs.count + c].
    public func evaluate(count n: Int, indices: UnsafePointer<Int>, labels: UnsafePointer<Int>,
                         into results: UnsafeMutablePointer<ImageResult>) {
        precondition(n >= 0 && n <= chunk)
        guard n > 0 else { return }
        let nc = configs.count
        for i in 0..<n {
            for (c, cfg) in configs.enumerated() {
                var r = ImageResult()
                r.index = indices[i]; r.label = labels[i]; r.eta = cfg.eta
                r.attackSamples = cfg.attackSamples; r.inferenceSamples = cfg.inferenceSamples
                r.attack = cfg.attack
                results[i * nc + c] = r
            }
        }
        let image = indices[0]   // any: the address's image field is the shared one
        for a in attacks.indices {
            if passStart[a] { attackPass(a, count: n, image: image, labels: labels) }
            stepAttack(a, count: n, labels: labels, results: results)
        }
        for g in groups.indices { infer(group: g, count: n, image: image, labels: labels, results: results) }
        if configs[0].varianceSamples > 0 { variance(count: n, image: image, labels: labels, results: results) }
    }

    // MARK: one realization for the chunk

    func sample(_ address: RandomAddress) {
        for i in layers.indices { model.sampleWeights(layer: i, address: address, into: w[i]) }
    }

    /// Copies image row `src` (pixel space) into forward row `row`.
    @inline(__always) func stage(_ src: UnsafePointer<Float>, row: Int) {
        (xin[0] + row * layers[0].rows).update(from: src, count: d)
    }

    /// Probabilities of the first `rows` staged rows into `probs` (x̃ = [x, 1]·s, ReLU between layers).
    func forward(rows: Int) {
        for (i, l) in layers.enumerated() {
            let s = l.inputScale
            for r in 0..<rows {
                let dst = xin[i] + r * l.rows
                if i == 0 {
                    for j in 0..<l.inputs { dst[j] *= s }
                } else {
                    let src = pre[i - 1] + r * l.inputs
                    ScaledReLU.forward(src, into: dst, count: l.inputs, scale: s)
                }
                dst[l.inputs] = s
            }
            GEMM.sgemm(transA: false, transB: false, m: Self.padded(rows), n: l.outputs, k: l.rows, a: xin[i], lda: l.rows,
                       b: w[i], ldb: l.outputs, beta: 0, c: pre[i], ldc: l.outputs, scratch: gemmScratch)
        }
        Softmax.forward(Matrix(pre[layers.count - 1], rows: rows, cols: k), Matrix(probs, rows: rows, cols: k))
    }

    /// Backward from the logit cotangents in gpre[last] (`rows` rows; row q belongs to forward row
    /// q / perRow, whose ReLU masks it takes): adds the input gradients (rows × d) to `out`.
    /// The margin gradients (`margins`: perRow = k − 1 rows per image) skip, image by image, the
    /// hidden units its ReLUs switched off (`sparseBackward`); the attack's single rows go through
    /// the dense GEMM.
    func backward(rows: Int, perRow: Int, margins: Bool = false, into out: UnsafeMutablePointer<Float>) {
        let m = Self.padded(rows), last = layers.count - 1
        for i in stride(from: last, through: 0, by: -1) {
            let l = layers[i]
            // g x̃ = g h · Wᵀ without the bias column, straight into the previous layer's cotangents
            // (layer 0: scaled by s and added to `out`)
            let dst = i > 0 ? gpre[i - 1] : out, ldc = i > 0 ? l.inputs : d
            let alpha: Float = i > 0 ? 1 : l.inputScale
            if margins && i < last {
                if i > 0 { zero(dst, rows * l.inputs) }
                sparseBackward(layer: i, images: rows / perRow, rowsPerImage: perRow, into: dst, ldc: ldc, alpha: alpha)
            } else {
                GEMM.sgemm(transA: false, transB: true, m: m, n: l.inputs, k: l.outputs, alpha: alpha, a: gpre[i], lda: l.outputs,
                           b: w[i], ldb: l.outputs, beta: i > 0 ? 0 : 1, c: dst, ldc: ldc, scratch: gemmScratch)
            }
            guard i > 0 else { break }
            let s = l.inputScale
            for q in 0..<rows {
                let mask = pre[i - 1] + (q / perRow) * l.inputs, g = gpre[i - 1] + q * l.inputs
                ScaledReLU.derivative(at: mask, g, into: g, count: l.inputs, scale: s)
            }
        }
    }

    // MARK: attacks

    /// The attack set's pass (cross-entropy direction, a plain sum over samples): the direction and
    /// Σ f of every S_A of the set copied out as prefix rows.
    func attackPass(_ a: Int, count n: Int, image: Int, labels: UnsafePointer<Int>) {
        let cfg = attacks[a], first = passFirstRow[a], rowCount = passRows[a]
        let last = layers.count - 1
        zero(gSum, Self.padded(n) * d); zero(pAttack, n * k)
        for i in 0..<n {
            let cot = attackCot + i * k
            zero(cot, k)
            if let t = cfg.attack.target.resolve(label: labels[i], classes: k) { cot[t] = 1 } else { cot[labels[i]] = -1 }
        }
        var next = 0
        for s in 0..<passSamples[a] {
            sample(cfg.address(.attack, image: image, sample: s, step: 0))
            for i in 0..<n { stage(x + i * d, row: i) }
            forward(rows: n)
            for i in 0..<n {
                Vec.axpy(1, probs + i * k, pAttack + i * k, k)
                Softmax.vjp(p: probs + i * k, gp: Matrix(attackCot + i * k, rows: 1, cols: k), gz: Matrix(gpre[last] + i * k, rows: 1, cols: k))
            }
            backward(rows: n, perRow: 1, into: gSum)
            if next < rowCount && prefixSizes[first + next] == s + 1 {
                (prefixG + (first + next) * chunk * d).update(from: gSum, count: n * d)
                (prefixP + (first + next) * chunk * k).update(from: pAttack, count: n * k)
                next += 1
            }
        }
    }

    /// One FGM (g/‖g‖) or FGSM (sign g) step of length η from x along attack a's direction, clipped
    /// to [0, 1], for every image of the chunk (`AttackStep`, as `Evaluator.runAttack`).
    func stepAttack(_ a: Int, count n: Int, labels: UnsafePointer<Int>, results: UnsafeMutablePointer<ImageResult>) {
        let cfg = attacks[a], eta = cfg.eta, nc = configs.count
        for i in 0..<n {
            let xi = x + i * d, xadv = xadvs + (a * chunk + i) * d, delta = deltas + (a * chunk + i) * d
            step.update(from: prefixG + (prefixRow[a] * chunk + i) * d, count: d)
            let target = cfg.attack.target.resolve(label: labels[i], classes: k)
            let prediction = argmax(prefixP + (prefixRow[a] * chunk + i) * k)
            xadv.update(from: xi, count: d)
            AttackStep.step(xadv, along: step, length: eta, norm: cfg.attack.norm, count: d)
            AttackStep.clip(xadv, count: d)
            let (l2, linf) = AttackStep.delta(delta, from: xi, to: xadv, count: d)
            for c in 0..<nc where attackOf[c] == a {
                results[i * nc + c].attackPrediction = prediction
                results[i * nc + c].target = target ?? -1
                results[i * nc + c].deltaNorm = l2; results[i * nc + c].deltaLinf = linf
            }
        }
    }

    // MARK: inference, fresh set, variance

    /// One inference set's pass: f(x) and every f(x_adv) in one forward, the Jacobian at x.
    func infer(group g: Int, count n: Int, image: Int, labels: UnsafePointer<Int>, results: UnsafeMutablePointer<ImageResult>) {
        let group = groups[g], A = attacks.count, last = layers.count - 1
        let cfg0 = configs[group.configs[0]]
        var anyAttack = false
        for c in group.configs where attackOf[c] >= 0 { anyAttack = true }
        zero(pClean, n * k)
        if anyAttack { zero(pAdv, A * chunk * k); zero(jac, Self.padded(n * (k - 1)) * d) }
        for i in 0..<n { extreme[i] = 0 }
        var next = 0
        for s in 0..<group.sizes.last! {
            sample(cfg0.address(.inference, image: image, sample: s))
            for i in 0..<n { stage(x + i * d, row: i) }
            if anyAttack {
                for a in 0..<A { for i in 0..<n { stage(xadvs + (a * chunk + i) * d, row: n + a * n + i) } }
            }
            forward(rows: anyAttack ? n * (1 + A) : n)
            for i in 0..<n {
                let p = probs + i * k
                Vec.axpy(1, p, pClean + i * k, k)
                if cfg0.countExtreme {
                    var top: Float = 0
                    for c in 0..<k { top = max(top, p[c]) }
                    if top == 1 { extreme[i] += 1 }
                }
            }
            if anyAttack {
                for a in 0..<A { for i in 0..<n { Vec.axpy(1, probs + (n + a * n + i) * k, pAdv + (a * chunk + i) * k, k) } }
                // k − 1 cotangent rows per image, e_y − e_c for c ≠ y: the margin gradients ∇m_c at x
                for i in 0..<n {
                    Softmax.vjp(p: probs + i * k, gp: Matrix(marginCot + labels[i] * (k - 1) * k, rows: k - 1, cols: k),
                                gz: Matrix(gpre[last] + i * (k - 1) * k, rows: k - 1, cols: k))
                }
                backward(rows: n * (k - 1), perRow: k - 1, margins: true, into: jac)
            }
            if s + 1 == group.sizes[next] {
                snapshot(group: g, size: s + 1, count: n, labels: labels, results: results)
                next += 1
            }
        }
        if cfg0.fresh && anyAttack { fresh(group: g, count: n, image: image, results: results) }
    }

    /// The sums after `size` realizations into every configuration of the group with S_I = size.
    func snapshot(group g: Int, size S: Int, count n: Int, labels: UnsafePointer<Int>, results: UnsafeMutablePointer<ImageResult>) {
        let inv = 1 / Float(S), nc = configs.count
        let group = groups[g]
        for i in 0..<n {
            let y = labels[i], gi = jac + i * (k - 1) * d
            var normsDone = false
            for c in group.configs where configs[c].inferenceSamples == S {
                for j in 0..<k { cp[j] = pClean[i * k + j] * inv }
                results[i * nc + c].cleanPrediction = argmax(cp)
                results[i * nc + c].cleanProbability = cp[y]
                if configs[c].countExtreme { results[i * nc + c].extremeSamples = extreme[i] }
                let a = attackOf[c]
                guard a >= 0 else { continue }
                for j in 0..<k { pa[j] = pAdv[(a * chunk + i) * k + j] * inv }
                results[i * nc + c].adversarialPrediction = argmax(pa)
                for j in 0..<k { margins[j] = cp[y] - cp[j] }
                // ∇m_c = (row of c in jac)/S: d_c = ⟨∇m_c, δ⟩, ‖∇m_c‖ (the norms depend on S only)
                let delta = deltas + (a * chunk + i) * d
                for c in 0..<k { dirs[c] = c == y ? 0 : Vec.dot(gi + (c < y ? c : c - 1) * d, delta, d) * inv }
                if !normsDone { marginGradientNorms(gi, S: S, label: y); normsDone = true }
                results[i * nc + c].setConditions(classes: k, margins: margins, directional: dirs, gradNorms: norms,
                                                  lipschitz: model.smoothness)
            }
        }
    }

    /// ‖∇m_c‖ from one image's sums over S realizations of ∇(f_y − f_c) (row c, or c − 1 past y), into `norms`.
    func marginGradientNorms(_ sums: UnsafePointer<Float>, S: Int, label y: Int) {
        let inv = 1 / Float(S)
        for c in 0..<k {
            if c == y { norms[c] = 0; continue }
            let g = sums + (c < y ? c : c - 1) * d
            var ss: Float = 0
            for i in 0..<d { let t = g[i] * inv; ss += t * t }
            norms[c] = ss.squareRoot()
        }
    }

    /// f(x_adv) with the fresh set (role `fresh`), every attack's rows in one forward.
    func fresh(group g: Int, count n: Int, image: Int, results: UnsafeMutablePointer<ImageResult>) {
        let group = groups[g], A = attacks.count, nc = configs.count, cfg0 = configs[group.configs[0]]
        zero(pFresh, A * chunk * k)
        var next = 0
        for s in 0..<group.sizes.last! {
            sample(cfg0.address(.fresh, image: image, sample: s))
            for a in 0..<A { for i in 0..<n { stage(xadvs + (a * chunk + i) * d, row: a * n + i) } }
            forward(rows: A * n)
            for a in 0..<A { for i in 0..<n { Vec.axpy(1, probs + (a * n + i) * k, pFresh + (a * chunk + i) * k, k) } }
            if s + 1 == group.sizes[next] {
                for c in group.configs where configs[c].inferenceSamples == s + 1 && attackOf[c] >= 0 {
                    for i in 0..<n { results[i * nc + c].freshAdversarialPrediction = argmax(pFresh + (attackOf[c] * chunk + i) * k) }
                }
                next += 1
            }
        }
    }

    /// (1/V) Σ_v (f_y(x, θ_v) − f̄_y)² over V = varianceSamples samples of role `variance`.
    func variance(count n: Int, image: Int, labels: UnsafePointer<Int>, results: UnsafeMutablePointer<ImageResult>) {
        let V = configs[0].varianceSamples, nc = configs.count
        for i in 0..<(2 * n) { varSum[i] = 0 }
        for v in 0..<V {
            sample(configs[0].address(.variance, image: image, sample: v))
            for i in 0..<n { stage(x + i * d, row: i) }
            forward(rows: n)
            for i in 0..<n {
                let f = Double(probs[i * k + labels[i]])
                varSum[2 * i] += f; varSum[2 * i + 1] += f * f
            }
        }
        for i in 0..<n {
            let mean = varSum[2 * i] / Double(V)
            let value = Float(max(varSum[2 * i + 1] / Double(V) - mean * mean, 0))
            for c in 0..<nc { results[i * nc + c].predictionVariance = value }
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
