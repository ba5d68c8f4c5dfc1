import SNNRuntime

extension ModelStore {
    /// The weights' `__metadata__` `format` and `kind`, when present, must be this version's
    /// format and the card's architecture kind.
    static func checkWeightsMetadata(_ file: SafetensorsFile, kind: String) throws {
        if let f = file.metadata["format"], f != ModelLimits.format {
            throw ModelError.badCard(file.path, "metadata \"format\" is \"\(f)\"; this version reads \"\(ModelLimits.format)\"")
        }
        if let k = file.metadata["kind"], k != kind {
            throw ModelError.badCard(file.path, "metadata \"kind\" is \"\(k)\" but model.json says \"\(kind)\"")
        }
    }

    /// A wide ResNet's card may repeat the architecture (depth, widen, dropout, padded_to); the
    /// weights' metadata is what the model is built from (the trainer and `convert_checkpoint.py`
    /// record depth, widen, dropout and padding there), so every field the card states must agree.
    static func checkCardAgrees(_ card: ModelCard, with c: WideResNet.Configuration, cardPath: String, weightsPath: String) throws {
        func disagree(_ field: String, _ cardValue: String, _ key: String, _ weightsValue: String) -> ModelError {
            .badCard(cardPath, "architecture.\(field) is \(cardValue) but the weights were made with \(key) = \(weightsValue) "
                     + "(\(weightsPath) metadata); card and weights must agree")
        }
        let a = card.architecture
        if let d = a.depth, d != c.depth { throw disagree("depth", "\(d)", "depth", "\(c.depth)") }
        if let w = a.widen, w != c.widen { throw disagree("widen", "\(w)", "widen", "\(c.widen)") }
        // the card holds a Double, the metadata a Float: the same value if they round to the same Float
        if let p = a.dropout, Float(p) != c.dropout { throw disagree("dropout", "\(p)", "dropout", "\(c.dropout)") }
        if let padded = a.paddedTo, padded != [c.paddedHeight, c.paddedWidth] {
            throw disagree("padded_to", "\(padded)", "padded_height×padded_width", "\(c.paddedHeight)×\(c.paddedWidth)")
        }
    }

    /// Realizations the load-time probe draws.
    public static let probeRealizations = 2

    /// Runs `model` on a mid-grey image (every pixel 0.5) for `probeRealizations` realizations
    /// (role inference, seed 0), forward and one VJP each, and refuses non-finite probabilities or
    /// gradients: finite but absurd weights (a log-std of 100, M = 10³⁰) otherwise give NaN lines.
    /// - Throws: `ModelError.badWeights(path, …)`, or the arena's `AllocationFailure`.
    public static func probe(_ model: any StochasticClassifier, path: String) throws {
        let d = model.inputSize, k = model.classCount
        let plan = model.workspacePlan(rows: 1, cotangents: 1)
        let arena = try Arena(reserving: plan.bytes + Arena.footprint(k, of: Float.self) + Arena.footprint(d, of: Float.self),
                              for: "the load-time probe of \(model.name)")
        let ws = try model.makeWorkspace(arena: arena, rows: 1, cotangents: 1)
        let cot = try arena.floats(k), grad = try arena.floats(d)
        cot[0] = 1
        for s in 0..<probeRealizations {
            ws.sample(RandomAddress(seed: 0, role: .inference, image: 0, sample: UInt32(s)))
            ws.input(row: 0).update(repeating: 0.5, count: d)
            let p = ws.forward(rows: 1)
            for c in 0..<k where !p[0, c].isFinite {
                throw ModelError.badWeights(path, "the probe (a mid-grey image, realization \(s)) gives the non-finite probability \(p[0, c]) for class \(c)")
            }
            ws.vjp(cotangents: Matrix(cot, rows: 1, cols: k), into: Matrix(grad, rows: 1, cols: d))
            if let i = (0..<d).first(where: { !grad[$0].isFinite }) {
                throw ModelError.badWeights(path, "the probe (a mid-grey image, realization \(s)) gives the non-finite gradient \(grad[i]) at input \(i)")
            }
        }
    }
}
