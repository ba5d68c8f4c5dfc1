import Foundation

/// The constants of one `snn evaluate` run, written at the start of every JSON line so that a
/// line says where it came from and `snn summarize` can rebuild the summary from lines alone.
public struct RunConstants: Equatable {
    public var model: String
    public var seed: UInt64
    public var shareSamples: Bool
    public var independentSets: Bool
    public var fresh: Bool
    public var lipschitz: Float?
    public var varianceSamples: Int
    public var countExtreme: Bool
    public var randomStart: Bool
    /// Target mode: nil untargeted, a class, or −1 for "next".
    public var targetMode: Int?

    public init(model: String, config c: EvaluationConfig, lipschitz: Float?) {
        self.model = model; seed = c.seed; shareSamples = c.shareSamples
        independentSets = c.attackSetStream != 0 || c.inferenceSetStream != 0
        fresh = c.fresh; self.lipschitz = lipschitz; varianceSamples = c.varianceSamples
        countExtreme = c.countExtreme; randomStart = c.attack.randomStart
        switch c.attack.target {
        case .none: targetMode = nil
        case .fixed(let t): targetMode = t
        case .next: targetMode = -1
        }
    }

    var json: [String: Any] {
        ["model": model, "seed": seed, "share_samples": shareSamples, "independent_sets": independentSets, "fresh_set": fresh,
         "lipschitz": lipschitz.map { Double($0) } ?? NSNull(), "variance_samples": varianceSamples, "count_extreme": countExtreme,
         "random_start": randomStart, "target_mode": targetMode.map { $0 < 0 ? "next" as Any : $0 as Any } ?? NSNull()]
    }

    /// `"model":"…","seed":…` — the line prefix for `JSONLineWriter.prefix` (keys sorted).
    public var linePrefix: [UInt8] {
        let data = try! JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        return Array(data.dropFirst().dropLast())      // without the braces
    }

    init(line o: [String: Any], where place: String) throws {
        func need<T>(_ k: String, _ t: T.Type) throws -> T {
            guard let v = o[k] as? T else { throw SummarizeError("\(place): field \"\(k)\" missing or of the wrong type") }
            return v
        }
        model = try need("model", String.self)
        seed = try need("seed", NSNumber.self).uint64Value
        shareSamples = try need("share_samples", Bool.self)
        independentSets = try need("independent_sets", Bool.self)
        fresh = try need("fresh_set", Bool.self)
        lipschitz = (o["lipschitz"] as? NSNumber).map { Float($0.doubleValue) }
        varianceSamples = try need("variance_samples", Int.self)
        countExtreme = try need("count_extreme", Bool.self)
        randomStart = try need("random_start", Bool.self)
        if let s = o["target_mode"] as? String, s == "next" { targetMode = -1 } else { targetMode = (o["target_mode"] as? NSNumber)?.intValue }
    }
}

public struct SummarizeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// One parsed JSON line: the configuration it belongs to and the per-image values the summary uses.
public struct ResultLine {
    public var constants: RunConstants
    public var config: EvaluationConfig
    public var result: ImageResult
    /// The configuration's identity (η, S_A, S_I, attack, norm, loss, PGD), for grouping lines.
    public var configKey: String

    public init(json o: [String: Any], where place: String) throws {
        constants = try RunConstants(line: o, where: place)
        func num(_ k: String) throws -> NSNumber {
            guard let v = o[k] as? NSNumber else { throw SummarizeError("\(place): field \"\(k)\" missing or not a number") }
            return v
        }
        func float(_ k: String) -> Float {
            if let n = o[k] as? NSNumber { return Float(n.doubleValue) }
            if let s = o[k] as? String { return s == "inf" ? .infinity : (s == "-inf" ? -.infinity : .nan) }
            return .nan
        }
        func cls(_ k: String) -> Int { (o[k] as? NSNumber)?.intValue ?? -1 }
        func str(_ k: String) throws -> String {
            guard let v = o[k] as? String else { throw SummarizeError("\(place): field \"\(k)\" missing or not a string") }
            return v
        }
        var c = EvaluationConfig(eta: Float(try num("eta").doubleValue), attackSamples: try num("attack_samples").intValue,
                                 inferenceSamples: try num("inference_samples").intValue, seed: constants.seed)
        c.fresh = constants.fresh; c.shareSamples = constants.shareSamples
        if constants.independentSets { c.attackSetStream = 1; c.inferenceSetStream = 1 }
        c.varianceSamples = constants.varianceSamples; c.countExtreme = constants.countExtreme
        guard let method = AttackMethod(rawValue: try str("attack")), let norm = AttackNorm(rawValue: try str("norm")),
              let loss = AttackLoss(rawValue: try str("loss")) else { throw SummarizeError("\(place): unknown attack, norm or loss") }
        c.attack.method = method; c.attack.norm = norm; c.attack.loss = loss; c.attack.randomStart = constants.randomStart
        if method == .pgd { c.attack.pgdSteps = try num("pgd_steps").intValue; c.attack.pgdStepSize = float("pgd_step_size") }
        if let t = constants.targetMode { c.attack.target = t < 0 ? .next : .fixed(t) } else { c.attack.target = .none }
        config = c
        var r = ImageResult()
        r.index = try num("index").intValue; r.label = try num("label").intValue
        r.eta = c.eta; r.attackSamples = c.attackSamples; r.inferenceSamples = c.inferenceSamples; r.attack = c.attack
        r.target = cls("target")
        r.cleanPrediction = try num("clean_prediction").intValue
        r.cleanProbability = float("clean_probability")
        r.attackPrediction = cls("attack_prediction"); r.adversarialPrediction = cls("adversarial_prediction")
        r.freshAdversarialPrediction = cls("fresh_adversarial_prediction")
        r.deltaNorm = float("delta_norm"); r.deltaLinf = float("delta_linf")
        if let linear = o["linear_condition"] as? Bool {
            var cond = ConditionResult()
            cond.linear = linear; cond.smooth = o["smooth_condition"] as? Bool
            cond.minRLinear = float("min_r_linear")
            cond.minRSmooth = o["min_r_smooth"] is NSNull ? nil : float("min_r_smooth")
            cond.minClass = cls("min_class"); cond.runnerUpClass = cls("runner_up_class")
            r.conditions = cond
        }
        r.cosAlpha = float("cos_alpha"); r.gradNorm = float("grad_norm")
        r.runnerUpCosAlpha = float("runner_up_cos_alpha"); r.runnerUpGradNorm = float("runner_up_grad_norm")
        r.minMargin = float("runner_up_margin")
        r.predictionVariance = float("prediction_variance")
        r.extremeSamples = (o["extreme_samples"] as? NSNumber)?.intValue ?? -1
        result = r
        configKey = "\(c.eta)|\(c.attackSamples)|\(c.inferenceSamples)|\(method.rawValue)|\(norm.rawValue)|\(loss.rawValue)|"
            + (method == .pgd ? "\(c.attack.pgdSteps)|\(c.attack.stepSize(eta: c.eta))" : "-")
    }
}

/// Rebuilds the summaries (docs/METHOD.md §Summaries) from JSON lines (one run, or the shards of one run in any
/// order): lines are put back in image order per configuration, so the result is the summary
/// `snn evaluate --summary` writes for the whole stream, bit for bit.
public enum LineSummarizer {
    /// `lines`: parsed lines with the place they came from ("file:line").
    public static func summarize(_ lines: [(line: ResultLine, place: String)]) throws -> [Summary] {
        guard let first = lines.first else { throw SummarizeError("no JSON lines to summarize") }
        for (l, place) in lines where l.constants != first.line.constants {
            let what = l.constants.model != first.line.constants.model
                ? "model \"\(l.constants.model)\" but \(first.place) is from model \"\(first.line.constants.model)\""
                : "run settings (seed, sets, fresh, variance, target) that differ from \(first.place)"
            throw SummarizeError("\(place): line from \(what); lines of different runs cannot be summarized together")
        }
        let order = lines.indices.sorted { (lines[$0].line.result.index, $0) < (lines[$1].line.result.index, $1) }
        var configs: [String] = [], byKey: [String: Int] = [:]
        var sums: [Summary] = []
        var seen = Set<String>()
        for i in order {
            let (l, place) = lines[i]
            if byKey[l.configKey] == nil {
                byKey[l.configKey] = configs.count; configs.append(l.configKey)
                sums.append(Summary(config: l.config, modelName: l.constants.model, lipschitz: l.constants.lipschitz))
            }
            guard seen.insert("\(l.result.index)#\(l.configKey)").inserted else {
                throw SummarizeError("\(place): image \(l.result.index) appears twice for the same configuration (overlapping shards or a file given twice?)")
            }
            sums[byKey[l.configKey]!].add(l.result)
        }
        let n = sums[0].n
        if let odd = sums.first(where: { $0.n != n }) {
            throw SummarizeError("configurations cover different numbers of images (\(n) and \(odd.n)): a shard or file is missing or incomplete")
        }
        return sums
    }
}
