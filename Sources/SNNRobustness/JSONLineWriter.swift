/// Writes one JSON object into a fixed byte buffer without allocating. Conventions (README):
/// every number is a JSON number; a value that is not a finite number (∞, NaN: not computed or
/// undefined) is null, and the two radii that can be +∞ say so in a boolean beside them.
///
/// The buffer is sized at start from the run's constant prefix plus `bodyCapacity`, which bounds
/// every line body `ImageResult.write(to:)` can produce, so a line never overflows. If one did
/// anyway, bytes past the capacity are dropped and `overflowed` is set: the caller must not write
/// the line (nothing traps).
public struct JSONLineWriter {
    /// Bytes reserved for a line's fields after the prefix: ~45 fields, none longer than ~60 bytes
    /// (key, a Float's shortest decimal or an Int's 20 digits, punctuation), comfortably below this.
    public static let bodyCapacity = 4096

    public let capacity: Int
    public let bytes: UnsafeMutablePointer<UInt8>
    public private(set) var count = 0
    /// Set when a line did not fit (its bytes are incomplete); cleared by `begin()`.
    public private(set) var overflowed = false
    var first = true

    public init(capacity: Int = JSONLineWriter.bodyCapacity) {
        self.capacity = capacity
        bytes = .allocate(capacity: capacity)
    }
    /// A writer whose buffer fits `prefix` (the run's constants, of any length) plus a line body.
    public init(prefix: [UInt8]) {
        self.init(capacity: prefix.count + JSONLineWriter.bodyCapacity)
        self.prefix = prefix
    }
    public func deallocate() { bytes.deallocate() }

    /// Fields written at the start of every line (the run's constants: model, seed, …), as JSON
    /// text without braces. Set once before the first line; writing it copies bytes only.
    public var prefix: [UInt8] = []

    public mutating func begin() {
        count = 0; first = true; overflowed = false; put(UInt8(ascii: "{"))
        if !prefix.isEmpty { for b in prefix { put(b) }; first = false }
    }
    public mutating func end() { put(UInt8(ascii: "}")); put(UInt8(ascii: "\n")) }

    @inline(__always) mutating func put(_ b: UInt8) {
        guard count < capacity else { overflowed = true; return }
        bytes[count] = b; count += 1
    }
    mutating func put(_ s: StaticString) {
        s.withUTF8Buffer { for b in $0 { put(b) } }
    }
    mutating func key(_ k: StaticString) {
        if !first { put(UInt8(ascii: ",")) }
        first = false
        put(UInt8(ascii: "\"")); put(k); put(UInt8(ascii: "\"")); put(UInt8(ascii: ":"))
    }

    public mutating func field(_ k: StaticString, _ v: Int) {
        key(k)
        if v < 0 { put(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[n] = UInt8(truncatingIfNeeded: m % 10) + 48; m /= 10; n += 1 } while m > 0
            while n > 0 { n -= 1; put(d[n]) }
        }
    }
    public mutating func field(_ k: StaticString, _ v: Bool) { key(k); put(v ? "true" : "false") }
    public mutating func field(_ k: StaticString, _ v: Bool?) {
        key(k)
        if let v { put(v ? "true" : "false") } else { put("null") }
    }
    public mutating func null(_ k: StaticString) { key(k); put("null") }
    /// A string value known at compile time (no escaping needed).
    public mutating func field(_ k: StaticString, _ v: StaticString) {
        key(k); put(UInt8(ascii: "\"")); put(v); put(UInt8(ascii: "\""))
    }
    /// Shortest round-trip decimal (Swift's float printing; at most 15 bytes, so no heap string).
    public mutating func field(_ k: StaticString, _ v: Float?) {
        key(k)
        guard let v, v.isFinite else { put("null"); return }
        var s = v.description
        s.withUTF8 { for b in $0 { put(b) } }
    }
    /// Optional-class index: −1 is written as null.
    public mutating func classField(_ k: StaticString, _ v: Int) {
        if v < 0 { null(k) } else { field(k, v) }
    }
}

extension ImageResult {
    /// The documented JSON line (field names are a contract: see README).
    public func write(to w: inout JSONLineWriter) {
        w.begin()
        w.field("index", index)
        w.field("label", label)
        w.field("eta", eta)
        w.field("attack_samples", attackSamples)
        w.field("inference_samples", inferenceSamples)
        w.field("attack", attack.method.jsonName)
        w.field("norm", attack.norm.jsonName)
        w.field("loss", attack.loss.jsonName)
        w.classField("target", target)
        if attack.method == .pgd {
            w.field("pgd_steps", attack.pgdSteps); w.field("pgd_step_size", attack.stepSize(eta: eta))
        } else {
            w.null("pgd_steps"); w.null("pgd_step_size")
        }
        w.field("clean_prediction", cleanPrediction)
        w.field("clean_correct", cleanCorrect)
        w.field("clean_probability", cleanProbability)
        w.classField("attack_prediction", attackPrediction)
        w.classField("adversarial_prediction", adversarialPrediction)
        w.field("adversarial_correct", attacked ? adversarialPrediction == label : nil as Bool?)
        w.classField("fresh_adversarial_prediction", freshAdversarialPrediction)
        w.field("fresh_adversarial_correct", freshAdversarialPrediction >= 0 ? freshAdversarialPrediction == label : nil as Bool?)
        w.field("delta_norm", deltaNorm)
        w.field("delta_linf", deltaLinf)
        w.field("min_r_linear", conditions?.minRLinear)
        w.field("min_r_linear_infinite", conditions.map { $0.minRLinear == .infinity })
        w.field("min_r_smooth", conditions?.minRSmooth)
        w.field("min_r_smooth_infinite", conditions?.minRSmooth.map { $0 == .infinity })
        w.field("linear_condition", conditions?.linear)
        w.field("smooth_condition", conditions?.smooth ?? nil)
        w.classField("min_class", conditions?.minClass ?? -1)
        w.field("cos_alpha", cosAlpha)
        w.field("grad_norm", gradNorm)
        w.classField("runner_up_class", conditions?.runnerUpClass ?? -1)
        w.field("runner_up_margin", minMargin)
        w.field("runner_up_cos_alpha", runnerUpCosAlpha)
        w.field("runner_up_grad_norm", runnerUpGradNorm)
        w.field("prediction_variance", predictionVariance)
        if extremeSamples >= 0 { w.field("extreme_samples", extremeSamples) } else { w.null("extreme_samples") }
        w.end()
    }
}

// Compile-time names for the JSON lines (a String rawValue could not be written without copying).
extension AttackMethod {
    var jsonName: StaticString { switch self { case .fgm: "fgm"; case .fgsm: "fgsm"; case .pgd: "pgd" } }
}
extension AttackNorm {
    var jsonName: StaticString { switch self { case .l2: "l2"; case .linf: "linf" } }
}
extension AttackLoss {
    var jsonName: StaticString { switch self { case .ce: "ce"; case .margin: "margin"; case .cw: "cw" } }
}
