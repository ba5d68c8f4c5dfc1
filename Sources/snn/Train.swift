import ArgumentParser
import Foundation
import SNNData
import SNNModels
import SNNRuntime
import SNNTraining

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on FashionMNIST: a matrix-Gaussian MLP (VMG with the ELBO, or the infinite mixture) or a wide ResNet with MC dropout.")

    @Option(help: "mlp (matrix-Gaussian MLP) or wide-resnet.") var architecture = "mlp"
    @Option(help: "MLP training objective: elbo (BNN / VMG) or im (infinite mixture); docs/METHOD.md §Objectives. (no default: required for the MLP)") var objective: String?
    @Option(help: "Output model directory (weights.safetensors + model.json).") var output: String
    @Option(help: "Model name for the card (default: the output directory's name).") var name: String?
    @Option(help: "Directory holding the FashionMNIST IDX files (gzip'd or plain).") var dataDir = "/usr/share/datasets/fashion-mnist"
    @Option(help: "Epochs (default 50 for the MLP, 10 for the wide ResNet).") var epochs: Int?
    @Option(help: "Minibatch size (default 100 for the MLP, 128 for the wide ResNet).") var batchSize: Int?
    @Option(help: "MLP: weight samples per minibatch in the objective.") var samples = 5
    @Option(help: "Learning rate (default 1e-3 Adam for the MLP, 0.1 SGD for the wide ResNet).") var learningRate: Float?
    @Option(help: "Seed of the initialisation and of every training random number (docs/METHOD.md §Roles).") var seed: UInt64 = 1
    @Option(help: "MLP: gain of the initial mean, M ~ N(0, gain²/(r s²)) (He-style for √2; docs/METHOD.md §Initialisation).") var meanScale: Float = 1.0
    @Option(parsing: .unconditional, help: "MLP: λ, the initial log standard deviation of every weight: log √u_i = log √v_j = λ/2 (docs/METHOD.md §Initialisation; negative values need no `=`).") var logStd: Float = -9
    @Option(help: "MLP: input scale s of x̃ = [x, 1]·s: sqrt-r (s = 1/√r) or none (s = 1, the paper's literal prior; docs/METHOD.md §Input scale).") var inputScaling = "sqrt-r"
    @Flag(help: "MLP: the output layer is deterministic (W = M, an L2 penalty ½‖M‖² in place of its KL).") var deterministicOutput = false
    @Option(help: "MLP: factor of the KL term (1 = the ELBO).") var klWeight: Float = 1
    @Option(help: "MLP: randomized smoothing noise variance σ² for training (two noisy copies per image). (default: none)") var smoothingVariance: Float?
    @Option(help: "Variance samples per test image for the card (docs/METHOD.md §Prediction variance; wide ResNet: the largest S_I is used).") var varianceSamples = 1000
    @Option(help: "Use only the first N training images (for quick checks). (default: all)") var limit: Int?
    @Option(help: "Use only the first N test images for the card. (default: all)") var testLimit: Int?
    @Option(help: "Wide ResNet depth 6n + 4.") var depth = 10
    @Option(help: "Wide ResNet widen factor k.") var widen = 1
    @Option(help: "Wide ResNet dropout probability p ∈ [0, 1).") var dropout: Float = 0.3
    @Option(help: "Wide ResNet: SGD momentum.") var momentum: Float = 0.9
    @Option(help: "Wide ResNet: weight decay.") var weightDecay: Float = 5e-4
    @Flag(help: "Wide ResNet: no random flips and shifts.") var noAugment = false
    @Option(help: ArgumentHelp("Wide ResNet: images unfolded per convolution GEMM.", visibility: .hidden)) var chunk = 8
    @Flag(help: "Wide ResNet: continue from OUTPUT/checkpoint.safetensors (written after every epoch).") var resume = false
    @Option(help: "Wide ResNet: stop after this many epochs in this run, leaving the checkpoint for --resume. (default: run to --epochs)") var stopAfter: Int?
    @Flag(help: "Wide ResNet, with --resume: accept a different --epochs (the learning-rate schedule follows the new count from the next epoch; the card records the change).") var reschedule = false

    var isWideResNet: Bool { architecture == "wide-resnet" || architecture == "wrn" }
    var mlpInputScaling: MatrixGaussianMLP.InputScaling? {
        switch inputScaling { case "sqrt-r": return .sqrtRows; case "none": return MatrixGaussianMLP.InputScaling.none; default: return nil }
    }

    func validate() throws {
        guard architecture == "mlp" || isWideResNet else { throw ValidationError("--architecture must be mlp or wide-resnet, got '\(architecture)'") }
        if (epochs ?? 1) <= 0 || (batchSize ?? 1) <= 0 || samples <= 0 {
            throw ValidationError("--epochs, --batch-size and --samples must be positive")
        }
        if let lr = learningRate, !(lr > 0) { throw ValidationError("--learning-rate must be positive") }
        // stated limits (README, Limits): no flag can ask for unbounded work or memory
        if (epochs ?? 1) > 10_000 || (batchSize ?? 1) > 100_000 || samples > 1000 || !(1...4096).contains(chunk)
            || varianceSamples < 0 || varianceSamples > 100_000 {
            throw ValidationError("--epochs ≤ 10000, --batch-size ≤ 100000, --samples ≤ 1000, --chunk 1…4096 and --variance-samples 0…100000")
        }
        if isWideResNet {
            let c = WideResNet.Configuration(depth: depth, widen: widen, dropout: dropout, inputChannels: 1, inputHeight: 28, inputWidth: 28,
                                             padTo: (32, 32))
            if let problem = c.problem { throw ValidationError("--depth/--widen/--dropout: \(problem)") }
            if objective != nil || smoothingVariance != nil { throw ValidationError("--objective and --smoothing-variance apply to the MLP only") }
            if let n = stopAfter, n < 1 { throw ValidationError("--stop-after must be at least 1 epoch") }
            if reschedule && !resume { throw ValidationError("--reschedule applies with --resume only") }
            if !(momentum >= 0 && momentum < 1) || !(weightDecay >= 0) { throw ValidationError("--momentum must be in [0, 1) and --weight-decay ≥ 0") }
        } else {
            guard let o = objective, Objective(rawValue: o) != nil else { throw ValidationError("--objective must be elbo or im") }
            if resume { throw ValidationError("--resume applies to the wide ResNet (the MLP trains in minutes)") }
            guard mlpInputScaling != nil else { throw ValidationError("--input-scaling must be sqrt-r or none, got '\(inputScaling)'") }
            guard klWeight >= 0, klWeight.isFinite else { throw ValidationError("--kl-weight must be a finite number ≥ 0") }
        }
        if let v = smoothingVariance, !(v > 0) { throw ValidationError("--smoothing-variance must be positive") }
    }

    func run() throws {
        if isWideResNet { return runWideResNet() }
        let epochs = self.epochs ?? 50, batchSize = self.batchSize ?? 100, learningRate = self.learningRate ?? 1e-3
        let objective = self.objective!
        runOrExit {
            let dataset = try FashionMNIST(directory: dataDir)
            let train = try dataset.load(split: "train", limit: limit)
            let test = try dataset.load(split: "t10k", limit: testLimit)
            var config = TrainingConfig(objective: Objective(rawValue: objective)!)
            config.epochs = epochs; config.batchSize = batchSize; config.samples = samples
            config.learningRate = learningRate; config.seed = seed; config.smoothingVariance = smoothingVariance
            config.klWeight = klWeight
            let sizes = [train.pixels, 128, 128, 10]
            let stochastic = (0..<(sizes.count - 1)).map { !(deterministicOutput && $0 == sizes.count - 2) }
            let model = MatrixGaussianMLP(sizes: sizes, name: name ?? (output as NSString).lastPathComponent,
                                          inputScaling: mlpInputScaling!, stochasticLayers: stochastic)
            model.initialise(seed: seed, mScale: meanScale, logStd: logStd)
            let trainer = try MLPTrainer(model: model, config: config)
            let start = Date()
            for epoch in 0..<epochs {
                let r = train.images.withUnsafeBufferPointer { im in train.labels.withUnsafeBufferPointer { lb in
                    trainer.trainEpoch(epoch, images: im.baseAddress!, labels: lb.baseAddress!, count: train.count) } }
                log(String(format: "epoch %d/%d  data loss %.4f  KL %.0f  %.1f s", epoch + 1, epochs, r.dataLoss, r.kl, r.seconds))
            }
            let seconds = Date().timeIntervalSince(start)
            var card = ModelCard(name: model.name, architecture: .init(kind: MatrixGaussianMLP.kind, sizes: model.sizes,
                                                                     inputScaling: model.inputScaling.rawValue, stochasticLayers: model.stochasticLayers),
                                 input: .init(height: train.rows, width: train.cols, channels: 1), classes: 10)
            card.initialisation = .init(seed: seed, meanScale: Double(meanScale), logStd: Double(logStd))
            if let v = smoothingVariance {
                let variance = Double("\(v)") ?? Double(v)  // the decimal the user typed, not its float32 neighbour
                card.smoothing = .init(variance: variance, noiseSamples: 10, lipschitz: 2 / variance)
            }
            card.training = .init(
                objective: objective, dataset: "FashionMNIST train (\(train.count) images, Debian dataset-fashion-mnist)",
                epochs: epochs, batchSize: batchSize, samples: samples, optimizer: "adam(beta1=0.9, beta2=0.999, eps=1e-8)",
                learningRate: Double("\(learningRate)") ?? Double(learningRate), seed: seed, seconds: (seconds * 10).rounded() / 10, threads: 1,
                notes: "weights sampled explicitly per minibatch and sample (no local reparameterisation); KL to MN(0,I,I) divided by N"
                    + (deterministicOutput ? "; output layer deterministic (½‖M‖² in place of its KL)" : "")
                    + (smoothingVariance.map { "; smoothing: each image replaced by two copies with N(0, \($0)) noise" } ?? ""))
            card.training?.klWeight = Double("\(klWeight)") ?? Double(klWeight)
            card.evaluation = try measureCard(model, test: test, seed: seed, varianceSamples: varianceSamples, smoothing: card.smoothing)
            try ModelStore.saveMLP(model, card: card, to: output)
            log("wrote \(output) (training \(Int(seconds)) s)")
        }
    }
}

/// Test accuracy for S_I ∈ {1, 5, 10, 100}, mean prediction variance and extreme predictions of
/// docs/METHOD.md §Model cards, as written into model cards.
func measureCard(_ model: MatrixGaussianMLP, test: FashionMNIST.Split, seed: UInt64, varianceSamples: Int,
                 smoothing: ModelCard.Smoothing? = nil) throws -> ModelCard.Evaluation {
    log("evaluating on \(test.count) test images…")
    let eval = try test.images.withUnsafeBufferPointer { im in try test.labels.withUnsafeBufferPointer { lb in
        try SharedSampleEvaluation.run(model: model, images: im.baseAddress!, labels: lb.baseAddress!, count: test.count,
                                       seed: seed, sampleCounts: [1, 5, 10, 100], varianceSamples: varianceSamples,
                                       smoothing: smoothing.map { (Float($0.variance), $0.noiseSamples) }) } }
    log("accuracy " + eval.accuracyPercent.sorted { $0.key < $1.key }.map { "S=\($0.key): \(String(format: "%.2f", $0.value))%" }.joined(separator: ", ")
        + String(format: ", mean prediction variance %.5f, extreme %d", eval.meanPredictionVariance, eval.extremePredictions))
    return .init(images: test.count, seed: seed,
                 testAccuracyPercent: Dictionary(uniqueKeysWithValues: eval.accuracyPercent.map { ("\($0.key)", ($0.value * 100).rounded() / 100) }),
                 meanPredictionVariance: eval.meanPredictionVariance, varianceSamples: varianceSamples,
                 extremePredictions: eval.extremePredictions)
}

/// `snn card`: measures a trained MLP's test statistics again and rewrites its model card.
struct Card: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure a model's test accuracy and prediction variance again and update its model.json.")
    @Option(help: "Model directory.") var model: String
    @Option(help: "Directory holding the FashionMNIST IDX files.") var dataDir = "/usr/share/datasets/fashion-mnist"
    @Option(help: "Seed of the evaluation samples.") var seed: UInt64 = 1
    @Option(help: "Variance samples per test image (docs/METHOD.md §Prediction variance).") var varianceSamples = 1000

    func run() throws {
        runOrExit {
            let (m, card) = try ModelStore.load(model)
            let test = try FashionMNIST(directory: dataDir).load(split: "t10k", limit: nil)
            var updated = card
            guard m.inputSize == test.pixels else {
                throw DataFailure(message: "\(model): the model takes \(m.inputSize) inputs, FashionMNIST images have \(test.pixels) (snn card measures on FashionMNIST)")
            }
            if let wrn = m as? WideResNet {
                // the trainer's batched evaluation-mode forward (100 MC-dropout samples per image)
                var config = WideResNetTrainingConfig()
                config.seed = seed
                updated.evaluation = measureWideResNetCard(try WideResNetTrainer(model: wrn, config: config), test: test, seed: seed)
            } else {
                guard let mlp = (m as? MatrixGaussianMLP) ?? ((m as? SmoothedClassifier)?.base as? MatrixGaussianMLP) else {
                    throw DataFailure(message: "\(model): snn card supports matrix-Gaussian MLPs (smoothed or not) and wide ResNets")
                }
                updated.evaluation = try measureCard(mlp, test: test, seed: seed, varianceSamples: varianceSamples, smoothing: card.smoothing)
            }
            try updated.write(path: ModelStore.cardPath(model))
            log("updated \(ModelStore.cardPath(model))")
        }
    }
}

func log(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }

/// The four IDX files of FashionMNIST in one directory, loaded whole (training only).
struct FashionMNIST {
    let directory: String
    struct Split { let images: [UInt8]; let labels: [UInt8]; let count: Int; let rows: Int; let cols: Int; var pixels: Int { rows * cols } }

    init(directory: String) throws { self.directory = directory }

    func path(_ stem: String) -> String {
        for ext in [".gz", ""] {
            let p = (directory as NSString).appendingPathComponent(stem + ext)
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        return (directory as NSString).appendingPathComponent(stem + ".gz")
    }

    func load(split: String, limit: Int?) throws -> Split {
        var stream = try IDXImageStream(path: path("\(split)-images-idx3-ubyte"))
        let labels = try IDXLabels.read(path: path("\(split)-labels-idx1-ubyte"), expectedCount: stream.count)
        let n = min(stream.count, limit ?? .max)
        var images = [UInt8](repeating: 0, count: n * stream.pixelsPerImage)
        try images.withUnsafeMutableBufferPointer { buf in
            for i in 0..<n { _ = try stream.nextRaw(into: buf.baseAddress! + i * stream.pixelsPerImage) }
        }
        return Split(images: images, labels: Array(labels[0..<n]), count: n, rows: stream.rows, cols: stream.cols)
    }
}
