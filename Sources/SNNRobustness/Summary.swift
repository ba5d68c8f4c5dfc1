import Foundation

/// Running summary of one configuration (docs/METHOD.md §Summaries): counts, accuracies with 95% Wilson intervals,
/// condition rates, and mean/quartiles of ‖δ‖, cos α_j, ‖∇m_j‖, ‖∇m_j‖·cos α_j and the same two
/// for the runner-up class j′. Memory is constant in the number of images (`snn evaluate`: P²
/// quartile estimates); `snn summarize` keeps every value and gives exact quartiles, and can add
/// the per-image outcome vectors (`Outcomes`).
public struct Summary {
    public struct Stat {
        var sum = 0.0, n = 0
        var q1 = StreamingQuantile(0.25), q2 = StreamingQuantile(0.5), q3 = StreamingQuantile(0.75)
        /// Every value, when the quartiles are exact (empty and never grown otherwise).
        var values: [Double] = []
        var exact = false
        mutating func add(_ v: Float) {
            guard v.isFinite else { return }
            let d = Double(v)
            sum += d; n += 1
            if exact { values.append(d) } else { q1.add(d); q2.add(d); q3.add(d) }
        }
        /// The p-quantile of `sorted` by linear interpolation between order statistics (rank
        /// p·(n − 1), numpy's default), as `StreamingQuantile` gives for up to five values.
        static func quantile(_ sorted: [Double], _ p: Double) -> Double {
            let rank = p * Double(sorted.count - 1)
            let lo = Int(rank.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
            return sorted[lo] + (rank - Double(lo)) * (sorted[hi] - sorted[lo])
        }
        var quartiles: (Double, Double, Double)? {
            if exact {
                guard !values.isEmpty else { return nil }
                let s = values.sorted()
                return (Stat.quantile(s, 0.25), Stat.quantile(s, 0.5), Stat.quantile(s, 0.75))
            }
            guard let a = q1.value, let b = q2.value, let c = q3.value else { return nil }
            return (a, b, c)
        }
        var json: [String: Any] {
            let q = quartiles
            return ["n": n, "mean": n > 0 ? sum / Double(n) : NSNull(), "q1": q?.0 ?? NSNull(), "median": q?.1 ?? NSNull(), "q3": q?.2 ?? NSNull()]
        }
    }

    /// Per-image outcomes in image order (`snn summarize --outcomes`), for paired tests between
    /// configurations or models on the same images (McNemar).
    public struct Outcomes {
        var clean: [Bool] = [], adversarial: [Bool] = [], fresh: [Bool] = [], linear: [Bool] = [], smooth: [Bool] = []
        /// Bit i (from the left; the first hex digit holds images 0–3) is image i; zero-padded to
        /// whole hex digits. Python: `bin(int(h, 16))[2:].zfill(4 * len(h))[:n]`.
        static func hex(_ bits: [Bool]) -> String {
            let digits = Array("0123456789abcdef")
            var out = ""
            out.reserveCapacity((bits.count + 3) / 4)
            var i = 0
            while i < bits.count {
                var v = 0
                for b in 0..<4 { v = v << 1 | (i + b < bits.count && bits[i + b] ? 1 : 0) }
                out.append(digits[v]); i += 4
            }
            return out
        }
    }

    public let config: EvaluationConfig
    public let modelName: String
    public let lipschitz: Float?
    public private(set) var n = 0
    var clean = 0, adversarial = 0, fresh = 0, freshN = 0, attacked = 0
    var linear = 0, smooth = 0
    var deltaNorm = Stat(), cosAlpha = Stat(), gradNorm = Stat(), cosTimesNorm = Stat()
    var runnerUpGradNorm = Stat(), runnerUpCosTimesNorm = Stat()
    var variance = Stat(), extremeSamples = 0, extremeImages = 0, extremeCounted = 0
    public let exactQuartiles: Bool
    var outcomes: Outcomes?

    /// `exactQuartiles`: keep every value (memory grows with the images) for exact quartiles;
    /// `outcomes`: record the per-image outcome vectors too.
    public init(config: EvaluationConfig, modelName: String, lipschitz: Float?, exactQuartiles: Bool = false, outcomes: Bool = false) {
        self.config = config; self.modelName = modelName; self.lipschitz = lipschitz
        self.exactQuartiles = exactQuartiles
        for path in [\Summary.deltaNorm, \.cosAlpha, \.gradNorm, \.cosTimesNorm, \.runnerUpGradNorm, \.runnerUpCosTimesNorm, \.variance] {
            self[keyPath: path].exact = exactQuartiles
        }
        if outcomes { self.outcomes = Outcomes() }
    }

    public mutating func add(_ r: ImageResult) {
        n += 1
        if outcomes != nil {
            outcomes!.clean.append(r.cleanCorrect)
            outcomes!.adversarial.append(r.attacked && r.adversarialPrediction == r.label)
            outcomes!.fresh.append(r.freshAdversarialPrediction >= 0 && r.freshAdversarialPrediction == r.label)
            outcomes!.linear.append(r.conditions?.linear == true)
            outcomes!.smooth.append(r.conditions?.smooth == true)
        }
        if r.cleanCorrect { clean += 1 }
        variance.add(r.predictionVariance)
        if r.extremeSamples >= 0 {
            extremeCounted += 1; extremeSamples += r.extremeSamples
            if r.extremeSamples > 0 { extremeImages += 1 }
        }
        guard r.attacked else { return }
        attacked += 1
        if r.adversarialPrediction == r.label { adversarial += 1 }
        if r.freshAdversarialPrediction >= 0 { freshN += 1; if r.freshAdversarialPrediction == r.label { fresh += 1 } }
        if r.conditions?.linear == true { linear += 1 }
        if r.conditions?.smooth == true { smooth += 1 }
        deltaNorm.add(r.deltaNorm); cosAlpha.add(r.cosAlpha); gradNorm.add(r.gradNorm)
        cosTimesNorm.add(r.cosAlpha * r.gradNorm)
        runnerUpGradNorm.add(r.runnerUpGradNorm); runnerUpCosTimesNorm.add(r.runnerUpCosAlpha * r.runnerUpGradNorm)
    }

    /// Wilson score interval for k successes in n trials at 95%.
    public static func wilson(_ k: Int, _ n: Int, z: Double = 1.959963984540054) -> (Double, Double) {
        guard n > 0 else { return (0, 1) }
        let nn = Double(n), p = Double(k) / nn
        let denom = 1 + z * z / nn
        let centre = (p + z * z / (2 * nn)) / denom
        let half = z * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot() / denom
        return (max(0, centre - half), min(1, centre + half))
    }

    func rate(_ k: Int, _ n: Int) -> [String: Any] {
        let (lo, hi) = Summary.wilson(k, n)
        return ["count": k, "n": n, "rate": n > 0 ? Double(k) / Double(n) : NSNull(), "wilson95": [lo, hi]]
    }

    public var json: [String: Any] {
        var out: [String: Any] = [
            "model": modelName, "attack": config.attack.method.rawValue, "norm": config.attack.norm.jsonString,
            "loss": config.attack.loss.rawValue, "target": config.attack.target.jsonValue,
            "pgd_steps": config.attack.method == .pgd ? config.attack.pgdSteps : NSNull(),
            "pgd_step_size": config.attack.method == .pgd ? Double(config.attack.stepSize(eta: config.eta)) : NSNull(),
            "random_start": config.attack.method == .pgd ? config.attack.randomStart : NSNull(),
            "eta": Double(config.eta), "attack_samples": config.attackSamples, "inference_samples": config.inferenceSamples,
            "seed": config.seed, "share_samples": config.shareSamples, "sampler": config.sampler ?? NSNull(), "lipschitz": lipschitz.map { Double($0) } ?? NSNull(),
            "images": n, "clean_accuracy": rate(clean, n),
            "independent_sets": config.attackSetStream != 0 || config.inferenceSetStream != 0,
            "quartiles": exactQuartiles ? "exact" : "p2-streaming",
        ]
        if variance.n > 0 { out["prediction_variance"] = variance.json; out["variance_samples"] = config.varianceSamples }
        if extremeCounted > 0 { out["extreme_samples"] = extremeSamples; out["images_with_extreme_samples"] = extremeImages }
        if attacked > 0 {
            out["adversarial_accuracy"] = rate(adversarial, n)
            out["fresh_adversarial_accuracy"] = freshN > 0 ? rate(fresh, freshN) : NSNull()
            out["linear_condition_rate"] = rate(linear, n)
            out["smooth_condition_rate"] = lipschitz != nil ? rate(smooth, n) : NSNull()
            out["delta_norm"] = deltaNorm.json; out["cos_alpha"] = cosAlpha.json
            out["grad_norm"] = gradNorm.json; out["grad_norm_times_cos_alpha"] = cosTimesNorm.json
            out["runner_up_grad_norm"] = runnerUpGradNorm.json; out["runner_up_grad_norm_times_cos_alpha"] = runnerUpCosTimesNorm.json
        }
        if let o = outcomes {
            var bits: [String: Any] = ["clean_correct": Outcomes.hex(o.clean)]
            if attacked > 0 {
                bits["adversarial_correct"] = Outcomes.hex(o.adversarial); bits["linear_condition"] = Outcomes.hex(o.linear)
                bits["fresh_adversarial_correct"] = freshN > 0 ? Outcomes.hex(o.fresh) : NSNull()
                bits["smooth_condition"] = lipschitz != nil ? Outcomes.hex(o.smooth) : NSNull()
            }
            out["outcomes"] = bits
        }
        return out
    }

    /// The summary file: the model, the number of images, whether the run covered its whole input
    /// (`complete`; false with the `reason` when a data error stopped it: the summary then covers
    /// the images before the error only) and one object per configuration.
    public static func file(_ sums: [Summary], incomplete reason: String? = nil) -> [String: Any] {
        var out: [String: Any] = ["model": sums.first?.modelName ?? "", "images": sums.first?.n ?? 0, "configurations": sums.map(\.json),
                                  "complete": reason == nil]
        if let reason { out["reason"] = reason }
        return out
    }

    /// A few human-readable lines for stderr.
    public var text: String {
        func pct(_ k: Int, _ n: Int) -> String {
            let (lo, hi) = Summary.wilson(k, n)
            return String(format: "%.2f%% [%.2f, %.2f]", 100 * Double(k) / Double(max(n, 1)), 100 * lo, 100 * hi)
        }
        var s = "\(modelName): \(n) images, \(config.attack.method.rawValue) (L\(config.attack.norm == .l2 ? "2" : "∞"), \(config.attack.loss.rawValue) loss), "
            + "eta \(config.eta), S_A \(config.attackSamples), S_I \(config.inferenceSamples)\n"
        s += "  clean accuracy        \(pct(clean, n))\n"
        if attacked > 0 {
            s += "  adversarial accuracy  \(pct(adversarial, n))   (fresh set: \(freshN > 0 ? pct(fresh, freshN) : "not run"))\n"
            s += "  linear condition      \(pct(linear, n))\n"
            s += lipschitz != nil ? "  smooth condition      \(pct(smooth, n))\n" : "  smooth condition      n/a (no L known for this model)\n"
            s += String(format: "  mean ||delta||        %.4f   median cos(alpha_j) %.4f   median ||grad m_j|| %.4g\n",
                        deltaNorm.sum / Double(max(deltaNorm.n, 1)), cosAlpha.q2.value ?? .nan, gradNorm.q2.value ?? .nan)
        }
        return s
    }
}

extension AttackTarget {
    /// Summary JSON: null, a class index, or "next".
    var jsonValue: Any {
        switch self {
        case .none: return NSNull()
        case .fixed(let t): return t
        case .next: return "next"
        }
    }
}
