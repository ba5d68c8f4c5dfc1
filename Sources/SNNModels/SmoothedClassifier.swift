import SNNRuntime

/// Randomized smoothing (docs/METHOD.md §Randomized smoothing) around any stochastic classifier:
///   g(x) = E_ε[f(x + ε)],  ε ~ N(0, σ² I),  smoothness constant L = 2/σ² (Yang et al. 2022).
/// A realization of the smoothed model is the base realization θ together with `noiseSamples`
/// noise draws ε_1..ε_n; its prediction is (1/n) Σ_j f(x + ε_j, θ). The same ε_j are added to every
/// input of the realization (x, x_adv, …), so the realization is one function of x.
public final class SmoothedClassifier: StochasticClassifier {
    public let base: any StochasticClassifier
    public let variance: Float
    public let noiseSamples: Int
    public var name: String
    public var inputSize: Int { base.inputSize }
    public var classCount: Int { base.classCount }
    public var smoothness: Float? { 2 / variance }
    public var gradientStrategy: GradientStrategy { base.gradientStrategy }

    public init(base: any StochasticClassifier, variance: Float, noiseSamples: Int, name: String) {
        precondition(variance > 0 && noiseSamples >= 1 && noiseSamples < RandomReservations.noiseDrawsPerRole)
        self.base = base; self.variance = variance; self.noiseSamples = noiseSamples; self.name = name
    }

    public func workspacePlan(rows: Int, cotangents: Int) -> MemoryPlan {
        var plan = base.workspacePlan(rows: rows, cotangents: cotangents)
        plan.add("smooth_inputs", floats: rows * inputSize)
        plan.add("smooth_noise", floats: inputSize)
        plan.add("smooth_probs", floats: rows * classCount)
        plan.add("smooth_tprobs", floats: classCount)
        plan.add("smooth_grads", floats: cotangents * inputSize)
        return plan
    }

    public func makeWorkspace(arena: Arena, rows: Int, cotangents: Int) throws -> any ClassifierWorkspace {
        try SmoothedWorkspace(model: self, arena: arena, rows: rows, cotangents: cotangents)
    }

    /// The noise stream of draw j for the realization at `address`: role `noise`, the realization's
    /// image, sample and step, and a tensor index that keeps the roles apart (attack sample s and
    /// inference sample s get independent noise).
    @inlinable public static func noiseAddress(_ address: RandomAddress) -> RandomAddress {
        RandomAddress(seed: address.seed, role: .noise, image: address.image, sample: address.sample, step: address.step)
    }
    @inlinable public static func noiseTensor(role: RandomRole, draw: Int) -> Int { RandomReservations.smoothingNoise(role: role, draw: draw) }
}

final class SmoothedWorkspace: ClassifierWorkspace {
    let model: SmoothedClassifier
    let base: any ClassifierWorkspace
    let arena: Arena
    let d: Int, k: Int, maxRows: Int
    let inputs, noise, probs, tprobs, grads: UnsafeMutablePointer<Float>
    let sigma: Float
    var address = RandomAddress(seed: 0, role: .inference, image: 0, sample: 0)
    var rowsDone = 0

    init(model: SmoothedClassifier, arena: Arena, rows: Int, cotangents: Int) throws {
        self.model = model; self.arena = arena
        d = model.inputSize; k = model.classCount; maxRows = rows
        base = try model.base.makeWorkspace(arena: arena, rows: rows, cotangents: cotangents)
        inputs = try arena.floats(rows * d, for: "smooth_inputs")
        noise = try arena.floats(d, for: "smooth_noise")
        probs = try arena.floats(rows * k, for: "smooth_probs")
        tprobs = try arena.floats(k, for: "smooth_tprobs")
        grads = try arena.floats(cotangents * d, for: "smooth_grads")
        sigma = model.variance.squareRoot()
    }

    func sample(_ address: RandomAddress) {
        self.address = address
        base.sample(address)
    }

    func input(row: Int) -> UnsafeMutablePointer<Float> { inputs + row * d }

    /// Base inputs = x_r + σ ε_j for rows 0..<rows, then the base forward pass.
    @inline(__always) func forwardNoisy(draw j: Int, rows: Int) -> Matrix {
        NormalStream.fill(noise, count: d, address: SmoothedClassifier.noiseAddress(address),
                          tensor: SmoothedClassifier.noiseTensor(role: address.role, draw: j))
        for r in 0..<rows {
            let dst = base.input(row: r), src = inputs + r * d
            for i in 0..<d { dst[i] = src[i] + sigma * noise[i] }
        }
        return base.forward(rows: rows)
    }

    func forward(rows: Int) -> Matrix {
        precondition(rows <= maxRows)
        probs.update(repeating: 0, count: rows * k)
        let w = 1 / Float(model.noiseSamples)
        for j in 0..<model.noiseSamples {
            let p = forwardNoisy(draw: j, rows: rows)
            for r in 0..<rows { Vec.axpy(w, p.row(r), probs + r * k, k) }
        }
        rowsDone = rows
        return Matrix(probs, rows: rows, cols: k)
    }

    // The derivatives of the average are averages of the derivatives at each noisy input; the base
    // keeps only its last forward pass, so each draw is run again for row 0.
    func jvp(tangent: UnsafePointer<Float>) -> UnsafePointer<Float> {
        precondition(rowsDone > 0, "forward first")
        tprobs.update(repeating: 0, count: k)
        let w = 1 / Float(model.noiseSamples)
        for j in 0..<model.noiseSamples {
            _ = forwardNoisy(draw: j, rows: 1)
            Vec.axpy(w, base.jvp(tangent: tangent), tprobs, k)
        }
        return UnsafePointer(tprobs)
    }

    func vjp(cotangents: Matrix, into gradients: Matrix) {
        precondition(rowsDone > 0, "forward first")
        let q = cotangents.rows
        gradients.fill(0)
        let w = 1 / Float(model.noiseSamples)
        let tmp = Matrix(grads, rows: q, cols: d)
        for j in 0..<model.noiseSamples {
            _ = forwardNoisy(draw: j, rows: 1)
            base.vjp(cotangents: cotangents, into: tmp)
            for r in 0..<q { Vec.axpy(w, tmp.row(r), gradients.row(r), d) }
        }
    }
}
