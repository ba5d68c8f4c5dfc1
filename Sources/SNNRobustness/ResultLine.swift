import Foundation

/// The constants of one `snn evaluate` run, written at the start of every JSON line so that a
/// line says where it came from and `snn summarize` can rebuild the summary from lines alone.
public struct RunConstants: Equatable {
    public var model: String
    /// The model's number of classes (labels and predictions are 0..<classes).
    public var classes: Int
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
    /// "explicit" / "lazy" for a matrix-Gaussian MLP, nil otherwise (lines written before the
    /// lazy sampler have no field: explicit draws, read as nil).
    public var sampler: String?

    public init(model: String, classes: Int, config c: EvaluationConfig, lipschitz: Float?) {
        self.model = model; self.classes = classes; seed = c.seed; shareSamples = c.shareSamples
        independentSets = c.attackSetStream != 0 || c.inferenceSetStream != 0
        fresh = c.fresh; self.lipschitz = lipschitz; varianceSamples = c.varianceSamples
        countExtreme = c.countExtreme; randomStart = c.attack.randomStart
        sampler = c.sampler
        switch c.attack.target {
        case .none: targetMode = nil
        case .fixed(let t): targetMode = t
        case .next: targetMode = -1
        }
    }

    /// `target_mode` is null (untargeted), "fixed" (the class is each line's `target`) or "next":
    /// always a string or null, so a column never mixes numbers and strings.
    var json: [String: Any] {
        ["model": model, "classes": classes, "seed": seed, "share_samples": shareSamples, "independent_sets": independentSets,
         "fresh_set": fresh, "lipschitz": lipschitz.map { Double($0) } ?? NSNull(), "variance_samples": varianceSamples,
         "count_extreme": countExtreme, "random_start": randomStart,
         "target_mode": targetMode.map { $0 < 0 ? "next" : "fixed" } ?? NSNull(), "sampler": sampler ?? NSNull()]
    }

    /// `"classes":…,"model":"…",…` — the line prefix for `JSONLineWriter.prefix` (keys sorted).
    public var linePrefix: [UInt8] {
        let data = try! JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        return Array(data.dropFirst().dropLast())      // without the braces
    }

    init(line f: LineFields) throws {
        model = try f.string("model")
        classes = try f.int("classes", min: 1)
        let seedValue = try f.value("seed")
        guard !LineFields.isBoolean(seedValue), let sn = seedValue as? NSNumber, sn.doubleValue >= 0, sn.doubleValue.rounded() == sn.doubleValue else {
            throw f.error("field \"seed\" is \(f.shown(seedValue)), expected an integer ≥ 0")
        }
        seed = sn.uint64Value
        shareSamples = try f.bool("share_samples")
        independentSets = try f.bool("independent_sets")
        fresh = try f.bool("fresh_set")
        lipschitz = try f.optionalFloat("lipschitz")
        varianceSamples = try f.int("variance_samples", min: 0)
        countExtreme = try f.bool("count_extreme")
        randomStart = try f.bool("random_start")
        sampler = f.o["sampler"] == nil ? nil : try f.optionalString("sampler")
        if let s = sampler, s != "explicit" && s != "lazy" { throw f.error("field \"sampler\" is \"\(s)\", expected \"explicit\", \"lazy\" or null") }
        switch try f.optionalString("target_mode") {
        case nil: targetMode = nil
        case "next": targetMode = -1
        case "fixed": targetMode = try f.int("target", min: 0)
        case let other?: throw f.error("field \"target_mode\" is \"\(other)\", expected null, \"fixed\" or \"next\"")
        }
    }
}

public struct SummarizeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Typed look-ups into one parsed JSON line; every failure names the place ("file:line"), the
/// field and the problem.
struct LineFields {
    let o: [String: Any]
    let place: String

    func error(_ what: String) -> SummarizeError { SummarizeError("\(place): \(what)") }
    /// JSONSerialization gives true/false as a Boolean NSNumber subclass, and `1 is Bool` holds on
    /// Linux, so the class tells them apart.
    static func isBoolean(_ v: Any) -> Bool { String(describing: type(of: v)).hasSuffix("Boolean") }
    func shown(_ v: Any) -> String {
        if v is NSNull { return "null" }
        if let s = v as? String { return "\"\(s)\"" }
        if LineFields.isBoolean(v), let b = v as? Bool { return b ? "true" : "false" }
        if let n = v as? NSNumber { return "\(n.doubleValue.rounded() == n.doubleValue && abs(n.doubleValue) < 1e18 ? "\(Int64(n.doubleValue))" : "\(n.doubleValue)")" }
        return "\(v)"
    }
    func value(_ k: String) throws -> Any {
        guard let v = o[k] else { throw error("field \"\(k)\" missing") }
        return v
    }
    /// A JSON number (not a Boolean), or nil for null.
    func optionalNumber(_ k: String) throws -> Double? {
        let v = try value(k)
        if v is NSNull { return nil }
        if LineFields.isBoolean(v) || v is String { throw error("field \"\(k)\" is \(shown(v)), expected a number or null") }
        guard let n = v as? NSNumber else { throw error("field \"\(k)\" is \(shown(v)), expected a number or null") }
        return n.doubleValue
    }
    func optionalFloat(_ k: String) throws -> Float? { try optionalNumber(k).map(Float.init) }
    func float(_ k: String) throws -> Float {
        guard let v = try optionalNumber(k) else { throw error("field \"\(k)\" is null, expected a number") }
        return Float(v)
    }
    func optionalInt(_ k: String, min lo: Int, below hi: Int? = nil) throws -> Int? {
        let v = try value(k)
        if v is NSNull { return nil }
        guard !LineFields.isBoolean(v), !(v is String), let n = v as? NSNumber, n.doubleValue.rounded() == n.doubleValue,
              abs(n.doubleValue) < 9.007199254740992e15 else {
            throw error("field \"\(k)\" is \(shown(v)), expected an integer")
        }
        let i = n.intValue
        if i < lo || (hi != nil && i >= hi!) {
            throw error("field \"\(k)\" is \(i), expected " + (hi != nil ? "\(lo)…\(hi! - 1)" : "an integer ≥ \(lo)"))
        }
        return i
    }
    func int(_ k: String, min lo: Int, below hi: Int? = nil) throws -> Int {
        guard let i = try optionalInt(k, min: lo, below: hi) else { throw error("field \"\(k)\" is null, expected an integer") }
        return i
    }
    func optionalBool(_ k: String) throws -> Bool? {
        let v = try value(k)
        if v is NSNull { return nil }
        guard LineFields.isBoolean(v), let b = v as? Bool else { throw error("field \"\(k)\" is \(shown(v)), expected true, false or null") }
        return b
    }
    func bool(_ k: String) throws -> Bool {
        guard let b = try optionalBool(k) else { throw error("field \"\(k)\" is null, expected true or false") }
        return b
    }
    func optionalString(_ k: String) throws -> String? {
        let v = try value(k)
        if v is NSNull { return nil }
        guard let s = v as? String else { throw error("field \"\(k)\" is \(shown(v)), expected a string") }
        return s
    }
    func string(_ k: String) throws -> String {
        guard let s = try optionalString(k) else { throw error("field \"\(k)\" is null, expected a string") }
        return s
    }
    /// A radius written as a number, or as null with `<k>_infinite: true` for +∞.
    func radius(_ k: String) throws -> Float? {
        let infinite = try optionalBool(k + "_infinite")
        let v = try optionalFloat(k)
        switch (v, infinite) {
        case (nil, true?): return .infinity
        case (let r?, false?): return r
        case (nil, nil): return nil
        case (nil, false?): throw error("field \"\(k)\" is null but \"\(k)_infinite\" is false")
        case (_?, _): throw error("field \"\(k)\" is a number but \"\(k)_infinite\" is \(infinite.map { "\($0)" } ?? "null")")
        }
    }
}

extension AttackNorm {
    /// The value of `norm` in lines and summaries: "l2" or "linf" (strings no reader takes for numbers).
    public var jsonString: String { self == .l2 ? "l2" : "linf" }
    init?(jsonString s: String) {
        switch s { case "l2": self = .l2; case "linf": self = .linf; default: return nil }
    }
}

/// One parsed JSON line: the configuration it belongs to and the per-image values the summary uses.
public struct ResultLine {
    public var constants: RunConstants
    public var config: EvaluationConfig
    public var result: ImageResult
    /// The configuration's identity (η, S_A, S_I, attack, norm, loss, PGD), for grouping lines.
    public var configKey: String
    /// The configuration in words, for messages.
    public var configText: String

    /// Parses and checks one line: every field the summary reads must be present with its type,
    /// classes and indices in range; a failure names `place`, the field and the problem.
    public init(json o: [String: Any], where place: String) throws {
        let f = LineFields(o: o, place: place)
        constants = try RunConstants(line: f)
        let k = constants.classes
        let eta = try f.float("eta")
        guard eta >= 0 && eta.isFinite else { throw f.error("field \"eta\" is \(eta), expected a number ≥ 0") }
        var c = EvaluationConfig(eta: eta, attackSamples: try f.int("attack_samples", min: 1),
                                 inferenceSamples: try f.int("inference_samples", min: 1), seed: constants.seed)
        c.fresh = constants.fresh; c.shareSamples = constants.shareSamples; c.sampler = constants.sampler
        if constants.independentSets { c.attackSetStream = 1; c.inferenceSetStream = 1 }
        c.varianceSamples = constants.varianceSamples; c.countExtreme = constants.countExtreme
        let methodName = try f.string("attack"), normName = try f.string("norm"), lossName = try f.string("loss")
        guard let method = AttackMethod(rawValue: methodName) else { throw f.error("field \"attack\" is \"\(methodName)\", expected fgm, fgsm or pgd") }
        guard let norm = AttackNorm(jsonString: normName) else { throw f.error("field \"norm\" is \"\(normName)\", expected l2 or linf") }
        guard let loss = AttackLoss(rawValue: lossName) else { throw f.error("field \"loss\" is \"\(lossName)\", expected ce, margin or cw") }
        c.attack.method = method; c.attack.norm = norm; c.attack.loss = loss; c.attack.randomStart = constants.randomStart
        if method == .pgd { c.attack.pgdSteps = try f.int("pgd_steps", min: 1); c.attack.pgdStepSize = try f.float("pgd_step_size") }
        if let t = constants.targetMode { c.attack.target = t < 0 ? .next : .fixed(t) } else { c.attack.target = .none }
        config = c
        var r = ImageResult()
        r.index = try f.int("index", min: 0); r.label = try f.int("label", min: 0, below: k)
        r.eta = c.eta; r.attackSamples = c.attackSamples; r.inferenceSamples = c.inferenceSamples; r.attack = c.attack
        r.target = try f.optionalInt("target", min: 0, below: k) ?? -1
        r.cleanPrediction = try f.int("clean_prediction", min: 0, below: k)
        r.cleanProbability = try f.optionalFloat("clean_probability") ?? .nan
        r.attackPrediction = try f.optionalInt("attack_prediction", min: 0, below: k) ?? -1
        r.adversarialPrediction = try f.optionalInt("adversarial_prediction", min: 0, below: k) ?? -1
        r.freshAdversarialPrediction = try f.optionalInt("fresh_adversarial_prediction", min: 0, below: k) ?? -1
        if (eta > 0) != r.attacked {
            throw f.error(eta > 0 ? "field \"attack_prediction\" is null but eta is \(eta) (an attacked configuration)"
                                  : "field \"attack_prediction\" is set but eta is 0 (no attack)")
        }
        if r.attacked {
            // the attack's values the summary uses must be numbers
            r.deltaNorm = try f.float("delta_norm"); r.deltaLinf = try f.float("delta_linf")
            guard r.adversarialPrediction >= 0 else { throw f.error("field \"adversarial_prediction\" is null in an attacked configuration") }
            var cond = ConditionResult()
            cond.linear = try f.bool("linear_condition"); cond.smooth = try f.optionalBool("smooth_condition")
            guard let rl = try f.radius("min_r_linear") else { throw f.error("field \"min_r_linear\" is null and \"min_r_linear_infinite\" is null in an attacked configuration") }
            cond.minRLinear = rl
            cond.minRSmooth = try f.radius("min_r_smooth")
            cond.minClass = try f.int("min_class", min: 0, below: k); cond.runnerUpClass = try f.int("runner_up_class", min: 0, below: k)
            r.conditions = cond
            r.gradNorm = try f.float("grad_norm"); r.runnerUpGradNorm = try f.float("runner_up_grad_norm")
            r.minMargin = try f.float("runner_up_margin")
        } else {
            r.deltaNorm = try f.optionalFloat("delta_norm") ?? .nan; r.deltaLinf = try f.optionalFloat("delta_linf") ?? .nan
            r.gradNorm = try f.optionalFloat("grad_norm") ?? .nan; r.runnerUpGradNorm = try f.optionalFloat("runner_up_grad_norm") ?? .nan
            r.minMargin = try f.optionalFloat("runner_up_margin") ?? .nan
        }
        r.cosAlpha = try f.optionalFloat("cos_alpha") ?? .nan
        r.runnerUpCosAlpha = try f.optionalFloat("runner_up_cos_alpha") ?? .nan
        r.predictionVariance = try f.optionalFloat("prediction_variance") ?? .nan
        if constants.varianceSamples > 0 && r.predictionVariance.isNaN {
            throw f.error("field \"prediction_variance\" is null but the run has variance_samples \(constants.varianceSamples)")
        }
        r.extremeSamples = try f.optionalInt("extreme_samples", min: 0) ?? -1
        if constants.countExtreme && r.extremeSamples < 0 { throw f.error("field \"extreme_samples\" is null but the run has count_extreme true") }
        result = r
        configKey = "\(c.eta)|\(c.attackSamples)|\(c.inferenceSamples)|\(method.rawValue)|\(norm.rawValue)|\(loss.rawValue)|"
            + (method == .pgd ? "\(c.attack.pgdSteps)|\(c.attack.stepSize(eta: c.eta))" : "-")
        configText = "eta \(c.eta), S_A \(c.attackSamples), S_I \(c.inferenceSamples), \(method.rawValue) \(norm.jsonString) \(loss.rawValue)"
            + (method == .pgd ? ", \(c.attack.pgdSteps) steps" : "")
    }
}

/// Rebuilds the summaries (docs/METHOD.md §Summaries) from JSON lines (one run, or the shards of one run in any
/// order): lines are put back in image order per configuration, so counts, rates and means are
/// those `snn evaluate --summary` writes for the whole stream, bit for bit; the quartiles are
/// exact (all values are at hand) where `snn evaluate` keeps its P² estimates.
///
/// The lines must form one complete run: one run's constants, the same sweep in every file, every
/// image index 0…N−1 present with one line per configuration, each image with one label.
public enum LineSummarizer {
    /// `lines`: parsed lines with the file they came from and their place ("file:line").
    /// `outcomes`: also record the per-image outcome vectors (`Summary.Outcomes`).
    public static func summarize(_ lines: [(line: ResultLine, place: String)], files: [String]? = nil,
                                 outcomes: Bool = false) throws -> [Summary] {
        guard let first = lines.first else { throw SummarizeError("no JSON lines to summarize") }
        for (l, place) in lines where l.constants != first.line.constants {
            let what = l.constants.model != first.line.constants.model
                ? "model \"\(l.constants.model)\" but \(first.place) is from model \"\(first.line.constants.model)\""
                : "run settings (classes, seed, sets, fresh, variance, target) that differ from \(first.place)"
            throw SummarizeError("\(place): line from \(what); lines of different runs cannot be summarized together")
        }
        // the file of a place is everything before its last ":"
        func file(_ place: String) -> String { String(place[..<(place.lastIndex(of: ":") ?? place.endIndex)]) }
        // every file must hold the same sweep (shards of one run do; two different runs do not)
        var sweep: [String: (first: String, keys: Set<String>, text: [String: String])] = [:]
        var fileOrder: [String] = []
        for (l, place) in lines {
            let name = file(place)
            if sweep[name] == nil { sweep[name] = (place, [], [:]); fileOrder.append(name) }
            if sweep[name]!.keys.insert(l.configKey).inserted { sweep[name]!.text[l.configKey] = "(" + l.configText + "; first at " + place + ")" }
        }
        let reference = sweep[fileOrder[0]]!
        for name in fileOrder.dropFirst() {
            let other = sweep[name]!
            if let extra = other.keys.subtracting(reference.keys).sorted().first {
                throw SummarizeError("\(name): configuration \(other.text[extra]!) is not in \(fileOrder[0]): the files are not shards of one run "
                                     + "(different sweeps); summarize each run on its own")
            }
            if let missing = reference.keys.subtracting(other.keys).sorted().first {
                throw SummarizeError("\(name): no line for configuration \(reference.text[missing]!): the files are not shards "
                                     + "of one run (different sweeps); summarize each run on its own")
            }
        }
        // labels agree per image; no (image, configuration) twice
        var labelOf: [Int: (label: Int, place: String)] = [:]
        var seen = Set<String>()
        var maxIndex = (index: -1, place: "")
        for (l, place) in lines {
            let i = l.result.index
            if let known = labelOf[i], known.label != l.result.label {
                throw SummarizeError("\(place): image \(i) has label \(l.result.label), but \(known.place) gives it label \(known.label)")
            }
            if labelOf[i] == nil { labelOf[i] = (l.result.label, place) }
            guard seen.insert("\(i)#\(l.configKey)").inserted else {
                throw SummarizeError("\(place): image \(i) appears twice for the same configuration (overlapping shards or a file given twice?)")
            }
            if i > maxIndex.index { maxIndex = (i, place) }
        }
        // image indices 0…N−1, each with every configuration
        let n = labelOf.count
        if maxIndex.index >= n {
            let missing = (0..<n).first { labelOf[$0] == nil } ?? n
            var hint = ""
            if let (r, m) = shardPattern(Set(labelOf.keys)) {
                hint = " (every index is \(r) mod \(m): the lines of a single shard \(r)/\(m)? give the files of all \(m) shards)"
            } else {
                hint = " (a shard or a file is missing, or the index is wrong)"
            }
            throw SummarizeError("\(maxIndex.place): image index \(maxIndex.index), but the lines hold \(n) images and image \(missing) has none: "
                                 + "the images of a run are 0…N−1\(hint)")
        }
        for key in reference.keys.sorted() {
            for i in 0..<n where !seen.contains("\(i)#\(key)") {
                throw SummarizeError("\(labelOf[i]!.place): image \(i) has no line for configuration \(reference.text[key]!) "
                                     + "(a line is missing or cut)")
            }
        }
        let order = lines.indices.sorted { (lines[$0].line.result.index, $0) < (lines[$1].line.result.index, $1) }
        var byKey: [String: Int] = [:]
        var sums: [Summary] = []
        for i in order {
            let l = lines[i].line
            if byKey[l.configKey] == nil {
                byKey[l.configKey] = sums.count
                sums.append(Summary(config: l.config, modelName: l.constants.model, lipschitz: l.constants.lipschitz,
                                    exactQuartiles: true, outcomes: outcomes))
            }
            sums[byKey[l.configKey]!].add(l.result)
        }
        return sums
    }

    /// (r, m) when every index is r mod m for some 2 ≤ m ≤ 64 (the images of one shard r/m).
    static func shardPattern(_ indices: Set<Int>) -> (Int, Int)? {
        guard let lo = indices.min(), indices.count > 1 else { return nil }
        for m in 2...64 where indices.allSatisfy({ $0 % m == lo % m }) { return (lo % m, m) }
        return nil
    }
}
