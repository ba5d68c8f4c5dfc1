/// Everything `snn evaluate` reports for one (image, configuration). Plain values only, so
/// filling and writing one allocates nothing. NaN stands for "not computed" and is written as null.
public struct ImageResult {
    public var index = 0
    public var label = 0
    public var eta: Float = 0
    public var attackSamples = 0
    public var inferenceSamples = 0
    public var attack = AttackConfig()
    public var target = -1                            // target class of a targeted attack, −1 if untargeted
    public var cleanPrediction = 0
    public var cleanProbability: Float = .nan         // f^I_y(x)
    public var attackPrediction = -1                  // argmax f^A(x); −1 if no attack
    public var adversarialPrediction = -1             // argmax f^I(x_adv), same set I
    public var freshAdversarialPrediction = -1        // argmax with a fresh set; −1 if not run
    public var deltaNorm: Float = .nan                // ‖x_adv − x‖₂ after clipping
    public var deltaLinf: Float = .nan
    public var conditions: ConditionResult? = nil
    public var cosAlpha: Float = .nan                 // of class j = conditions.minClass
    public var gradNorm: Float = .nan                 // ‖∇m_j‖
    public var runnerUpCosAlpha: Float = .nan         // of j' = conditions.runnerUpClass
    public var runnerUpGradNorm: Float = .nan
    public var minMargin: Float = .nan                // m_{j'}
    public var predictionVariance: Float = .nan       // (1/V) Σ_v (f_y(x, θ_v) − f̄_y)², V = --variance-samples
    public var extremeSamples = -1                    // inference samples with max_c f_c(x, θ) == 1; −1 if not counted

    public init() {}
    public var cleanCorrect: Bool { cleanPrediction == label }
    public var attacked: Bool { attackPrediction >= 0 }
}

extension ImageResult {
    /// The conditions (docs/METHOD.md §Conditions, §Reported classes) and the cos α / gradient norms of j = argmin r̃_c and j' = argmin m_c
    /// from the margins m_c, the directional derivatives d_c and the norms ‖∇m_c‖ of one configuration.
    mutating func setConditions(classes k: Int, margins: UnsafePointer<Float>, directional: UnsafePointer<Float>,
                                gradNorms: UnsafePointer<Float>, lipschitz: Float?) {
        let correct = attackPrediction == label && cleanPrediction == label
        let cond = Conditions.evaluate(label: label, classes: k, margins: margins, directional: directional, gradNorms: gradNorms,
                                       deltaNorm: deltaNorm, lipschitz: lipschitz, classifiedCorrectly: correct)
        conditions = cond
        let j = cond.minClass, j2 = cond.runnerUpClass
        gradNorm = gradNorms[j]
        cosAlpha = Conditions.cosAlpha(directional: directional[j], gradNorm: gradNorms[j], deltaNorm: deltaNorm)
        runnerUpGradNorm = gradNorms[j2]
        runnerUpCosAlpha = Conditions.cosAlpha(directional: directional[j2], gradNorm: gradNorms[j2], deltaNorm: deltaNorm)
        minMargin = margins[j2]
    }
}
