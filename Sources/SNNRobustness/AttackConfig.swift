/// The attack (docs/METHOD.md §Attacks): method, norm, loss, target and the PGD schedule.
public enum AttackMethod: String, Sendable, CaseIterable {
    /// One normalised gradient step of length η (L2).
    case fgm
    /// One sign step of length η (L∞).
    case fgsm
    /// T projected steps of size ν, a fresh attack set per step.
    case pgd
}

public enum AttackNorm: String, Sendable, CaseIterable {
    case l2 = "2"
    case linf = "inf"
}

public enum AttackLoss: String, Sendable, CaseIterable {
    /// −log f^A_y (cross-entropy of the averaged probabilities).
    case ce
    /// −(f^A_y − max_{c≠y} f^A_c).
    case margin
    /// Carlini–Wagner on averaged logits Z̄ = (1/S_A) Σ_s z(x, θ_s) (paper C.3):
    /// untargeted max(Z̄_y − max_{i≠y} Z̄_i, 0), targeted max(max_{i≠t} Z̄_i − Z̄_t, 0), both descended.
    case cw
}

/// Untargeted, a fixed class for every image, or the class after the label ((y + 1) mod k).
public enum AttackTarget: Equatable, Sendable {
    case none
    case fixed(Int)
    case next

    /// The target class for an image with label y, or nil when untargeted.
    public func resolve(label y: Int, classes k: Int) -> Int? {
        switch self {
        case .none: return nil
        case .fixed(let t): return t
        case .next: return (y + 1) % k
        }
    }
}

public struct AttackConfig: Sendable, Equatable {
    public var method: AttackMethod = .fgm
    public var norm: AttackNorm = .l2
    public var loss: AttackLoss = .ce
    public var target: AttackTarget = .none
    /// PGD: steps T and step size ν (nil: η/5), random start inside the η-ball.
    public var pgdSteps = 10
    public var pgdStepSize: Float? = nil
    public var randomStart = false
    public init() {}

    /// Why this combination is not an attack of docs/METHOD.md §Attacks, or nil.
    public var problem: String? {
        switch (method, norm) {
        case (.fgm, .linf): return "--attack fgm is the L2 attack; use --attack fgsm or --attack pgd --norm inf for L∞"
        case (.fgsm, .l2): return "--attack fgsm is the L∞ (sign) attack; use --attack fgm or --attack pgd --norm 2 for L2"
        default: break
        }
        if loss == .cw && norm == .linf {
            return "--loss cw is the logit attack of the paper's appendix C.3, defined with L2 steps; it conflicts with --norm inf"
        }
        if method == .pgd {
            if pgdSteps < 1 { return "--pgd-steps must be at least 1" }
            if let v = pgdStepSize, !(v > 0 && v.isFinite) { return "--pgd-step-size must be a positive number" }
        }
        return nil
    }

    /// The step size of PGD for attack length η.
    public func stepSize(eta: Float) -> Float { pgdStepSize ?? eta / 5 }
}
