// Global average pooling (C×H×W → C), the wide ResNet's head (docs/METHOD.md §Wide ResNet), as forward / VJP / JVP.

public enum GlobalAveragePool {
    /// y[c] = (1/(H·W)) Σ_i x[c, i].
    public static func forward(_ x: FeatureMap, _ y: UnsafeMutablePointer<Float>) {
        let inv = 1 / Float(x.plane)
        for c in 0..<x.channels { y[c] = Conv2D.sum(x.channel(c), x.plane) * inv }
    }

    /// gx[c, i] = gy[c]/(H·W) for every pixel i; with `accumulate`, gx[c, i] += gy[c]/(H·W).
    public static func vjp(gy: UnsafePointer<Float>, gx: FeatureMap, accumulate: Bool = false) {
        let inv = 1 / Float(gx.plane)
        for c in 0..<gx.channels {
            let v = gy[c] * inv, p = gx.channel(c)
            if accumulate {
                for i in 0..<gx.plane { p[i] += v }
            } else {
                p.update(repeating: v, count: gx.plane)
            }
        }
    }

    /// ty[c] = mean of tx[c, ·] (the pool is linear).
    public static func jvp(tx: FeatureMap, ty: UnsafeMutablePointer<Float>) { forward(tx, ty) }
}
