import SNNRuntime

/// One configuration of `snn evaluate`: the attack and the two sample sets (docs/METHOD.md §Attacks, §Conditions).
public struct EvaluationConfig: Sendable, Equatable {
    /// Attack length η (L2 for FGM). η = 0 evaluates clean accuracy only.
    public var eta: Float
    /// S_A: samples in the attack set A.
    public var attackSamples: Int
    /// S_I: samples in the inference set I (and in the fresh set).
    public var inferenceSamples: Int
    public var seed: UInt64
    /// Also predict x_adv with an independent set (role `fresh`).
    public var fresh = true
    /// One set of realizations for all images (docs/METHOD.md §Sharing mode) instead of one per image.
    public var shareSamples = false
    /// FGM / FGSM / PGD, norm, loss, target (docs/METHOD.md §Attacks).
    public var attack = AttackConfig()
    /// How the model's realizations were drawn ("explicit" or "lazy" for a matrix-Gaussian MLP,
    /// docs/METHOD.md §Lazy sampler; nil for models without the choice): recorded in lines and
    /// summaries, since the two samplers use different random numbers.
    public var sampler: String? = nil

    public init(eta: Float, attackSamples: Int, inferenceSamples: Int, seed: UInt64) {
        self.eta = eta; self.attackSamples = attackSamples; self.inferenceSamples = inferenceSamples; self.seed = seed
    }

    /// Which streams the attack and inference sets come from: 0 is the shared stream, whose first
    /// S samples form the S-sample set (docs/METHOD.md §Nested and independent sets); `--independent-sets` gives each
    /// requested S its own stream 1, 2, … (the step field's bits 16–23; bits 0–15 number PGD steps).
    public var attackSetStream: UInt32 = 0
    public var inferenceSetStream: UInt32 = 0
    /// Prediction variance over this many samples of role `variance` (0: not computed).
    public var varianceSamples = 0
    /// Count inference samples with max_c f_c(x, θ) == 1 exactly (docs/METHOD.md §Extreme predictions).
    public var countExtreme = false

    /// The counter address of sample `s` of `role` for image `image`.
    @inlinable public func address(_ role: RandomRole, image: Int, sample: Int, step: Int = 0) -> RandomAddress {
        RandomAddress(seed: seed, role: role, image: shareSamples ? RandomAddress.sharedImage : UInt32(truncatingIfNeeded: image),
                      sample: UInt32(sample), step: RandomReservations.step(step, stream: stream(role)))
    }

    @inlinable func stream(_ role: RandomRole) -> UInt32 {
        switch role {
        case .attack: return attackSetStream
        case .inference, .fresh: return inferenceSetStream
        default: return 0
        }
    }
}
