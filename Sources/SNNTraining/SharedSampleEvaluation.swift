import Foundation
import SNNModels
import SNNRuntime

/// Test-set statistics for a model card, computed with realizations shared by all images
/// (`--share-samples` mode, SPEC 2): per image the samples have the same distribution as in
/// per-image mode, and shared weights let one realization serve a batch GEMM.
public enum SharedSampleEvaluation {
    public struct Result {
        public var accuracyPercent: [Int: Double] = [:]
        public var meanPredictionVariance: Double = 0
        public var extremePredictions = 0
    }

    /// Accuracy with the first S inference samples for each S in `sampleCounts` (nested sets),
    /// mean over images of (1/V) Σ_v (f_y(x, θ_v) − f̄_y)² with V = `varianceSamples`, and the
    /// number of images whose first variance sample has max_c f_c == 1 exactly.
    public static func run(model: MatrixGaussianMLP, images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, count: Int,
                           seed: UInt64, sampleCounts: [Int], varianceSamples: Int, chunk: Int = 500) throws -> Result {
        let k = model.classCount
        let arena = Arena(capacity: 64 << 20)
        let net = try BatchedMLP(model: model, batch: chunk, arena: arena, sharedInput: nil)
        var sums = [Double](repeating: 0, count: count * k)
        var fy = [Double](repeating: 0, count: count), fy2 = [Double](repeating: 0, count: count)
        var result = Result()
        let maxS = sampleCounts.max() ?? 0
        let indices = Array(0..<count)
        func pass(_ role: RandomRole, sample s: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
            net.sample(RandomAddress(seed: seed, role: role, image: RandomAddress.sharedImage, sample: UInt32(s)))
            var first = 0
            while first < count {
                let rows = min(chunk, count - first)
                indices.withUnsafeBufferPointer { ib in
                    BatchedMLP.prepareInput(model: model, images: images, indices: UnsafeBufferPointer(rebasing: ib[first..<(first + rows)]), dst: net.inputs[0])
                }
                net.forward(rows: rows)
                for r in 0..<rows { body(first + r, net.logp + r * k) }
                first += rows
            }
        }
        for s in 0..<maxS {
            pass(.inference, sample: s) { i, logp in for c in 0..<k { sums[i * k + c] += Double(Foundation.exp(logp[c])) } }
            if sampleCounts.contains(s + 1) {
                var correct = 0
                for i in 0..<count {
                    var best = 0
                    for c in 1..<k where sums[i * k + c] > sums[i * k + best] { best = c }
                    if best == Int(labels[i]) { correct += 1 }
                }
                result.accuracyPercent[s + 1] = 100 * Double(correct) / Double(count)
            }
        }
        for v in 0..<varianceSamples {
            pass(.variance, sample: v) { i, logp in
                let p = Double(Foundation.exp(logp[Int(labels[i])]))
                fy[i] += p; fy2[i] += p * p
                if v == 0 {
                    // saturated: the largest probability is exactly 1 in float32
                    var m: Float = 0
                    for c in 0..<k { m = max(m, Foundation.exp(logp[c])) }
                    if m == 1 { result.extremePredictions += 1 }
                }
            }
        }
        if varianceSamples > 0 {
            var total = 0.0
            for i in 0..<count {
                let mean = fy[i] / Double(varianceSamples)
                total += max(fy2[i] / Double(varianceSamples) - mean * mean, 0)
            }
            result.meanPredictionVariance = total / Double(count)
        }
        return result
    }
}
