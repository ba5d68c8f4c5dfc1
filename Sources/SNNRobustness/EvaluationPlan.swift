import SNNModels
import SNNRuntime

/// What one image of a sweep computes, derived from the configurations alone (no buffers, no
/// model state): a pure value that `Evaluator` executes and whose buffer sizes it allocates
/// (`EvaluationBuffers`). One configuration is a sweep of one. Why the sharing below gives each
/// configuration the same answer as a run of it alone: docs/METHOD.md §Nested and independent sets.
///
///   attacks    one per distinct (η, S_A, attack set); FGM/FGSM reuse the direction at x across η
///              (`sharesDirection`), and with the cross-entropy loss one pass over a set's largest
///              S_A gives every smaller S_A's direction as a prefix (`usePrefixes`, the pass fields)
///   inference  one group per inference-set stream: one pass over its largest S_I, read at each S_I
///   strategy   the full Jacobian (k VJPs per realization, one Jacobian serves every δ) or two passes
///              (a JVP per attack, then a second pass with the VJPs of the classes j, j′ needed)
public struct EvaluationPlan: Sendable {
    /// The configurations of one inference-set stream, with their S_I values ascending.
    public struct InferenceGroup: Sendable, Equatable {
        public let stream: UInt32
        public let sizes: [Int]
        public let configs: [Int]
    }

    public let configs: [EvaluationConfig]
    /// Distinct attacks (η > 0), sorted so that the same (attack set, S_A) are adjacent.
    public let attacks: [EvaluationConfig]
    /// attackOf[c]: configuration c's attack, −1 for η = 0.
    public let attackOf: [Int]
    /// FGM/FGSM attacks whose direction at x is the previous attack's (same S_A and set).
    public let sharesDirection: [Bool]
    /// FGM/FGSM with the cross-entropy loss: directions as prefixes of one pass per attack set.
    public let usePrefixes: Bool
    /// Prefix rows: attack a's direction is row prefixRow[a]; a pass over passSamples[a] samples
    /// starts at each attack with passStart[a] (the first of its set) and fills rows
    /// passFirstRow[a] ..< passFirstRow[a] + passRows[a], at the S_A values prefixSizes.
    public let prefixRow, passFirstRow, passRows, passSamples, prefixSizes: [Int]
    public let passStart: [Bool]
    public let groups: [InferenceGroup]
    public let strategy: GradientStrategy

    /// `preferred`: the model's gradient strategy; `strategy` forces one (tests run both).
    /// The full Jacobian costs k VJPs per realization for every attack together; two passes cost a
    /// JVP per attack plus a forward and ~2 VJPs: past a few attacks the Jacobian is cheaper.
    public init(configs: [EvaluationConfig], preferred: GradientStrategy = .fullJacobian, strategy: GradientStrategy? = nil) {
        precondition(!configs.isEmpty)
        self.configs = configs
        var atk: [EvaluationConfig] = []
        for c in configs where c.eta > 0 && !atk.contains(where: { Self.sameAttack($0, c) }) { atk.append(c) }
        atk = atk.enumerated().sorted { a, b in
            (a.element.attackSetStream, a.element.attackSamples, a.offset) < (b.element.attackSetStream, b.element.attackSamples, b.offset)
        }.map(\.element)
        attacks = atk
        attackOf = configs.map { c in atk.firstIndex { Self.sameAttack($0, c) } ?? -1 }
        sharesDirection = atk.indices.map { i in
            i > 0 && atk[i].attack.method != .pgd && atk[i - 1].attackSamples == atk[i].attackSamples
                && atk[i - 1].attackSetStream == atk[i].attackSetStream
        }
        usePrefixes = !atk.isEmpty && atk[0].attack.method != .pgd && atk[0].attack.loss == .ce
        var rowOf: [Int] = [], sizes: [Int] = [], starts: [Bool] = []
        for (i, c) in atk.enumerated() {
            let newSet = i == 0 || atk[i - 1].attackSetStream != c.attackSetStream
            if newSet || atk[i - 1].attackSamples != c.attackSamples { sizes.append(c.attackSamples) }
            rowOf.append(sizes.count - 1)
            starts.append(newSet)
        }
        var firstRow: [Int] = [], rowsIn: [Int] = [], samples: [Int] = []
        for c in atk {
            let set = atk.indices.filter { atk[$0].attackSetStream == c.attackSetStream }
            firstRow.append(rowOf[set.first!]); rowsIn.append(rowOf[set.last!] - rowOf[set.first!] + 1)
            samples.append(atk[set.last!].attackSamples)
        }
        prefixRow = rowOf; prefixSizes = sizes; passStart = starts
        passFirstRow = firstRow; passRows = rowsIn; passSamples = samples
        var gs: [(stream: UInt32, sizes: [Int], configs: [Int])] = []
        for (i, c) in configs.enumerated() {
            if let g = gs.firstIndex(where: { $0.stream == c.inferenceSetStream }) {
                gs[g].configs.append(i)
                if !gs[g].sizes.contains(c.inferenceSamples) { gs[g].sizes.append(c.inferenceSamples) }
            } else {
                gs.append((c.inferenceSetStream, [c.inferenceSamples], [i]))
            }
        }
        groups = gs.map { InferenceGroup(stream: $0.stream, sizes: $0.sizes.sorted(), configs: $0.configs) }
        self.strategy = strategy ?? (preferred == .fullJacobian || atk.count >= 4 ? .fullJacobian : .twoPass)
    }

    /// The plan of `configs` on `model` (its preferred gradient strategy).
    public init(configs: [EvaluationConfig], model: any StochasticClassifier, strategy: GradientStrategy? = nil) {
        self.init(configs: configs, preferred: model.gradientStrategy, strategy: strategy)
    }

    /// Two configurations attack alike: the same η, S_A and attack set (the attack flags are shared).
    static func sameAttack(_ a: EvaluationConfig, _ b: EvaluationConfig) -> Bool {
        a.eta == b.eta && a.attackSamples == b.attackSamples && a.attackSetStream == b.attackSetStream
    }

    /// Input rows the workspace needs: x and one x_adv per attack (at least 2).
    public var workspaceRows: Int { max(1 + attacks.count, 2) }
}
