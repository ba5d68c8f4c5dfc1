import Foundation

// Bias, ReLU and softmax, each as forward / VJP (reverse) / JVP (forward-mode) side by side.
// Shapes: x, y are rows×cols matrices; one softmax per row.

public enum Bias {
    /// y += b (b broadcast over rows)
    public static func forward(_ y: Matrix, bias: UnsafePointer<Float>) {
        for i in 0..<y.rows { Vec.axpy(1, bias, y.row(i), y.cols) }
    }
    /// gBias += Σ_rows gy (the input gradient is gy itself)
    public static func vjp(_ gy: Matrix, gBias: UnsafeMutablePointer<Float>) {
        for i in 0..<gy.rows { Vec.axpy(1, gy.row(i), gBias, gy.cols) }
    }
    /// ty += tBias (tangent of a bias parameter; the input tangent passes through)
    public static func jvp(_ ty: Matrix, tBias: UnsafePointer<Float>) { forward(ty, bias: tBias) }
}

public enum ReLU {
    /// y = max(x, 0); y may alias x.
    public static func forward(_ x: Matrix, _ y: Matrix) {
        for i in 0..<x.rows {
            let xs = x.row(i), ys = y.row(i)
            for j in 0..<x.cols { ys[j] = max(xs[j], 0) }
        }
    }
    /// gx = gy ⊙ [x > 0]; `x` is the forward input (pre-activation). gx may alias gy.
    public static func vjp(x: Matrix, gy: Matrix, gx: Matrix) {
        for i in 0..<x.rows {
            let xs = x.row(i), gys = gy.row(i), gxs = gx.row(i)
            for j in 0..<x.cols { gxs[j] = xs[j] > 0 ? gys[j] : 0 }
        }
    }
    /// ty = tx ⊙ [x > 0] (the same mask: ReLU is piecewise linear).
    public static func jvp(x: Matrix, tx: Matrix, ty: Matrix) { vjp(x: x, gy: tx, gx: ty) }
    /// Row variant: one primal row `x` masks several tangent/cotangent rows.
    public static func mask(primal x: UnsafePointer<Float>, _ t: Matrix) {
        for i in 0..<t.rows {
            let ts = t.row(i)
            for j in 0..<t.cols where !(x[j] > 0) { ts[j] = 0 }
        }
    }
}

public enum Softmax {
    /// p = exp(z − max z) / Σ exp(z − max z), row-wise, no epsilon (docs/METHOD.md §Conventions: saturation is kept).
    public static func forward(_ z: Matrix, _ p: Matrix) {
        for i in 0..<z.rows {
            let zs = z.row(i), ps = p.row(i)
            var m = zs[0]
            for j in 1..<z.cols { m = max(m, zs[j]) }
            var s: Float = 0
            for j in 0..<z.cols { let e = Foundation.exp(zs[j] - m); ps[j] = e; s += e }
            let inv = 1 / s
            for j in 0..<z.cols { ps[j] *= inv }
        }
    }
    /// gz = p ⊙ (gp − ⟨gp, p⟩) for each cotangent row of gp against the probability row `p`.
    public static func vjp(p: UnsafePointer<Float>, gp: Matrix, gz: Matrix) {
        for i in 0..<gp.rows {
            let g = gp.row(i), out = gz.row(i)
            let s = Vec.dot(g, p, gp.cols)
            for j in 0..<gp.cols { out[j] = p[j] * (g[j] - s) }
        }
    }
    /// tp = p ⊙ (tz − ⟨p, tz⟩): the same formula (the softmax Jacobian is symmetric).
    public static func jvp(p: UnsafePointer<Float>, tz: Matrix, tp: Matrix) { vjp(p: p, gp: tz, gz: tp) }
}
