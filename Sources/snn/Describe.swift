import Foundation
import SNNModels
import SNNRobustness
import SNNRuntime

/// Text for `snn info` and `snn evaluate --dry-run`.
func describe(_ m: any StochasticClassifier, card: ModelCard, threads: Int, plan sweepPlan: MemoryPlan? = nil) -> String {
    var lines: [String] = []
    lines.append("model        \(card.name) (\(card.architecture.kind))")
    if let sizes = card.architecture.sizes { lines.append("layers       " + sizes.map(String.init).joined(separator: " → ")) }
    lines.append("input        \(card.input.height)×\(card.input.width)×\(card.input.channels) in [0, 1], \(card.classes) classes")
    var core = m
    if let smoothed = m as? SmoothedClassifier {
        lines.append("smoothing    σ² = \(smoothed.variance), \(smoothed.noiseSamples) noise draws per model sample (docs/METHOD.md §Randomized smoothing)")
        core = smoothed.base
    }
    var weightBytes = 0
    if let wrn = core as? WideResNet {
        let c = wrn.configuration
        lines.append("architecture WRN-\(c.depth)-\(c.widen), MC dropout p = \(c.dropout), \(wrn.blockNames.count) blocks"
                     + (c.paddedHeight != c.inputHeight || c.paddedWidth != c.inputWidth
                        ? ", zero-padded to \(c.paddedHeight)×\(c.paddedWidth) (first layer)" : ""))
        lines.append("parameters   \(wrn.parameterCount)")
        weightBytes = wrn.parameters.count * MemoryLayout<Float>.size
        lines.append("multiply-adds per pass  \(wrn.multiplyAdds) (forward, one image)")
    }
    if let mlp = core as? MatrixGaussianMLP {
        let params = mlp.parameters.count
        let weights = mlp.layers.reduce(0) { $0 + $1.weightCount }
        lines.append("parameters   \(params) (weights per realization: \(weights), normals drawn per sample: \(weights))")
        lines.append("multiply-adds per pass  \(weights) (forward, one image)")
        weightBytes = params * MemoryLayout<Float>.size
    }
    lines.append("smoothness   " + (m.smoothness.map { "L = \($0)" } ?? "no L known (smooth condition reported as null)"))
    // one evaluator per worker; `snn evaluate --dry-run` passes its sweep's plan
    let plan = sweepPlan ?? Evaluator.memoryPlan(model: m, configs: [EvaluationConfig(eta: 1, attackSamples: 1, inferenceSamples: 1, seed: 0)])
    lines.append("memory plan  \(plan.bytes) bytes per worker (\(ByteCount.format(plan.bytes))), \(threads) worker(s): "
                 + "\(plan.bytes * threads) bytes (\(ByteCount.format(plan.bytes * threads))) = default --memory-budget")
    for e in plan.entries { lines.append("  \(e.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(e.floats) floats") }
    lines.append("  the arena does not grow with --attack-samples / --inference-samples (samples stream through it one at a time); a sweep adds an input row per attack and O(k) floats per configuration")
    if weightBytes > 0 {
        lines.append("weights      \(weightBytes) bytes (\(ByteCount.format(weightBytes))), shared by all workers, outside the arena; "
                     + "resident total ≈ \(ByteCount.format(weightBytes + plan.bytes * threads))")
    }
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
