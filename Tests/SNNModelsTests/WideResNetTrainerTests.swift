import Foundation
import XCTest
@_spi(Testing) import SNNModels
@_spi(Testing) import SNNTraining
import SNNRuntime

/// The wide ResNet trainer: its minibatch gradient against finite differences of its own loss,
/// its batched evaluation forward against the per-image workspace, exact resume from a checkpoint.
final class WideResNetTrainerTests: XCTestCase {
    /// WRN-10-1 on 1×6×6 images zero-padded to 8×8, 3 classes.
    func tinyModel(dropout: Float) -> WideResNet {
        let c = WideResNet.Configuration(depth: 10, widen: 1, dropout: dropout, inputChannels: 1, classes: 3,
                                         inputHeight: 6, inputWidth: 6, padTo: (8, 8), mean: [0.3], std: [0.4])
        let m = WideResNet(c, name: "tiny")
        m.initialise(seed: 11)
        return m
    }

    struct Data { var images: [UInt8]; var labels: [UInt8] }
    func data(_ count: Int, seed: UInt64) -> Data {
        var s = seed
        func next() -> UInt64 { s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; return s >> 33 }
        return Data(images: (0..<(count * 36)).map { _ in UInt8(truncatingIfNeeded: next()) },
                    labels: (0..<count).map { _ in UInt8(next() % 3) })
    }

    func testGradientMatchesFiniteDifferences() throws {
        let model = tinyModel(dropout: 0.3)
        var config = WideResNetTrainingConfig()
        config.batchSize = 4; config.chunk = 3
        let trainer = try WideResNetTrainer(model: model, config: config)
        let d = data(4, seed: 3)
        let indices = [2, 0, 3, 1]
        func loss() -> Double {
            d.images.withUnsafeBufferPointer { im in d.labels.withUnsafeBufferPointer { lb in indices.withUnsafeBufferPointer { ix in
                trainer.lossAndGradient(images: im.baseAddress!, labels: lb.baseAddress!, indices: ix, step: 7) } } }
        }
        _ = loss()
        let analytic = Array(UnsafeBufferPointer(start: trainer.gradient.data, count: trainer.gradient.count))
        var checked = 0, worst = 0.0, worstName = ""
        var pick: UInt64 = 17
        for e in model.tensors where e.isTrainable {
            for _ in 0..<3 {
                pick = pick &* 6_364_136_223_846_793_005 &+ 1
                let i = e.offset + Int((pick >> 33) % UInt64(e.count))
                let p = model.parameters.data + i, saved = p.pointee
                // ReLU kinks spoil a central quotient now and then: take the closest of central and
                // one-sided quotients at two steps (each is the derivative when no kink is crossed).
                var candidates: [Double] = []
                let base = loss()
                for h: Float in [1e-3, 3e-3] {
                    p.pointee = saved + h; let up = loss()
                    p.pointee = saved - h; let down = loss()
                    p.pointee = saved
                    candidates += [(up - down) / Double(2 * h), (up - base) / Double(h), (base - down) / Double(h)]
                }
                let g = Double(analytic[i])
                let err = candidates.map { abs($0 - g) }.min()! / (2e-3 + 0.03 * abs(g))
                if err > worst { worst = err; worstName = "\(e.name)[\(i - e.offset)] analytic \(g) fd \(candidates)" }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 60)
        XCTAssertLessThanOrEqual(worst, 1, worstName)
        // the gradient is not trivially zero
        XCTAssertGreaterThan(analytic.map { abs($0) }.max()!, 1e-3)
    }

    func testEvaluationForwardMatchesWorkspace() throws {
        let model = tinyModel(dropout: 0)
        // non-trivial running statistics so evaluation-mode batch norm matters
        var s: UInt32 = 5
        func u() -> Float { s = s &* 1_664_525 &+ 1_013_904_223; return Float(s >> 8) / 16_777_216 }
        for e in model.tensors where e.name.hasSuffix("running_mean") || e.name.hasSuffix("running_var") || e.name.hasSuffix("bias") {
            let t = model.tensor(e.name)!
            for j in t.indices { t[j] = e.name.hasSuffix("running_var") ? 0.5 + u() : u() - 0.5 }
        }
        model.refreshDerived()
        var config = WideResNetTrainingConfig()
        config.batchSize = 5; config.chunk = 2
        let trainer = try WideResNetTrainer(model: model, config: config)
        let d = data(5, seed: 9)
        let ws = try WideResNetWorkspace(model: model, arena: Arena(capacity: model.workspacePlan(rows: 1, cotangents: 0).bytes), rows: 1, cotangents: 0)
        ws.sample(RandomAddress(seed: 1, role: .inference, image: 0, sample: 0))
        let batched = d.images.withUnsafeBufferPointer { im in trainer.evaluationProbabilities(images: im.baseAddress!, count: 5) }
        var worst: Float = 0
        for n in 0..<5 {
            for i in 0..<36 { ws.input(row: 0)[i] = Float(d.images[n * 36 + i]) / 255 }
            let p = ws.forward(rows: 1)
            for j in 0..<3 { worst = max(worst, abs(p[0, j] - batched[n * 3 + j])) }
        }
        XCTAssertLessThan(worst, 1e-5)
    }

    func testResumeFromCheckpointIsExact() throws {
        let d = data(40, seed: 4)
        var config = WideResNetTrainingConfig()
        config.batchSize = 8; config.epochs = 2; config.chunk = 3
        func train(_ t: WideResNetTrainer, epoch: Int) {
            _ = d.images.withUnsafeBufferPointer { im in d.labels.withUnsafeBufferPointer { lb in
                t.trainEpoch(epoch, images: im.baseAddress!, labels: lb.baseAddress!, count: 40) } }
        }
        let straight = try WideResNetTrainer(model: tinyModel(dropout: 0.3), config: config)
        train(straight, epoch: 0); train(straight, epoch: 1)

        let first = try WideResNetTrainer(model: tinyModel(dropout: 0.3), config: config)
        train(first, epoch: 0)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wrn-resume-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/" + WideResNetCheckpoint.fileName
        try WideResNetCheckpoint.save(first, state: .init(epochsDone: 1, seconds: 2.5), to: path)
        let resumed = try WideResNetTrainer(model: tinyModel(dropout: 0.3), config: config)
        resumed.model.initialise(seed: 99)                     // overwritten by the checkpoint
        XCTAssertEqual(try WideResNetCheckpoint.load(into: resumed, from: path), .init(epochsDone: 1, seconds: 2.5))
        train(resumed, epoch: 1)
        let a = UnsafeBufferPointer(start: straight.model.parameters.data, count: straight.model.parameters.count)
        let b = UnsafeBufferPointer(start: resumed.model.parameters.data, count: resumed.model.parameters.count)
        XCTAssertTrue(a.elementsEqual(b), "resumed training must equal the straight run bit for bit")
        XCTAssertFalse(a.elementsEqual(UnsafeBufferPointer(start: first.model.parameters.data, count: a.count)), "epoch 2 changed nothing")

        // a checkpoint written with other settings is refused with the setting's name
        var other = config; other.batchSize = 4
        let mismatched = try WideResNetTrainer(model: tinyModel(dropout: 0.3), config: other)
        XCTAssertThrowsError(try WideResNetCheckpoint.load(into: mismatched, from: path)) { error in
            XCTAssertTrue("\(error)".contains("batch_size"), "\(error)")
        }
    }

    func testLearningRateSchedule() {
        var c = WideResNetTrainingConfig()
        c.epochs = 10; c.learningRate = 0.1
        XCTAssertEqual(c.learningRate(epoch: 0), 0.1, accuracy: 1e-7)
        XCTAssertEqual(c.learningRate(epoch: 2), 0.1, accuracy: 1e-7)
        XCTAssertEqual(c.learningRate(epoch: 3), 0.02, accuracy: 1e-7)
        XCTAssertEqual(c.learningRate(epoch: 6), 0.004, accuracy: 1e-7)
        XCTAssertEqual(c.learningRate(epoch: 9), 0.0008, accuracy: 1e-7)
    }

    func testTrainingLowersTheLoss() throws {
        let d = data(64, seed: 8)
        var config = WideResNetTrainingConfig()
        config.batchSize = 16; config.epochs = 30; config.learningRate = 0.05; config.augment = false; config.milestones = []
        let t = try WideResNetTrainer(model: tinyModel(dropout: 0), config: config)
        var losses: [Double] = []
        for e in 0..<30 {
            let r = d.images.withUnsafeBufferPointer { im in d.labels.withUnsafeBufferPointer { lb in
                t.trainEpoch(e, images: im.baseAddress!, labels: lb.baseAddress!, count: 64) } }
            losses.append(r.loss)
        }
        // random labels: the net can only memorise, which it must do
        XCTAssertLessThan(losses.last!, 0.5 * losses.first!, "\(losses)")
    }
}
