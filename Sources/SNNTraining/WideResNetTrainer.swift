import Foundation
import SNNModels
import SNNRuntime

/// Hyper-parameters of the wide ResNet trainer (the paper's code base: SGD, momentum 0.9, weight
/// decay 5e-4, lr 0.1 divided by 5 at 30 %, 60 % and 80 % of the epochs — its 60/120/160 of 200).
public struct WideResNetTrainingConfig: Sendable, Equatable {
    public var epochs = 10
    public var batchSize = 128
    public var learningRate: Float = 0.1
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    /// Fractions of `epochs` after which the learning rate is multiplied by `decay`.
    public var milestones: [Double] = [0.3, 0.6, 0.8]
    public var decay: Float = 0.2
    public var seed: UInt64 = 1
    /// Random horizontal flip and a random shift of up to `shift` pixels (zero fill) per image.
    public var augment = true
    public var shift = 2
    /// Images unfolded at once by the batched convolution (bounds the im2col scratch).
    public var chunk = 8
    public init() {}

    /// The learning rate during `epoch` (0-based): base · decay^(milestones passed).
    public func learningRate(epoch: Int) -> Float {
        let passed = milestones.filter { epoch >= Int(($0 * Double(epochs)).rounded()) }.count
        return learningRate * Float(pow(Double(decay), Double(passed)))
    }
}

/// Minibatch SGD for `WideResNet` with batch-norm in training mode (batch statistics, running
/// averages updated as PyTorch does) and dropout masks drawn per step from the `train` stream.
///
/// The batch lives in channel-major layout (`BatchMap`), so every convolution is a few large GEMMs
/// and every batch norm reads contiguous runs. All buffers come from one arena sized at start-up.
/// Forward activations kept for the backward pass, per block: its input (the previous block's
/// output), u1 = ReLU(BN1(x)), z = dropout(conv1(u1)) (BN2's input) and u2 = ReLU(BN2(z)).
public final class WideResNetTrainer {
    public let model: WideResNet
    public let config: WideResNetTrainingConfig
    let arena: Arena
    /// ∂loss/∂θ and the momentum buffer, laid out like `model.parameters` (same tensor offsets).
    public let gradient: ParameterBlock
    public let velocity: ParameterBlock
    let maxBatch: Int
    let x0: UnsafeMutablePointer<Float>
    let acts: [UnsafeMutablePointer<Float>]          // acts[0] stem output, acts[i + 1] block i output
    struct BlockStore { let u1, z, u2, mask: UnsafeMutablePointer<Float> }
    let stores: [BlockStore]
    struct NormStats { let mean, variance, invStd: UnsafeMutablePointer<Float> }
    let bnStats: [(NormStats, NormStats)]
    let headStats: NormStats
    let headU: UnsafeMutablePointer<Float>
    let pooled, logits, probs, gPooled, gLogits: UnsafeMutablePointer<Float>
    let g1, g2, t1, t2: UnsafeMutablePointer<Float>
    let cols: UnsafeMutablePointer<Float>, gemm: UnsafeMutablePointer<Float>
    public private(set) var globalStep = 0

    public init(model: WideResNet, config: WideResNetTrainingConfig) throws {
        precondition(config.batchSize >= 1 && config.chunk >= 1)
        self.model = model; self.config = config
        maxBatch = config.batchSize
        gradient = ParameterBlock(count: model.parameters.count)
        velocity = ParameterBlock(count: model.parameters.count)
        let B = config.batchSize
        let plan = Self.plan(model, batch: B, chunk: config.chunk)
        arena = Arena(capacity: plan.bytes)
        let b = try plan.allocate(in: arena)
        x0 = b["x0"]!
        acts = (0...model.blocks.count).map { b["act\($0)"]! }
        stores = model.blocks.map { BlockStore(u1: b["\($0.name).u1"]!, z: b["\($0.name).z"]!, u2: b["\($0.name).u2"]!, mask: b["\($0.name).mask"]!) }
        func stats(_ name: String) -> NormStats { NormStats(mean: b[name + ".mean"]!, variance: b[name + ".var"]!, invStd: b[name + ".invstd"]!) }
        bnStats = model.blocks.map { (stats($0.name + ".bn1"), stats($0.name + ".bn2")) }
        headStats = stats("bn1")
        headU = b["head.u"]!
        pooled = b["pooled"]!; logits = b["logits"]!; probs = b["probs"]!; gPooled = b["gpooled"]!; gLogits = b["glogits"]!
        g1 = b["g1"]!; g2 = b["g2"]!; t1 = b["t1"]!; t2 = b["t2"]!
        cols = b["cols"]!; gemm = b["gemm"]!
    }

    /// Every buffer the trainer needs for a batch of `batch` images.
    public static func plan(_ model: WideResNet, batch B: Int, chunk: Int) -> MemoryPlan {
        let c = model.configuration
        var plan = MemoryPlan()
        let ph = c.paddedHeight, pw = c.paddedWidth
        plan.add("x0", floats: c.inputChannels * B * ph * pw)
        plan.add("act0", floats: 16 * B * ph * pw)
        var maxMap = max(16 * B * ph * pw, c.inputChannels * B * ph * pw)
        var maxCols = model.stem.conv.batchScratchFloats(height: ph, width: pw, chunk: chunk)
        for (i, blk) in model.blocks.enumerated() {
            let inner = blk.planes * B * blk.height * blk.width
            plan.add("\(blk.name).u1", floats: blk.inPlanes * B * blk.height * blk.width)
            plan.add("\(blk.name).z", floats: inner)
            plan.add("\(blk.name).u2", floats: inner)
            plan.add("\(blk.name).mask", floats: inner)
            plan.add("act\(i + 1)", floats: blk.planes * B * blk.outHeight * blk.outWidth)
            maxMap = max(maxMap, inner, blk.inPlanes * B * blk.height * blk.width)
            maxCols = max(maxCols, blk.conv1.conv.batchScratchFloats(height: blk.height, width: blk.width, chunk: chunk),
                          blk.conv2.conv.batchScratchFloats(height: blk.height, width: blk.width, chunk: chunk),
                          blk.shortcut?.conv.batchScratchFloats(height: blk.height, width: blk.width, chunk: chunk) ?? 0)
            for bn in [(blk.name + ".bn1", blk.inPlanes), (blk.name + ".bn2", blk.planes)] {
                for s in ["mean", "var", "invstd"] { plan.add("\(bn.0).\(s)", floats: bn.1) }
            }
        }
        for s in ["mean", "var", "invstd"] { plan.add("bn1.\(s)", floats: model.headChannels) }
        plan.add("head.u", floats: model.headChannels * B * model.headHeight * model.headWidth)
        plan.add("pooled", floats: B * model.headChannels); plan.add("gpooled", floats: B * model.headChannels)
        plan.add("logits", floats: B * c.classes); plan.add("probs", floats: B * c.classes); plan.add("glogits", floats: B * c.classes)
        for g in ["g1", "g2", "t1", "t2"] { plan.add(g, floats: maxMap) }
        plan.add("cols", floats: max(maxCols, 1))
        plan.add("gemm", floats: GEMM.scratchFloats)
        return plan
    }

    // MARK: input

    /// Normalised, zero-padded (and, when `augment`, flipped and shifted) images into x0.
    /// `images` holds u8 pixels (C×H×W per image); `indices` picks the batch.
    func loadInput(images: UnsafePointer<UInt8>, indices: UnsafeBufferPointer<Int>, augment: Bool, step: Int) {
        let c = model.configuration, B = indices.count
        let ph = c.paddedHeight, pw = c.paddedWidth, h = c.inputHeight, w = c.inputWidth
        let padTop = (ph - h) / 2, padLeft = (pw - w) / 2
        let x = BatchMap(x0, channels: c.inputChannels, batch: B, height: ph, width: pw)
        var rng = SplitMix(seed: config.seed ^ 0xA5A5_0000_0000_0000 ^ UInt64(step) &* 0xD6E8_FEB8_6659_FD93)
        for (n, index) in indices.enumerated() {
            var flip = false, dy = 0, dx = 0
            if augment {
                let r = rng.next()
                flip = r & 1 == 1
                let span = UInt64(2 * config.shift + 1)
                dy = Int((r >> 8) % span) - config.shift
                dx = Int((r >> 24) % span) - config.shift
            }
            let src = images + index * c.inputChannels * h * w
            for ch in 0..<c.inputChannels {
                let inv = 1 / c.std[ch], mu = c.mean[ch]
                let dst = x.plane(ch, n), plane = src + ch * h * w
                dst.update(repeating: -mu * inv, count: ph * pw)
                for y in 0..<h {
                    let ty = y + padTop + dy
                    if ty < 0 || ty >= ph { continue }
                    for xx in 0..<w {
                        let tx = xx + padLeft + dx
                        if tx < 0 || tx >= pw { continue }
                        let sx = flip ? w - 1 - xx : xx
                        dst[ty * pw + tx] = (Float(plane[y * w + sx]) / 255 - mu) * inv
                    }
                }
            }
        }
    }

    // MARK: forward

    /// Forward pass over the batch in x0. Training: batch statistics, dropout masks from `step`.
    /// Evaluation: running statistics and dropout masks from `address` (one tensor per block for the
    /// whole batch, so every image gets its own independent mask elements).
    func forward(batch B: Int, training: Bool, address: RandomAddress) {
        let m = model, c = m.configuration
        let ph = c.paddedHeight, pw = c.paddedWidth
        let chunk = config.chunk
        let x = BatchMap(x0, channels: c.inputChannels, batch: B, height: ph, width: pw)
        m.stem.conv.forwardBatch(x, weights: m.stem.weight, bias: m.stem.bias, BatchMap(acts[0], channels: 16, batch: B, height: ph, width: pw),
                                 cols: cols, chunk: chunk, gemmScratch: gemm)
        for (i, blk) in m.blocks.enumerated() {
            let st = stores[i]
            let xin = BatchMap(acts[i], channels: blk.inPlanes, batch: B, height: blk.height, width: blk.width)
            let u1 = BatchMap(st.u1, channels: blk.inPlanes, batch: B, height: blk.height, width: blk.width)
            let z = BatchMap(st.z, channels: blk.planes, batch: B, height: blk.height, width: blk.width)
            let u2 = BatchMap(st.u2, channels: blk.planes, batch: B, height: blk.height, width: blk.width)
            let out = BatchMap(acts[i + 1], channels: blk.planes, batch: B, height: blk.outHeight, width: blk.outWidth)
            normalise(xin, into: u1, layer: blk.bn1, stats: bnStats[i].0, training: training)
            WideResNetWorkspace.relu(u1.data, u1.count)
            blk.conv1.conv.forwardBatch(u1, weights: blk.conv1.weight, bias: blk.conv1.bias, z, cols: cols, chunk: chunk, gemmScratch: gemm)
            Dropout.fillMask(st.mask, count: z.count, p: c.dropout, address: address, tensor: i)
            WideResNetWorkspace.multiplyMask(z.data, st.mask, z.count)
            normalise(z, into: u2, layer: blk.bn2, stats: bnStats[i].1, training: training)
            WideResNetWorkspace.relu(u2.data, u2.count)
            blk.conv2.conv.forwardBatch(u2, weights: blk.conv2.weight, bias: blk.conv2.bias, out, cols: cols, chunk: chunk, gemmScratch: gemm)
            if let sc = blk.shortcut {
                let s = BatchMap(t1, channels: blk.planes, batch: B, height: blk.outHeight, width: blk.outWidth)
                sc.conv.forwardBatch(xin, weights: sc.weight, bias: sc.bias, s, cols: cols, chunk: chunk, gemmScratch: gemm)
                Vec.axpy(1, s.data, out.data, out.count)
            } else {
                Vec.axpy(1, xin.data, out.data, out.count)
            }
        }
        let hx = BatchMap(acts[m.blocks.count], channels: m.headChannels, batch: B, height: m.headHeight, width: m.headWidth)
        let hu = BatchMap(headU, channels: m.headChannels, batch: B, height: m.headHeight, width: m.headWidth)
        normalise(hx, into: hu, layer: m.head, stats: headStats, training: training)
        WideResNetWorkspace.relu(hu.data, hu.count)
        let ch = m.headChannels, k = c.classes, inv = 1 / Float(hu.plane)
        for n in 0..<B {
            for cc in 0..<ch { pooled[n * ch + cc] = Conv2D.sum(hu.plane(cc, n), hu.plane) * inv }
            for j in 0..<k { logits[n * k + j] = Vec.dot(m.linearWeight + j * ch, pooled + n * ch, ch) + m.linearBias[j] }
        }
        Softmax.forward(Matrix(logits, rows: B, cols: k), Matrix(probs, rows: B, cols: k))
    }

    func normalise(_ x: BatchMap, into y: BatchMap, layer: WideResNet.NormLayer, stats: NormStats, training: Bool) {
        if training {
            BatchNorm.trainingForward(x: x.data, batch: 1, channels: x.channels, height: 1, width: x.rowLength,
                                      gamma: layer.gamma, beta: layer.beta, y: y.data,
                                      mean: stats.mean, variance: stats.variance, invStd: stats.invStd)
        } else {
            for c in 0..<x.channels {
                BatchNorm.affine(x.data + c * x.rowLength, y.data + c * x.rowLength, x.rowLength, layer.scale[c], layer.shift[c])
            }
        }
    }

    // MARK: backward

    /// Mean cross-entropy of the batch and its gradient, summed into `gradient` (not zeroed here).
    func backward(batch B: Int, labels: UnsafePointer<UInt8>, indices: UnsafeBufferPointer<Int>) -> (loss: Double, correct: Int) {
        let m = model, c = m.configuration, k = c.classes, ch = m.headChannels
        let chunk = config.chunk
        var loss = 0.0, correct = 0
        for n in 0..<B {
            let y = Int(labels[indices[n]])
            loss -= log(Double(max(probs[n * k + y], .leastNormalMagnitude)))
            var best = 0
            for j in 1..<k where probs[n * k + j] > probs[n * k + best] { best = j }
            if best == y { correct += 1 }
            for j in 0..<k { gLogits[n * k + j] = (probs[n * k + j] - (j == y ? 1 : 0)) / Float(B) }
        }
        // linear layer: gW[j] += Σ_n gz[n, j]·pooled[n], gb[j] += Σ_n gz[n, j], gpooled[n] = Σ_j gz[n, j]·W[j]
        let gW = grad(m.linearWeight), gb = grad(m.linearBias)
        gPooled.update(repeating: 0, count: B * ch)
        for n in 0..<B {
            for j in 0..<k {
                let g = gLogits[n * k + j]
                Vec.axpy(g, pooled + n * ch, gW + j * ch, ch)
                gb[j] += g
                Vec.axpy(g, m.linearWeight + j * ch, gPooled + n * ch, ch)
            }
        }
        // pool, ReLU and head BN
        let hu = BatchMap(headU, channels: ch, batch: B, height: m.headHeight, width: m.headWidth)
        let gh = BatchMap(t1, channels: ch, batch: B, height: m.headHeight, width: m.headWidth)
        let inv = 1 / Float(hu.plane)
        for cc in 0..<ch { for n in 0..<B { gh.plane(cc, n).update(repeating: gPooled[n * ch + cc] * inv, count: hu.plane) } }
        WideResNetWorkspace.reluMask(hu.data, gh.data, gh.count)
        var gOut = g1, gIn = g2
        normaliseVJP(x: acts[m.blocks.count], gy: gh.data, gx: gOut, rowLength: gh.rowLength, layer: m.head, stats: headStats)
        for i in stride(from: m.blocks.count - 1, through: 0, by: -1) {
            let blk = m.blocks[i], st = stores[i]
            let go = BatchMap(gOut, channels: blk.planes, batch: B, height: blk.outHeight, width: blk.outWidth)
            let gx = BatchMap(gIn, channels: blk.inPlanes, batch: B, height: blk.height, width: blk.width)
            let xin = BatchMap(acts[i], channels: blk.inPlanes, batch: B, height: blk.height, width: blk.width)
            let u1 = BatchMap(st.u1, channels: blk.inPlanes, batch: B, height: blk.height, width: blk.width)
            let u2 = BatchMap(st.u2, channels: blk.planes, batch: B, height: blk.height, width: blk.width)
            let ga = BatchMap(t1, channels: blk.planes, batch: B, height: blk.height, width: blk.width)
            let gb1 = BatchMap(t2, channels: blk.inPlanes, batch: B, height: blk.height, width: blk.width)
            if let sc = blk.shortcut {
                sc.conv.vjpWeightsBatch(x: xin, gy: go, gWeights: grad(sc.weight), gBias: grad(sc.bias), cols: cols, chunk: chunk, gemmScratch: gemm)
                sc.conv.vjpInputBatch(gy: go, weights: sc.weight, gx: gx, cols: cols, chunk: chunk, gemmScratch: gemm)
            } else {
                gx.data.update(from: go.data, count: gx.count)
            }
            blk.conv2.conv.vjpWeightsBatch(x: u2, gy: go, gWeights: grad(blk.conv2.weight), gBias: grad(blk.conv2.bias), cols: cols, chunk: chunk, gemmScratch: gemm)
            blk.conv2.conv.vjpInputBatch(gy: go, weights: blk.conv2.weight, gx: ga, cols: cols, chunk: chunk, gemmScratch: gemm)
            WideResNetWorkspace.reluMask(u2.data, ga.data, ga.count)
            normaliseVJP(x: st.z, gy: ga.data, gx: ga.data, rowLength: ga.rowLength, layer: blk.bn2, stats: bnStats[i].1)
            WideResNetWorkspace.multiplyMask(ga.data, st.mask, ga.count)
            blk.conv1.conv.vjpWeightsBatch(x: u1, gy: ga, gWeights: grad(blk.conv1.weight), gBias: grad(blk.conv1.bias), cols: cols, chunk: chunk, gemmScratch: gemm)
            blk.conv1.conv.vjpInputBatch(gy: ga, weights: blk.conv1.weight, gx: gb1, cols: cols, chunk: chunk, gemmScratch: gemm)
            WideResNetWorkspace.reluMask(u1.data, gb1.data, gb1.count)
            normaliseVJP(x: xin.data, gy: gb1.data, gx: gb1.data, rowLength: gb1.rowLength, layer: blk.bn1, stats: bnStats[i].0)
            Vec.axpy(1, gb1.data, gx.data, gx.count)
            swap(&gOut, &gIn)
        }
        let ph = c.paddedHeight, pw = c.paddedWidth
        m.stem.conv.vjpWeightsBatch(x: BatchMap(x0, channels: c.inputChannels, batch: B, height: ph, width: pw),
                                    gy: BatchMap(gOut, channels: 16, batch: B, height: ph, width: pw),
                                    gWeights: grad(m.stem.weight), gBias: grad(m.stem.bias), cols: cols, chunk: chunk, gemmScratch: gemm)
        return (loss, correct)
    }

    func normaliseVJP(x: UnsafePointer<Float>, gy: UnsafePointer<Float>, gx: UnsafeMutablePointer<Float>, rowLength: Int,
                      layer: WideResNet.NormLayer, stats: NormStats) {
        BatchNorm.trainingVJP(x: x, gy: gy, batch: 1, channels: layer.channels, height: 1, width: rowLength,
                              gamma: layer.gamma, mean: stats.mean, invStd: stats.invStd, gx: gx,
                              gGamma: grad(layer.gamma), gBeta: grad(layer.beta))
    }

    /// The gradient slot of a parameter pointer (same offset in `gradient`).
    @inline(__always) func grad(_ p: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        gradient.data + (p - model.parameters.data)
    }

    // MARK: steps and epochs

    /// Loss and gradient of one batch without updating anything (for gradient checks).
    @_spi(Testing) public func lossAndGradient(images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, indices: UnsafeBufferPointer<Int>,
                                               step: Int) -> Double {
        gradient.data.update(repeating: 0, count: gradient.count)
        loadInput(images: images, indices: indices, augment: false, step: step)
        forward(batch: indices.count, training: true, address: dropoutAddress(step: step))
        return backward(batch: indices.count, labels: labels, indices: indices).loss / Double(indices.count)
    }

    func dropoutAddress(step: Int) -> RandomAddress {
        RandomAddress(seed: config.seed, role: .train, image: RandomReservations.trainerImage, sample: UInt32(truncatingIfNeeded: step >> 24),
                      step: UInt32(step & 0xFF_FFFF))
    }

    /// One SGD step on a batch: returns (summed loss, correct predictions).
    func step(images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, indices: UnsafeBufferPointer<Int>, learningRate: Float) -> (Double, Int) {
        let B = indices.count
        gradient.data.update(repeating: 0, count: gradient.count)
        loadInput(images: images, indices: indices, augment: config.augment, step: globalStep)
        forward(batch: B, training: true, address: dropoutAddress(step: globalStep))
        let r = backward(batch: B, labels: labels, indices: indices)
        // running statistics (PyTorch: unbiased batch variance, momentum 0.1)
        for (i, blk) in model.blocks.enumerated() {
            for (layer, st, count) in [(blk.bn1, bnStats[i].0, B * blk.height * blk.width), (blk.bn2, bnStats[i].1, B * blk.height * blk.width)] {
                BatchNorm.updateRunning(channels: layer.channels, mean: st.mean, variance: st.variance, count: count,
                                        runningMean: layer.runningMean, runningVar: layer.runningVar)
            }
        }
        BatchNorm.updateRunning(channels: model.head.channels, mean: headStats.mean, variance: headStats.variance,
                                count: B * model.headHeight * model.headWidth,
                                runningMean: model.head.runningMean, runningVar: model.head.runningVar)
        // SGD with momentum and weight decay on every trainable tensor (torch.optim.SGD, dampening 0):
        // v ← μ·v + (g + λ·θ), θ ← θ − lr·v
        let mu = config.momentum, wd = config.weightDecay
        for e in model.tensors where e.isTrainable {
            let p = model.parameters.data + e.offset, g = gradient.data + e.offset, v = velocity.data + e.offset
            for j in 0..<e.count {
                let d = g[j] + wd * p[j]
                v[j] = mu * v[j] + d
                p[j] -= learningRate * v[j]
            }
        }
        globalStep += 1
        return r
    }

    public struct EpochReport { public let epoch: Int; public let loss: Double; public let accuracy: Double; public let learningRate: Float; public let seconds: Double }

    /// One pass over `count` images in an order shuffled by (seed, epoch); the last partial batch is dropped.
    public func trainEpoch(_ epoch: Int, images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, count: Int) -> EpochReport {
        let start = DispatchTime.now().uptimeNanoseconds
        var order = Array(0..<count)
        var rng = SplitMix(seed: config.seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15))
        for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let B = min(config.batchSize, count), lr = config.learningRate(epoch: epoch)
        globalStep = epoch * (count / B)        // so a resumed run draws the same masks and flips
        var loss = 0.0, correct = 0, seen = 0
        order.withUnsafeBufferPointer { o in
            var first = 0
            while first + B <= count {
                let (l, c) = step(images: images, labels: labels, indices: UnsafeBufferPointer(rebasing: o[first..<(first + B)]), learningRate: lr)
                loss += l; correct += c; seen += B
                first += B
            }
        }
        model.refreshDerived()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return EpochReport(epoch: epoch, loss: loss / Double(max(seen, 1)), accuracy: Double(correct) / Double(max(seen, 1)),
                           learningRate: lr, seconds: seconds)
    }

    /// Probabilities (count × classes) of the first `count` images in evaluation mode with dropout
    /// masks from the first inference sample — for comparing with the per-image workspace.
    @_spi(Testing) public func evaluationProbabilities(images: UnsafePointer<UInt8>, count: Int) -> [Float] {
        model.refreshDerived()
        let idx = Array(0..<count)
        idx.withUnsafeBufferPointer { loadInput(images: images, indices: $0, augment: false, step: 0) }
        forward(batch: count, training: false, address: RandomAddress(seed: config.seed, role: .inference, image: 0, sample: 0))
        return Array(UnsafeBufferPointer(start: probs, count: count * model.classCount))
    }

    // MARK: evaluation (model cards)

    public struct Evaluation {
        public var accuracyPercent: [Int: Double] = [:]
        /// Mean over images of (1/V) Σ_v (f_y(x, θ_v) − f̄_y)² over the first V samples (docs/METHOD.md §Prediction variance).
        public var meanPredictionVariance = 0.0
        public var varianceSamples = 0
        /// Images whose first sample has max_c f_c == 1 exactly.
        public var extremePredictions = 0
    }

    /// Test statistics with MC dropout: for each batch of images, `maxS` realizations (dropout
    /// masks from the `inference` stream, image field = batch index, sample field = s; every image
    /// gets its own mask elements), accuracies of the averaged prediction for each S in
    /// `sampleCounts` (nested: the first S samples), and the variance of f_y over all samples.
    public func evaluate(images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, count: Int, sampleCounts: [Int], seed: UInt64) -> Evaluation {
        model.refreshDerived()
        let k = model.classCount, maxS = sampleCounts.max() ?? 1
        var correct = [Int: Int](), result = Evaluation()
        var totalVariance = 0.0
        let B = maxBatch
        var sums = [Double](repeating: 0, count: B * k), fy = [Double](repeating: 0, count: B), fy2 = [Double](repeating: 0, count: B)
        var first = 0
        while first < count {
            let rows = min(B, count - first)
            let idx = Array(first..<(first + rows))
            idx.withUnsafeBufferPointer { loadInput(images: images, indices: $0, augment: false, step: 0) }
            for i in 0..<(rows * k) { sums[i] = 0 }
            for i in 0..<rows { fy[i] = 0; fy2[i] = 0 }
            for s in 0..<maxS {
                let address = RandomAddress(seed: seed, role: .inference, image: UInt32(first / B), sample: UInt32(s))
                forward(batch: rows, training: false, address: address)
                for n in 0..<rows {
                    let y = Int(labels[first + n])
                    var top: Float = 0
                    for j in 0..<k { sums[n * k + j] += Double(probs[n * k + j]); top = max(top, probs[n * k + j]) }
                    let f = Double(probs[n * k + y]); fy[n] += f; fy2[n] += f * f
                    if s == 0 && top == 1 { result.extremePredictions += 1 }
                }
                if sampleCounts.contains(s + 1) {
                    for n in 0..<rows {
                        var best = 0
                        for j in 1..<k where sums[n * k + j] > sums[n * k + best] { best = j }
                        if best == Int(labels[first + n]) { correct[s + 1, default: 0] += 1 }
                    }
                }
            }
            for n in 0..<rows {
                let mean = fy[n] / Double(maxS)
                totalVariance += max(fy2[n] / Double(maxS) - mean * mean, 0)
            }
            first += rows
        }
        for s in sampleCounts { result.accuracyPercent[s] = 100 * Double(correct[s, default: 0]) / Double(count) }
        result.meanPredictionVariance = totalVariance / Double(count)
        result.varianceSamples = maxS
        return result
    }
}
