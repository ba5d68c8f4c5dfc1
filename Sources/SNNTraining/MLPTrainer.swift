import Foundation
import SNNModels
import SNNRuntime

public struct TrainingConfig: Sendable {
    public var objective: Objective
    public var epochs = 50
    public var batchSize = 100
    public var samples = 5
    public var learningRate: Float = 1e-3
    public var seed: UInt64 = 1
    /// Randomized smoothing during training (docs/METHOD.md §Set-up): σ² of the noise, nil for none.
    public var smoothingVariance: Float? = nil
    /// Factor of the KL term: loss = data + klWeight · KL/N (1 is the ELBO).
    public var klWeight: Float = 1
    public init(objective: Objective) { self.objective = objective }
}

/// Trains a matrix-Gaussian MLP with S weight samples per minibatch (one realization per sample
/// shared by the batch, drawn explicitly: no local reparameterisation), Adam, KL/N regulariser.
public final class MLPTrainer {
    public let model: MatrixGaussianMLP
    public let config: TrainingConfig
    let grad: MatrixGaussianMLP
    let adam: Adam
    let arena: Arena
    let nets: [BatchedMLP]
    let gz: [UnsafeMutablePointer<Float>]
    let gW: UnsafeMutablePointer<Float>, gH: UnsafeMutablePointer<Float>, gX: UnsafeMutablePointer<Float>
    let x0: UnsafeMutablePointer<Float>
    let labelBuffer: UnsafeMutablePointer<UInt8>
    public private(set) var globalStep = 0

    public init(model: MatrixGaussianMLP, config: TrainingConfig) throws {
        self.model = model; self.config = config
        grad = MatrixGaussianMLP(sizes: model.sizes, inputScaling: model.inputScaling, stochasticLayers: model.stochasticLayers)
        adam = Adam(count: model.parameters.count, learningRate: config.learningRate)
        let B = config.batchSize * (config.smoothingVariance == nil ? 1 : 2)
        let maxWidth = model.sizes.max()!, maxRows = model.layers.map(\.rows).max()!
        let perNet = model.layers.reduce(0) { $0 + $1.weightCount + B * ($1.rows + $1.outputs) } + B * model.classCount + GEMM.scratchFloats
        arena = Arena(capacity: 4 * (config.samples * (perNet + B * maxWidth) + B * model.layers[0].rows
                      + model.layers.map(\.weightCount).max()! + B * maxWidth + B * maxRows) + 64 * 64 + 4096)
        x0 = try arena.floats(B * model.layers[0].rows, for: "x0")
        var nets: [BatchedMLP] = [], gz: [UnsafeMutablePointer<Float>] = []
        for _ in 0..<config.samples {
            nets.append(try BatchedMLP(model: model, batch: B, arena: arena, sharedInput: x0))
            gz.append(try arena.floats(B * maxWidth, for: "gz"))
        }
        self.nets = nets; self.gz = gz
        gW = try arena.floats(model.layers.map(\.weightCount).max()!, for: "gW")
        gH = try arena.floats(B * maxWidth, for: "gH")
        gX = try arena.floats(B * maxRows, for: "gX")
        labelBuffer = .allocate(capacity: B)
    }
    deinit { labelBuffer.deallocate() }

    public struct EpochReport { public let epoch: Int; public let dataLoss: Double; public let kl: Double; public let seconds: Double }

    /// One pass over `count` images (u8, row-major) in an order shuffled by (seed, epoch).
    public func trainEpoch(_ epoch: Int, images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, count: Int) -> EpochReport {
        let start = DispatchTime.now().uptimeNanoseconds
        var order = Array(0..<count)
        var rng = SplitMix(seed: config.seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15))
        for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let B = config.batchSize
        var total = 0.0, batches = 0
        let N = Float(count)
        order.withUnsafeBufferPointer { orderBuf in
            var first = 0
            while first + B <= count {
                let idx = UnsafeBufferPointer(rebasing: orderBuf[first..<(first + B)])
                total += step(images: images, labels: labels, indices: idx, datasetSize: N)
                batches += 1
                first += B
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return EpochReport(epoch: epoch, dataLoss: total / Double(max(batches, 1)), kl: model.kl(), seconds: seconds)
    }

    /// One Adam step on a minibatch; returns the data loss.
    func step(images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, indices: UnsafeBufferPointer<Int>, datasetSize N: Float) -> Double {
        let loss = lossAndGradient(images: images, labels: labels, indices: indices, datasetSize: N)
        adam.update(model.parameters.data, gradient: grad.parameters.data)
        model.refreshScales()
        globalStep += 1
        return loss
    }

    /// Data loss of the minibatch under the realizations of `globalStep`, and the gradient of
    /// data loss + KL/N in `grad` (same layout as the model's parameters).
    func lossAndGradient(images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, indices: UnsafeBufferPointer<Int>, datasetSize N: Float) -> Double {
        var rows = indices.count
        if let variance = config.smoothingVariance {
            // each image replaced by two noisy copies (docs/METHOD.md §Set-up, section 4.1 of the paper)
            let doubled = indices.flatMap { [$0, $0] }
            let sigma = variance.squareRoot()
            let address = RandomAddress(seed: config.seed, role: .noise, image: UInt32(truncatingIfNeeded: globalStep), sample: 0)
            let pixels = model.inputSize
            doubled.withUnsafeBufferPointer { d in
                BatchedMLP.prepareInput(model: model, images: images, indices: d, dst: x0) { row, out in
                    var g = 0
                    while g * 64 < pixels {
                        let z = NormalStream.group(address, tensor: row, group: g)
                        for e in 0..<min(64, pixels - g * 64) {
                            let k = e / 16, lane = e % 16
                            let zk = k == 0 ? z.0 : k == 1 ? z.1 : k == 2 ? z.2 : z.3
                            out[g * 64 + e] += sigma * zk[lane]
                        }
                        g += 1
                    }
                }
            }
            for (r, i) in doubled.enumerated() { labelBuffer[r] = labels[i] }
            rows = doubled.count
        } else {
            BatchedMLP.prepareInput(model: model, images: images, indices: indices, dst: x0)
            for (r, i) in indices.enumerated() { labelBuffer[r] = labels[i] }
        }
        for (s, net) in nets.enumerated() {
            net.sample(RandomAddress(seed: config.seed, role: .train, image: UInt32(truncatingIfNeeded: globalStep), sample: UInt32(s)))
            net.forward(rows: rows)
        }
        let loss = config.objective.dataLoss(logp: nets.map(\.logp), labels: labelBuffer, batch: rows, classes: model.classCount, gz: gz)
        grad.parameters.data.update(repeating: 0, count: grad.parameters.count)
        for (s, net) in nets.enumerated() {
            net.backward(gz: gz[s], rows: rows, grad: grad, gW: gW, gH: gH, gX: gX)
        }
        addKLGradient(scale: config.klWeight / N)
        return loss
    }

    /// ∂KL/∂M = M, ∂KL/∂a_i = u_i Σv − c, ∂KL/∂b_j = v_j Σu − r (a = log √u, b = log √v);
    /// a deterministic layer has ½‖M‖² only.
    func addKLGradient(scale: Float) {
        for (l, g) in zip(model.layers, grad.layers) {
            for e in 0..<l.weightCount { g.M[e] += scale * l.M[e] }
            guard l.stochastic else { continue }
            var su: Float = 0, sv: Float = 0
            for i in 0..<l.rows { su += Foundation.exp(2 * l.logSqrtU[i]) }
            for j in 0..<l.outputs { sv += Foundation.exp(2 * l.logSqrtV[j]) }
            for i in 0..<l.rows { g.logSqrtU[i] += scale * (Foundation.exp(2 * l.logSqrtU[i]) * sv - Float(l.outputs)) }
            for j in 0..<l.outputs { g.logSqrtV[j] += scale * (Foundation.exp(2 * l.logSqrtV[j]) * su - Float(l.rows)) }
        }
    }
}

/// Small deterministic generator for shuffling (not for model randomness, which is Philox).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
