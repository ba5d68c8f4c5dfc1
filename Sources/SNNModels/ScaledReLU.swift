/// The hidden-layer input of the matrix-Gaussian MLP, x̃ = s·ReLU(h) (docs/METHOD.md §Layer), and
/// its derivatives, shared by every workspace and batched path so that they compute it alike.
public enum ScaledReLU {
    /// dst = s·max(h, 0).
    @inlinable public static func forward(_ h: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count n: Int, scale s: Float) {
        for j in 0..<n { dst[j] = max(h[j], 0) * s }
    }

    /// dst = s·t where the primal h > 0, else 0: the JVP of a tangent t, or (the same map, since it
    /// is diagonal) the VJP of a cotangent. `dst` may be `t`.
    @inlinable public static func derivative(at h: UnsafePointer<Float>, _ t: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>,
                                             count n: Int, scale s: Float) {
        for j in 0..<n { dst[j] = h[j] > 0 ? t[j] * s : 0 }
    }
}
