import SNNRuntime

/// Every buffer `Evaluator` uses for one image, allocated once from one `EvaluationPlan` (d pixels,
/// k classes, A = max(attacks, 1), n configurations, P = max(prefix rows, 1)). `layout` lists the
/// same buffers as `init` allocates, so the arena size printed by `--dry-run` is what is used.
struct EvaluationBuffers {
    // the image and the attack in progress
    let x: UnsafeMutablePointer<Float>            // d: the image, pixel space [0, 1]
    let g: UnsafeMutablePointer<Float>            // d: the attack's ascent direction (summed over A)
    let gradRow: UnsafeMutablePointer<Float>      // d: one VJP row of the attack
    let pA: UnsafeMutablePointer<Float>           // k: Σ_s f(x, θ_s) over the attack set
    let attackCot: UnsafeMutablePointer<Float>    // k: the attack's cotangent row
    let logMean: UnsafeMutablePointer<Float>      // k: Σ_s log f (cw loss)
    // per attack a (rows of d or k)
    let xadvs, deltas: UnsafeMutablePointer<Float>              // A·d: x_adv (the PGD iterate) and δ
    let pAdv, dSum, pFresh: UnsafeMutablePointer<Float>         // A·k: Σ f(x_adv), Σ JVP·δ, Σ f_fresh(x_adv)
    let outcomes: UnsafeMutablePointer<ImageResult>             // A: the attack fields of the result
    // FGM/FGSM prefix passes
    let prefixSizes: UnsafeMutablePointer<Int>                  // P
    let prefixG, prefixP: UnsafeMutablePointer<Float>           // P·d, P·k
    // inference
    let pI: UnsafeMutablePointer<Float>           // k: Σ_s f(x, θ_s)
    let scratchK: UnsafeMutablePointer<Float>     // k: a mean of probabilities (argmax)
    let jd: UnsafeMutablePointer<Float>           // k: J̄δ
    let jac, jacSample: UnsafeMutablePointer<Float>             // k·d: Σ_s J_s, one J_s (or its read-out)
    let identity: UnsafeMutablePointer<Float>     // k·k: the k unit cotangents
    let pairCot: UnsafeMutablePointer<Float>      // k·k: cotangents e_y − e_c of the second pass
    let rowClass: UnsafeMutablePointer<Int>       // k: the class c of each second-pass row
    // per configuration c (rows of k)
    let pClean, margins, dirs, norms: UnsafeMutablePointer<Float>   // n·k
    let needed: UnsafeMutablePointer<Bool>        // n·k: classes whose ‖∇m_c‖ the second pass computes
    let results: UnsafeMutablePointer<ImageResult>              // n: `Evaluator.evaluate(index:label:)`

    static func layout(_ plan: EvaluationPlan, d: Int, k: Int) -> MemoryPlan {
        let A = max(plan.attacks.count, 1), n = plan.configs.count, P = max(plan.prefixSizes.count, 1)
        var m = MemoryPlan()
        for (name, floats) in [("x", d), ("attack_grad", d), ("grad_row", d), ("p_attack", k), ("attack_cotangent", k),
                               ("attack_log_mean", k), ("x_adv", A * d), ("delta", A * d), ("p_adv", A * k), ("jvp_sum", A * k),
                               ("p_fresh", A * k), ("prefix_g", P * d), ("prefix_p", P * k), ("p_inference", k), ("p_scratch", k),
                               ("jd", k), ("jacobian", k * d), ("jacobian_sample", k * d), ("cotangents", k * k),
                               ("pair_cotangents", k * k), ("p_clean", n * k), ("margins", n * k), ("directional", n * k),
                               ("grad_norms", n * k)] {
            m.add(name, floats: floats)
        }
        m.add("outcomes", count: A, of: ImageResult.self)
        m.add("prefix_sizes", count: P, of: Int.self)
        m.add("row_class", count: k, of: Int.self)
        m.add("needed", count: n * k, of: Bool.self)
        m.add("results", count: n, of: ImageResult.self)
        return m
    }

    init(_ plan: EvaluationPlan, d: Int, k: Int, arena: Arena) throws {
        let b = try Self.layout(plan, d: d, k: k).allocate(in: arena)
        let A = max(plan.attacks.count, 1), n = plan.configs.count, P = max(plan.prefixSizes.count, 1)
        x = b["x"]!; g = b["attack_grad"]!; gradRow = b["grad_row"]!; pA = b["p_attack"]!
        attackCot = b["attack_cotangent"]!; logMean = b["attack_log_mean"]!
        xadvs = b["x_adv"]!; deltas = b["delta"]!; pAdv = b["p_adv"]!; dSum = b["jvp_sum"]!; pFresh = b["p_fresh"]!
        prefixG = b["prefix_g"]!; prefixP = b["prefix_p"]!
        pI = b["p_inference"]!; scratchK = b["p_scratch"]!; jd = b["jd"]!
        jac = b["jacobian"]!; jacSample = b["jacobian_sample"]!; identity = b["cotangents"]!; pairCot = b["pair_cotangents"]!
        pClean = b["p_clean"]!; margins = b["margins"]!; dirs = b["directional"]!; norms = b["grad_norms"]!
        outcomes = MemoryPlan.typed(b["outcomes"]!, count: A, initialValue: ImageResult())
        prefixSizes = MemoryPlan.typed(b["prefix_sizes"]!, count: P, initialValue: 0)
        rowClass = MemoryPlan.typed(b["row_class"]!, count: k, initialValue: 0)
        needed = MemoryPlan.typed(b["needed"]!, count: n * k, initialValue: false)
        results = MemoryPlan.typed(b["results"]!, count: n, initialValue: ImageResult())
        for (i, size) in plan.prefixSizes.enumerated() { prefixSizes[i] = size }
        for c in 0..<k { identity[c * k + c] = 1 }
    }
}
