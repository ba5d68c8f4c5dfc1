import SNNRuntime

/// The arithmetic of one attack step (docs/METHOD.md §Attacks, §PGD), shared by the per-image
/// `Evaluator` and the chunked `SharedBatchEvaluator`.
enum AttackStep {
    /// x ← x + ν·g/‖g‖ (L2) or x + ν·sign g (L∞); a zero direction gives no step. A tiny g may be
    /// rescaled in place (`Vec.scaledNorm`), which leaves its direction unchanged.
    static func step(_ x: UnsafeMutablePointer<Float>, along g: UnsafeMutablePointer<Float>, length nu: Float, norm: AttackNorm, count d: Int) {
        switch norm {
        case .l2:
            let n = Vec.scaledNorm(g, d)
            if n > 0 { Vec.axpy(nu / n, g, x, d) }
        case .linf:
            for i in 0..<d { x[i] += g[i] > 0 ? nu : (g[i] < 0 ? -nu : 0) }
        }
    }

    /// Projects x_adv onto the η-ball around x (PGD, before clipping to [0, 1]).
    static func project(_ xadv: UnsafeMutablePointer<Float>, around x: UnsafePointer<Float>, eta: Float, norm: AttackNorm, count d: Int) {
        switch norm {
        case .l2:
            var ss: Float = 0
            for i in 0..<d { let t = xadv[i] - x[i]; ss += t * t }
            let n = ss.squareRoot()
            if n > eta {
                let s = eta / n
                for i in 0..<d { xadv[i] = x[i] + s * (xadv[i] - x[i]) }
            }
        case .linf:
            for i in 0..<d { xadv[i] = x[i] + min(max(xadv[i] - x[i], -eta), eta) }
        }
    }

    /// Clips every pixel to [0, 1].
    static func clip(_ x: UnsafeMutablePointer<Float>, count d: Int) {
        for i in 0..<d { x[i] = min(max(x[i], 0), 1) }
    }

    /// δ = x_adv − x; returns (‖δ‖₂, ‖δ‖∞).
    static func delta(_ delta: UnsafeMutablePointer<Float>, from x: UnsafePointer<Float>, to xadv: UnsafePointer<Float>,
                      count d: Int) -> (l2: Float, linf: Float) {
        var l2: Float = 0, linf: Float = 0
        for i in 0..<d {
            let dv = xadv[i] - x[i]
            delta[i] = dv
            l2 += dv * dv; linf = max(linf, abs(dv))
        }
        return (l2.squareRoot(), linf)
    }
}
