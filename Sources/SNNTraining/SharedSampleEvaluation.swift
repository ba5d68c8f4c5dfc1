import Foundation
import SNNModels
import SNNRuntime

/// Test-set statistics for a model card. Images go in chunks of `chunk`; each chunk gets its own
/// realizations (image field of the address = chunk index), shared by the images of the chunk so
/// one realization serves a batch GEMM. Per image the samples have the distribution of per-image
/// mode (docs/METHOD.md §Model cards); fresh realizations per chunk keep one unlucky draw from moving every image at
/// once (with one set shared by all 10,000 images, accuracy was seen to fall from S = 5 to S = 10).
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
                           seed: UInt64, sampleCounts: [Int], varianceSamples: Int, chunk: Int = 100,
                           smoothing: (variance: Float, noiseSamples: Int)? = nil) throws -> Result {
        let k = model.classCount
        let arena = Arena(capacity: 64 << 20)
        let net = try BatchedMLP(model: model, batch: chunk, arena: arena, sharedInput: nil)
        var sums = [Double](repeating: 0, count: chunk * k)
        let probs = try arena.floats(chunk * k, for: "probabilities")
        let noiseBuffer = try arena.floats(model.inputSize, for: "noise")
        var fy = [Double](repeating: 0, count: chunk), fy2 = [Double](repeating: 0, count: chunk)
        var correct = [Int: Int]()
        var result = Result()
        let maxS = sampleCounts.max() ?? 0
        let indices = Array(0..<count)
        var totalVariance = 0.0
        var first = 0
        while first < count {
            let rows = min(chunk, count - first)
            let group = UInt32(first / chunk)
            // probabilities of one realization for the chunk: f(x, θ), or with smoothing
            // (1/n) Σ_j f(x + σ ε_j, θ) with noise per image, draw and sample (role `noise`)
            func realize(_ role: RandomRole, _ s: Int) {
                let address = RandomAddress(seed: seed, role: role, image: group, sample: UInt32(s))
                net.sample(address)
                let draws = smoothing?.noiseSamples ?? 1
                for i in 0..<(rows * k) { probs[i] = 0 }
                for j in 0..<draws {
                    indices.withUnsafeBufferPointer { ib in
                        let chunkIndices = UnsafeBufferPointer(rebasing: ib[first..<(first + rows)])
                        if let smoothing {
                            let sigma = smoothing.variance.squareRoot()
                            BatchedMLP.prepareInput(model: model, images: images, indices: chunkIndices, dst: net.inputs[0]) { r, out in
                                let noiseAddress = RandomAddress(seed: seed, role: .noise, image: group, sample: UInt32(s), step: UInt32(r))
                                NormalStream.fill(noiseBuffer, count: model.inputSize, address: noiseAddress,
                                                  tensor: SmoothedClassifier.noiseTensor(role: role, draw: j))
                                for e in 0..<model.inputSize { out[e] += sigma * noiseBuffer[e] }
                            }
                        } else {
                            BatchedMLP.prepareInput(model: model, images: images, indices: chunkIndices, dst: net.inputs[0])
                        }
                    }
                    net.forward(rows: rows)
                    for i in 0..<(rows * k) { probs[i] += Foundation.exp(net.logp[i]) / Float(draws) }
                }
            }
            for i in 0..<(rows * k) { sums[i] = 0 }
            for s in 0..<maxS {
                realize(.inference, s)
                for i in 0..<(rows * k) { sums[i] += Double(probs[i]) }
                if sampleCounts.contains(s + 1) {
                    for r in 0..<rows {
                        var best = 0
                        for c in 1..<k where sums[r * k + c] > sums[r * k + best] { best = c }
                        if best == Int(labels[first + r]) { correct[s + 1, default: 0] += 1 }
                    }
                }
            }
            for r in 0..<rows { fy[r] = 0; fy2[r] = 0 }
            for v in 0..<varianceSamples {
                realize(.variance, v)
                for r in 0..<rows {
                    let pr = probs + r * k
                    let p = Double(pr[Int(labels[first + r])])
                    fy[r] += p; fy2[r] += p * p
                    if v == 0 {
                        // saturated: the largest probability is exactly 1 in float32
                        var m: Float = 0
                        for c in 0..<k { m = max(m, pr[c]) }
                        if m == 1 { result.extremePredictions += 1 }
                    }
                }
            }
            if varianceSamples > 0 {
                for r in 0..<rows {
                    let mean = fy[r] / Double(varianceSamples)
                    totalVariance += max(fy2[r] / Double(varianceSamples) - mean * mean, 0)
                }
            }
            first += rows
        }
        for s in sampleCounts { result.accuracyPercent[s] = 100 * Double(correct[s, default: 0]) / Double(count) }
        result.meanPredictionVariance = varianceSamples > 0 ? totalVariance / Double(count) : 0
        return result
    }
}
