import Foundation
import SNNModels
import SNNRobustness
import SNNRuntime

/// Text for `snn info` and `snn evaluate --dry-run`.
func describe(_ m: any StochasticClassifier, card: ModelCard, threads: Int) -> String {
    var lines: [String] = []
    lines.append("model        \(card.name) (\(card.architecture.kind))")
    if let sizes = card.architecture.sizes { lines.append("layers       " + sizes.map(String.init).joined(separator: " → ")) }
    lines.append("input        \(card.input.height)×\(card.input.width)×\(card.input.channels) in [0, 1], \(card.classes) classes")
    var core = m
    if let smoothed = m as? SmoothedClassifier {
        lines.append("smoothing    σ² = \(smoothed.variance), \(smoothed.noiseSamples) noise draws per model sample (SPEC 3.4)")
        core = smoothed.base
    }
    if let wrn = core as? WideResNet {
        lines.append("parameters   \(wrn.parameterCount)")
        lines.append("multiply-adds per pass  \(wrn.multiplyAdds) (forward, one image)")
    }
    if let mlp = core as? MatrixGaussianMLP {
        let params = mlp.parameters.count
        let weights = mlp.layers.reduce(0) { $0 + $1.weightCount }
        lines.append("parameters   \(params) (weights per realization: \(weights), normals drawn per sample: \(weights))")
        lines.append("multiply-adds per pass  \(weights) (forward, one image)")
    }
    lines.append("smoothness   " + (m.smoothness.map { "L = \($0)" } ?? "no L known (smooth condition reported as null)"))
    let plan = ImageEvaluator.plan(model: m)
    lines.append("memory plan  \(plan.bytes) bytes per worker (\(ByteCount.format(plan.bytes))), \(threads) worker(s): "
                 + "\(plan.bytes * threads) bytes (\(ByteCount.format(plan.bytes * threads))) = default --memory-budget")
    for e in plan.entries { lines.append("  \(e.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(e.floats) floats") }
    if let t = card.training {
        lines.append("training     \(t.objective), \(t.epochs) epochs, batch \(t.batchSize), \(t.samples) samples, \(Int(t.seconds)) s")
    }
    if let e = card.evaluation {
        let acc = e.testAccuracyPercent.sorted { Int($0.key)! < Int($1.key)! }.map { "S=\($0.key): \($0.value)%" }.joined(separator: ", ")
        lines.append("test accuracy \(acc)")
        if let v = e.meanPredictionVariance { lines.append("mean prediction variance \(v) (\(e.varianceSamples ?? 0) samples)") }
    }
    return lines.joined(separator: "\n")
}
