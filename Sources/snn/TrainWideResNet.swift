import Foundation
import SNNModels
import SNNRuntime
import SNNTraining

/// FashionMNIST normalisation (mean and std of the training pixels in [0, 1]).
let fashionMNISTMean: Float = 0.2860, fashionMNISTStd: Float = 0.3530

extension Train {
    /// `snn train --architecture wide-resnet`: SGD on FashionMNIST zero-padded to 32×32 (the model's
    /// first layer), a checkpoint after every epoch, `--resume` to continue one, and the model card.
    func runWideResNet() {
        runOrExit {
            let epochs = self.epochs ?? 10
            let dataset = try FashionMNIST(directory: dataDir)
            let train = try dataset.load(split: "train", limit: limit)
            let test = try dataset.load(split: "t10k", limit: testLimit)
            let modelName = name ?? (output as NSString).lastPathComponent
            let configuration = WideResNet.Configuration(
                depth: depth, widen: widen, dropout: dropout, inputChannels: 1, classes: 10,
                inputHeight: train.rows, inputWidth: train.cols, padTo: (32, 32), mean: [fashionMNISTMean], std: [fashionMNISTStd])
            let model = WideResNet(configuration, name: modelName)
            model.initialise(seed: seed)
            var config = WideResNetTrainingConfig()
            config.epochs = epochs; config.batchSize = batchSize ?? 128; config.learningRate = learningRate ?? 0.1
            config.momentum = momentum; config.weightDecay = weightDecay; config.seed = seed; config.augment = !noAugment; config.chunk = chunk
            let trainer = try WideResNetTrainer(model: model, config: config)
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let checkpoint = (output as NSString).appendingPathComponent(WideResNetCheckpoint.fileName)
            var state = WideResNetCheckpoint.State(epochsDone: 0, seconds: 0)
            if resume {
                guard FileManager.default.fileExists(atPath: checkpoint) else {
                    throw DataFailure(message: "\(checkpoint): no checkpoint to resume from (run without --resume to start)")
                }
                state = try WideResNetCheckpoint.load(into: trainer, from: checkpoint, allowEpochChange: reschedule)
                log("resuming \(modelName) after epoch \(state.epochsDone)/\(epochs) (\(Int(state.seconds)) s so far)")
            } else if FileManager.default.fileExists(atPath: checkpoint) {
                throw DataFailure(message: "\(checkpoint) exists: pass --resume to continue it, or remove it to start again")
            }
            log("WRN-\(depth)-\(widen), p = \(dropout): \(model.parameterCount) parameters, \(model.multiplyAdds) multiply-adds per image, "
                + "arena \(ByteCount.format(WideResNetTrainer.plan(model, batch: config.batchSize, chunk: config.chunk).bytes)), "
                + "\(train.count) training images, batch \(config.batchSize)")
            let last = min(epochs, stopAfter.map { state.epochsDone + $0 } ?? epochs)
            for epoch in state.epochsDone..<last {
                let r = train.images.withUnsafeBufferPointer { im in train.labels.withUnsafeBufferPointer { lb in
                    trainer.trainEpoch(epoch, images: im.baseAddress!, labels: lb.baseAddress!, count: train.count) } }
                state = .init(epochsDone: epoch + 1, seconds: state.seconds + r.seconds, scheduleNotes: state.scheduleNotes)
                try WideResNetCheckpoint.save(trainer, state: state, to: checkpoint)
                let check = test.images.withUnsafeBufferPointer { im in test.labels.withUnsafeBufferPointer { lb in
                    trainer.evaluate(images: im.baseAddress!, labels: lb.baseAddress!, count: min(test.count, 2000), sampleCounts: [1], seed: seed) } }
                log(String(format: "epoch %d/%d  lr %.4f  loss %.4f  train acc %.2f%%  test acc (S=1, %d images) %.2f%%  %.1f s",
                           epoch + 1, epochs, r.learningRate, r.loss, 100 * r.accuracy, min(test.count, 2000),
                           check.accuracyPercent[1] ?? 0, r.seconds))
            }
            if state.epochsDone < epochs {
                log("stopped after epoch \(state.epochsDone)/\(epochs); continue with the same command and --resume")
                return
            }
            var card = ModelCard(name: modelName,
                                 architecture: .init(kind: WideResNet.kind, depth: depth, widen: widen,
                                                     dropout: Double("\(dropout)") ?? Double(dropout), paddedTo: [32, 32]),
                                 input: .init(height: train.rows, width: train.cols, channels: 1), classes: 10)
            let schedule = config.milestones.map { "\(Int(($0 * Double(epochs)).rounded()))" }.joined(separator: ", ")
            card.training = .init(
                objective: "cross-entropy", dataset: "FashionMNIST train (\(train.count) images, Debian dataset-fashion-mnist), zero-padded to 32×32",
                epochs: epochs, batchSize: config.batchSize, samples: 1,
                optimizer: "sgd(momentum=\(momentum), weight_decay=\(weightDecay), lr × \(config.decay) after epochs \(schedule))",
                learningRate: Double("\(config.learningRate)") ?? Double(config.learningRate), seed: seed,
                seconds: (state.seconds * 10).rounded() / 10, threads: 1,
                notes: "batch norm in training mode (PyTorch momentum 0.1), one dropout mask per image and step"
                    + (config.augment ? ", random horizontal flip and shift of up to \(config.shift) pixels" : "")
                    + "; the last partial batch of each epoch is dropped; normalisation mean \(fashionMNISTMean), std \(fashionMNISTStd)"
                    + (state.scheduleNotes.isEmpty ? "" : "; schedule: \(state.scheduleNotes) (--reschedule)"))
            card.evaluation = measureWideResNetCard(trainer, test: test, seed: seed)
            try model.save(card: card, to: output)
            try? FileManager.default.removeItem(atPath: checkpoint)
            log("wrote \(output) (training \(Int(state.seconds)) s)")
        }
    }
}

/// Test accuracy for S_I ∈ {1, 5, 10, 100}, mean prediction variance over the 100 samples and
/// extreme predictions (docs/METHOD.md §Model cards), as written into wide ResNet model cards.
func measureWideResNetCard(_ trainer: WideResNetTrainer, test: FashionMNIST.Split, seed: UInt64) -> ModelCard.Evaluation {
    log("evaluating on \(test.count) test images (100 MC-dropout samples each)…")
    let start = Date()
    let e = test.images.withUnsafeBufferPointer { im in test.labels.withUnsafeBufferPointer { lb in
        trainer.evaluate(images: im.baseAddress!, labels: lb.baseAddress!, count: test.count, sampleCounts: [1, 5, 10, 100], seed: seed) } }
    log("accuracy " + e.accuracyPercent.sorted { $0.key < $1.key }.map { "S=\($0.key): \(String(format: "%.2f", $0.value))%" }.joined(separator: ", ")
        + String(format: ", mean prediction variance %.5f, extreme %d (%.0f s)", e.meanPredictionVariance, e.extremePredictions, Date().timeIntervalSince(start)))
    return .init(images: test.count, seed: seed,
                 testAccuracyPercent: Dictionary(uniqueKeysWithValues: e.accuracyPercent.map { ("\($0.key)", ($0.value * 100).rounded() / 100) }),
                 meanPredictionVariance: e.meanPredictionVariance, varianceSamples: e.varianceSamples,
                 extremePredictions: e.extremePredictions)
}
