import SNNModels
import SNNRuntime

/// The workers' evaluators: one image at a time (`Evaluator`), or when images share realizations
/// and the batched evaluator applies, chunks of up to `chunk` images that go through every GEMM
/// together (`SharedBatchEvaluator`; README, "--share-samples"). `EvaluationStream` drives them.
public enum EvaluationWorkers {
    case perImage([Evaluator])
    case shared([SharedBatchEvaluator])

    /// The images per chunk when `configs` on `m` run in shared chunks, or nil (one image at a time).
    public static func sharedChunk(model m: any StochasticClassifier, configs: [EvaluationConfig], chunk: Int) -> Int? {
        guard configs[0].shareSamples, SharedBatchEvaluator.unsupported(model: m, configs: configs) == nil else { return nil }
        return chunk
    }

    /// One worker's arena plan.
    public static func plan(model m: any StochasticClassifier, configs: [EvaluationConfig], chunk: Int?) -> MemoryPlan {
        if let chunk, let mlp = m as? MatrixGaussianMLP { return SharedBatchEvaluator.plan(model: mlp, configs: configs, chunk: chunk) }
        return Evaluator.memoryPlan(model: m, configs: configs)
    }

    /// `--dry-run`: how the images go through the evaluator.
    public static func describeMode(model m: any StochasticClassifier, configs: [EvaluationConfig], chunk: Int?) -> String {
        if let chunk {
            return "evaluation   --share-samples in chunks of \(chunk) images per worker: one GEMM per layer and realization for a chunk"
        }
        if configs[0].shareSamples, let why = SharedBatchEvaluator.unsupported(model: m, configs: configs) {
            return "evaluation   one image at a time per worker (--share-samples is batched only for FGM/FGSM with --loss ce on a plain matrix-Gaussian MLP; here: \(why))"
        }
        return "evaluation   one image at a time per worker"
    }

    public init(model m: any StochasticClassifier, configs: [EvaluationConfig], arenas: [Arena], chunk: Int?) throws {
        if let chunk, let mlp = m as? MatrixGaussianMLP {
            self = .shared(try arenas.map { try SharedBatchEvaluator(model: mlp, configs: configs, chunk: chunk, arena: $0) })
        } else {
            self = .perImage(try arenas.map { try Evaluator(model: m, configs: configs, arena: $0) })
        }
    }

    /// Worker `w` of `threads` evaluates its part of the batch's `n` images (raw values at
    /// raw + slot·d·bpv): every configuration of slot s into results[s·nc ..< s·nc + nc], and, if
    /// `adversarial` is given, x_adv of (slot, configuration c) at adversarial + (s·nc + c)·d.
    /// Per image, worker w takes slots w, w + threads, …; in shared chunks, a contiguous range of
    /// at most one chunk (n ≤ threads · chunk). Results do not depend on the split.
    public func run(worker w: Int, threads: Int, count n: Int, raw: UnsafeMutablePointer<UInt8>, bytesPerValue bpv: Int, d: Int,
             indices: UnsafePointer<Int>, labels: UnsafePointer<Int>, results: UnsafeMutablePointer<ImageResult>,
             adversarial: UnsafeMutablePointer<Float>?) {
        switch self {
        case .perImage(let evaluators):
            let e = evaluators[w], nc = e.configs.count
            var slot = w
            while slot < n {
                Self.convert(raw + slot * d * bpv, into: e.input, count: d, bytesPerValue: bpv)
                // every configuration of the sweep, sharing realizations (Evaluator)
                e.evaluate(index: indices[slot], label: labels[slot], into: results + slot * nc)
                if let adversarial {
                    for c in 0..<nc { (adversarial + (slot * nc + c) * d).update(from: e.adversarialInput(configuration: c), count: d) }
                }
                slot += threads
            }
        case .shared(let evaluators):
            let e = evaluators[w], nc = e.configs.count
            let lo = w * n / threads, hi = (w + 1) * n / threads
            guard hi > lo else { return }
            precondition(hi - lo <= e.chunk)
            for slot in lo..<hi {
                Self.convert(raw + slot * d * bpv, into: e.input + (slot - lo) * d, count: d, bytesPerValue: bpv)
            }
            e.evaluate(count: hi - lo, indices: indices + lo, labels: labels + lo, into: results + lo * nc)
            if let adversarial {
                for slot in lo..<hi {
                    for c in 0..<nc {
                        (adversarial + (slot * nc + c) * d).update(from: e.adversarialInput(image: slot - lo, configuration: c), count: d)
                    }
                }
            }
        }
    }

    /// Pixels of one staged image as the model's Floats: bytes × (1/255) (the same arithmetic for
    /// IDX, CIFAR-10 and uint8 .npy), Floats copied.
    public static func convert(_ src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>, count d: Int, bytesPerValue: Int) {
        if bytesPerValue == 4 {
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: d)
        } else {
            let b = src.assumingMemoryBound(to: UInt8.self)
            for i in 0..<d { dst[i] = Float(b[i]) * (1 / 255) }
        }
    }
}
