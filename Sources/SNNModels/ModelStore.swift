import Foundation
import SNNRuntime

/// Loading and saving model directories: `model.json` + `weights.safetensors`.
public enum ModelStore {
    public static func cardPath(_ dir: String) -> String { (dir as NSString).appendingPathComponent("model.json") }
    public static func weightsPath(_ dir: String) -> String { (dir as NSString).appendingPathComponent("weights.safetensors") }

    /// Loads any supported model; the model's card comes along.
    public static func load(_ dir: String) throws -> (model: any StochasticClassifier, card: ModelCard) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else { throw ModelError.missingDirectory(dir) }
        guard isDir.boolValue else { throw ModelError.io(dir, "is a file, not a model directory (model.json + weights.safetensors)") }
        let card = try ModelCard.read(path: cardPath(dir))
        let base: any StochasticClassifier
        switch card.architecture.kind {
        case MatrixGaussianMLP.kind:
            base = try loadMLP(dir, card: card)
        case WideResNet.kind:
            base = try WideResNet.load(dir, card: card)
        default:
            throw ModelError.unsupported(cardPath(dir), "architecture kind \"\(card.architecture.kind)\"")
        }
        var model = base
        if let smoothing = card.smoothing {   // checked by ModelCard.validate: variance > 0, 1 ≤ noise_samples < 64, L = 2/σ²
            model = SmoothedClassifier(base: base, variance: Float(smoothing.variance), noiseSamples: smoothing.noiseSamples, name: card.name)
        }
        try probe(model, path: weightsPath(dir))
        return (model, card)
    }

    public static func loadMLP(_ dir: String, card: ModelCard) throws -> MatrixGaussianMLP {
        // ModelCard.validate bounds sizes and input (≤ 2²⁰ and ≤ 4096·4096·64: no product overflows)
        guard let sizes = card.architecture.sizes, sizes.count >= 2, sizes.allSatisfy({ $0 > 0 && $0 <= ModelLimits.maxLayerWidth }) else {
            throw ModelError.badCard(cardPath(dir), "architecture.sizes must list at least two positive layer widths")
        }
        guard sizes[0] == card.input.height * card.input.width * card.input.channels, sizes.last == card.classes else {
            throw ModelError.badCard(cardPath(dir), "sizes \(sizes) do not match input \(card.input.height)×\(card.input.width)×\(card.input.channels) and \(card.classes) classes")
        }
        let scaling = card.architecture.inputScaling ?? MatrixGaussianMLP.InputScaling.sqrtRows.rawValue
        guard let inputScaling = MatrixGaussianMLP.InputScaling(rawValue: scaling) else {
            throw ModelError.badCard(cardPath(dir), "architecture.input_scaling must be \"1/sqrt(r)\" or \"1\", got \"\(scaling)\"")
        }
        if let s = card.architecture.stochasticLayers, s.count != sizes.count - 1 {
            throw ModelError.badCard(cardPath(dir), "architecture.stochastic_layers lists \(s.count) layers, sizes give \(sizes.count - 1)")
        }
        let file = try SafetensorsFile(path: weightsPath(dir))
        try checkWeightsMetadata(file, kind: MatrixGaussianMLP.kind)
        // every shape is checked against the file before the model's memory is allocated, so the
        // allocation is bounded by the (mapped, validated) file's size
        for i in 0..<sizes.count - 1 {
            for (name, shape) in [("layer\(i).M", [sizes[i] + 1, sizes[i + 1]]), ("layer\(i).log_sqrt_u", [sizes[i] + 1]),
                                  ("layer\(i).log_sqrt_v", [sizes[i + 1]])] {
                try file.requireShape(name, shape)
            }
        }
        let model = MatrixGaussianMLP(sizes: sizes, name: card.name, inputScaling: inputScaling, stochasticLayers: card.architecture.stochasticLayers)
        for (i, l) in model.layers.enumerated() {
            try copy(file, "layer\(i).M", [l.rows, l.outputs], into: l.M)
            try copy(file, "layer\(i).log_sqrt_u", [l.rows], into: l.logSqrtU)
            try copy(file, "layer\(i).log_sqrt_v", [l.outputs], into: l.logSqrtV)
        }
        for p in 0..<model.parameters.count where !model.parameters.data[p].isFinite {
            throw ModelError.badWeights(weightsPath(dir), "non-finite parameter value \(model.parameters.data[p]) (parameter \(p))")
        }
        model.refreshScales()
        return model
    }

    static func copy(_ file: SafetensorsFile, _ name: String, _ shape: [Int], into dst: UnsafeMutablePointer<Float>) throws {
        let src = try file.floats(name, shape: shape)
        dst.update(from: src.baseAddress!, count: src.count)
    }

    public static func saveMLP(_ model: MatrixGaussianMLP, card: ModelCard, to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var tensors: [(name: String, shape: [Int], data: [Float])] = []
        for (i, l) in model.layers.enumerated() {
            tensors.append(("layer\(i).M", [l.rows, l.outputs], Array(UnsafeBufferPointer(start: l.M, count: l.weightCount))))
            tensors.append(("layer\(i).log_sqrt_u", [l.rows], Array(UnsafeBufferPointer(start: l.logSqrtU, count: l.rows))))
            tensors.append(("layer\(i).log_sqrt_v", [l.outputs], Array(UnsafeBufferPointer(start: l.logSqrtV, count: l.outputs))))
        }
        try SafetensorsWriter.write(path: weightsPath(dir), tensors: tensors, metadata: ["format": "snn-model/1", "kind": MatrixGaussianMLP.kind])
        try card.write(path: cardPath(dir))
    }
}

extension MatrixGaussianMLP: StochasticClassifier {
    public static let kind = "matrix-gaussian-mlp"
    public var smoothness: Float? { nil }
    public var gradientStrategy: GradientStrategy { .fullJacobian }
    public func makeWorkspace(arena: Arena, rows: Int, cotangents: Int) throws -> any ClassifierWorkspace {
        switch sampler {
        case .explicit: try MatrixGaussianMLPWorkspace(model: self, arena: arena, rows: rows, cotangents: cotangents)
        case .lazy: try LazyMatrixGaussianMLPWorkspace(model: self, arena: arena, rows: rows, cotangents: cotangents)
        }
    }
}
