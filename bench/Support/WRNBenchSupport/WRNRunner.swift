// Shared by WRNBench (package-benchmark), ConvBench and the `wrn-speed` executable used by
// scripts/bench-wrn.sh: one wide ResNet with random weights, one workspace per thread, one image,
// and the two per-sample operations the evaluator performs for a wide ResNet:
//   (a) sampled forward  = draw the dropout masks of a realization + forward of one image,
//   (b) forward + VJP    = (a) + one VJP of a cotangent row (the input gradient of ⟨c, softmax⟩).
import SNNModels
import SNNRuntime

/// A WRN depth/widen pair, e.g. 28-10 or 16-4, with its dropout probability.
public struct WRNSpec: Sendable, CustomStringConvertible {
    public let depth: Int, widen: Int, dropout: Float
    public init(depth: Int, widen: Int, dropout: Float = 0.3) {
        self.depth = depth; self.widen = widen; self.dropout = dropout
    }
    public var description: String { "WRN-\(depth)-\(widen)" }
}

/// One WRN (random He-normal weights, `initialise(seed: 1)`) and `threads` workspaces, each with
/// its own arena, random input image in [0, 1] and cotangent row.
public final class WRNRunner: @unchecked Sendable {
    public let spec: WRNSpec
    public let model: WideResNet
    public let threads: Int
    let arenas: [Arena]
    let workspaces: [any ClassifierWorkspace]
    let cotangents: [UnsafeMutablePointer<Float>]
    let gradients: [UnsafeMutablePointer<Float>]
    let pool: WorkerPool?
    var counters: [UInt32]

    /// FLOPs of one forward pass: 2 · multiply-adds (convolutions and the linear layer).
    public var forwardFlops: Double { 2 * Double(model.multiplyAdds) }
    /// FLOPs credited to forward + one VJP: the VJP is *counted* as 2× the forward (the usual
    /// backward convention), so 3× forward in all. An input-only VJP executes ≈ 1× the forward's
    /// multiply-adds, so the rate of work actually done is 2/3 of this figure.
    public var forwardVJPFlops: Double { 3 * forwardFlops }

    public init(_ spec: WRNSpec, threads: Int = 1, seed: UInt64 = 1) {
        precondition(threads >= 1)
        self.spec = spec
        self.threads = threads
        model = WideResNet(.cifar10(depth: spec.depth, widen: spec.widen, dropout: spec.dropout),
                           name: spec.description)
        model.initialise(seed: seed)
        let plan = model.workspacePlan(rows: 1, cotangents: 1)
        var arenas: [Arena] = [], workspaces: [any ClassifierWorkspace] = []
        var cots: [UnsafeMutablePointer<Float>] = [], grads: [UnsafeMutablePointer<Float>] = []
        let d = model.inputSize, k = model.classCount
        for w in 0..<threads {
            let arena = Arena(capacity: plan.bytes)
            let ws = try! model.makeWorkspace(arena: arena, rows: 1, cotangents: 1)
            // pixels in [0, 1]: 0.5 + 0.2·N(0, 1), clipped
            let x = ws.input(row: 0)
            NormalStream.fill(x, count: d, address: RandomAddress(seed: 7, role: .noise, image: UInt32(w), sample: 0), tensor: 0)
            for i in 0..<d { x[i] = min(1, max(0, 0.5 + 0.2 * x[i])) }
            // cotangent e_0 − e_1 (a margin direction, as the evaluator's second pass uses)
            let c = UnsafeMutablePointer<Float>.allocate(capacity: k)
            c.initialize(repeating: 0, count: k)
            c[0] = 1; c[1] = -1
            let g = UnsafeMutablePointer<Float>.allocate(capacity: d)
            g.initialize(repeating: 0, count: d)
            arenas.append(arena); workspaces.append(ws); cots.append(c); grads.append(g)
        }
        self.arenas = arenas; self.workspaces = workspaces
        cotangents = cots; gradients = grads
        counters = [UInt32](repeating: 0, count: threads)
        pool = threads > 1 ? WorkerPool(count: threads) : nil
    }

    deinit {
        for c in cotangents { c.deallocate() }
        for g in gradients { g.deallocate() }
    }

    /// Bytes of one workspace's arena.
    public var workspaceBytes: Int { arenas[0].capacity }

    /// (a) on worker `w`: new dropout masks + forward of the one image. Returns p_0 (to keep it alive).
    @inline(never)
    public func sampledForward(worker w: Int) -> Float {
        let ws = workspaces[w]
        counters[w] &+= 1
        ws.sample(RandomAddress(seed: 3, role: .inference, image: UInt32(w), sample: counters[w]))
        return ws.forward(rows: 1)[0, 0]
    }

    /// (b) on worker `w`: (a) + one VJP of the cotangent row. Returns one gradient entry.
    @inline(never)
    public func forwardVJP(worker w: Int) -> Float {
        let p = sampledForward(worker: w)
        let k = model.classCount, d = model.inputSize
        workspaces[w].vjp(cotangents: Matrix(cotangents[w], rows: 1, cols: k),
                          into: Matrix(gradients[w], rows: 1, cols: d))
        return p + gradients[w][0]
    }

    /// Runs (a) or (b) once on every worker concurrently (`threads` samples).
    public func step(vjp: Bool) -> Float {
        guard let pool else { return vjp ? forwardVJP(worker: 0) : sampledForward(worker: 0) }
        let out = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        defer { out.deallocate() }
        pool.run { w in out[w] = vjp ? self.forwardVJP(worker: w) : self.sampledForward(worker: w) }
        var s: Float = 0
        for w in 0..<threads { s += out[w] }
        return s
    }
}

// MARK: timing helpers

@inline(never)
public func timed(_ body: () -> Void) -> Duration {
    let clock = ContinuousClock()
    let t0 = clock.now
    body()
    return clock.now - t0
}

public func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

public func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty)
    let s = values.sorted(), n = s.count
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}
