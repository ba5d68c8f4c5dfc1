import Foundation

/// Running summary of one configuration (docs/METHOD.md §Summaries): counts, accuracies with 95% Wilson intervals,
/// condition rates, and mean/quartiles of ‖δ‖, cos α_j, ‖∇m_j‖ and ‖∇m_j‖·cos α_j.
/// Memory is constant in the number of images.
public struct Summary {
    public struct Stat {
        var sum = 0.0, n = 0
        var q1 = StreamingQuantile(0.25), q2 = StreamingQuantile(0.5), q3 = StreamingQuantile(0.75)
        mutating func add(_ v: Float) {
            guard v.isFinite else { return }
            let d = Double(v)
            sum += d; n += 1; q1.add(d); q2.add(d); q3.add(d)
        }
        var json: [String: Any] {
            ["n": n, "mean": n > 0 ? sum / Double(n) : NSNull(), "q1": q1.value ?? NSNull(), "median": q2.value ?? NSNull(), "q3": q3.value ?? NSNull()]
        }
    }

    public let config: EvaluationConfig
    public let modelName: String
    public let lipschitz: Float?
    public private(set) var n = 0
    var clean = 0, adversarial = 0, fresh = 0, freshN = 0, attacked = 0
    var linear = 0, smooth = 0
    var deltaNorm = Stat(), cosAlpha = Stat(), gradNorm = Stat(), cosTimesNorm = Stat()
    var variance = Stat(), extremeSamples = 0, extremeImages = 0, extremeCounted = 0

    public init(config: EvaluationConfig, modelName: String, lipschitz: Float?) {
        self.config = config; self.modelName = modelName; self.lipschitz = lipschitz
    }

    public mutating func add(_ r: ImageResult) {
        n += 1
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
            "model": modelName, "attack": config.attack.method.rawValue, "norm": config.attack.norm.rawValue,
            "loss": config.attack.loss.rawValue, "target": config.attack.target.jsonValue,
            "pgd_steps": config.attack.method == .pgd ? config.attack.pgdSteps : NSNull(),
            "pgd_step_size": config.attack.method == .pgd ? Double(config.attack.stepSize(eta: config.eta)) : NSNull(),
            "random_start": config.attack.method == .pgd ? config.attack.randomStart : NSNull(),
            "eta": Double(config.eta), "attack_samples": config.attackSamples, "inference_samples": config.inferenceSamples,
            "seed": config.seed, "share_samples": config.shareSamples, "lipschitz": lipschitz.map { Double($0) } ?? NSNull(),
            "images": n, "clean_accuracy": rate(clean, n),
            "independent_sets": config.attackSetStream != 0 || config.inferenceSetStream != 0,
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
        }
        return out
    }

    /// The summary file: the model, the number of images and one object per configuration.
    public static func file(_ sums: [Summary]) -> [String: Any] {
        ["model": sums.first?.modelName ?? "", "images": sums.first?.n ?? 0, "configurations": sums.map(\.json)]
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
