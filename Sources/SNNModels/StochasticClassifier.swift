import SNNRuntime

/// What the robustness code needs of a stochastic classifier: realizations addressed by
/// `RandomAddress`, and for one realization the probabilities, a JVP and VJPs at an input.
public protocol StochasticClassifier: AnyObject {
    var name: String { get }
    var inputSize: Int { get }
    var classCount: Int { get }
    /// Smoothness constant L of the averaged prediction if one is known (randomized smoothing:
    /// 2/σ²), nil otherwise: the smooth condition is then reported as unknown.
    var smoothness: Float? { get }
    /// Memory one workspace needs for `rows` primal inputs and `cotangents` VJP rows.
    func workspacePlan(rows: Int, cotangents: Int) -> MemoryPlan
    func makeWorkspace(arena: Arena, rows: Int, cotangents: Int) throws -> any ClassifierWorkspace
    /// How the evaluator should get the margin gradients (see `GradientStrategy`).
    var gradientStrategy: GradientStrategy { get }
}

/// How an evaluator obtains ∇m_c = ∇(f^I_y − f^I_c) over the inference set.
public enum GradientStrategy: Sendable {
    /// One pass: k VJPs per sample give the whole k×d Jacobian. Right when drawing a realization
    /// costs more than k backward passes (the matrix-Gaussian MLP: ~118k normals per sample).
    case fullJacobian
    /// Two passes over the same realizations: forward + JVP first (margins, d_c, hence j and j'),
    /// then one VJP with the two cotangents e_y − e_j, e_y − e_j'. Right when a backward pass costs
    /// more than regenerating the realization (dropout masks of a wide ResNet).
    case twoPass
}

extension StochasticClassifier {
    public var gradientStrategy: GradientStrategy { .twoPass }
    /// The matrix-Gaussian MLP that draws this model's realizations (itself, or the base under
    /// randomized smoothing), whose `sampler` can be chosen; nil for other models.
    public var matrixGaussianMLP: MatrixGaussianMLP? {
        if let m = self as? MatrixGaussianMLP { return m }
        return (self as? SmoothedClassifier)?.base.matrixGaussianMLP
    }
}

/// Per-worker scratch for one realization at a time. All buffers come from the arena.
public protocol ClassifierWorkspace: AnyObject {
    /// Draws realization θ at `address` (replacing the previous one).
    func sample(_ address: RandomAddress)
    /// Pointer to input row `row` (inputSize floats, pixel space); fill it before `forward`.
    func input(row: Int) -> UnsafeMutablePointer<Float>
    /// Probabilities f(x_row, θ) for rows 0..<rows: a rows×classCount view.
    func forward(rows: Int) -> Matrix
    /// Directional derivative ∂f(x_0, θ)/∂x · t for all classes (after `forward`); classCount floats.
    func jvp(tangent: UnsafePointer<Float>) -> UnsafePointer<Float>
    /// Input gradients of ⟨cotangent_i, f(x_0, θ)⟩ for each cotangent row (after `forward`):
    /// writes a cotangents.rows × inputSize matrix.
    func vjp(cotangents: Matrix, into gradients: Matrix)
}

/// A workspace that can leave out of a VJP the part that is one linear map for every realization
/// (the lazy MLP's layer-0 mean product g ↦ s·gMᵀ) and apply it once to a sum over realizations:
/// Σ_s (g_s Mᵀ) = (Σ_s g_s) Mᵀ. An evaluator that only needs the sum saves r·c multiply-adds per
/// cotangent row and realization.
public protocol DeferringVJPWorkspace: ClassifierWorkspace {
    /// `vjp` without the deferred part, whose cotangents are added to a pending sum instead.
    func vjpDeferringMean(cotangents: Matrix, into gradients: Matrix)
    /// Adds the deferred part of every `vjpDeferringMean` since the last `clearDeferredMean` into
    /// `sums` (same rows as the cotangents, inputSize columns), keeping the pending sum: reading a
    /// prefix of the sum (nested sets) does not change how the rest is accumulated, so a sweep's
    /// sums equal a standalone run's bit for bit.
    func addDeferredMean(into sums: Matrix)
    /// Forgets the pending sum (before the next sum over realizations).
    func clearDeferredMean()
}
