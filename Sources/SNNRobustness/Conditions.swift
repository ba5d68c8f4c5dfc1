/// The robustness conditions of the paper for one image (docs/METHOD.md §Conditions), from the quantities of the
/// inference set I at x: margins m_c = f^I_y − f^I_c, directional derivatives d_c = ⟨∇m_c, δ⟩,
/// and gradient norms ‖∇m_c‖.
public struct ConditionResult: Equatable {
    /// min_{c≠y} r̃_c (Theorem 3.2); +∞ when every d_c ≥ 0.
    public var minRLinear: Float = .infinity
    /// min_{c≠y} r_c (Theorem 3.4); nil when no smoothness constant L is known.
    public var minRSmooth: Float? = nil
    public var linear = false
    public var smooth: Bool? = nil
    /// j = argmin r̃_c, or argmin cos α_c if every r̃_c is ∞.
    public var minClass = -1
    /// j' = argmin_{c≠y} m_c.
    public var runnerUpClass = -1
}

public enum Conditions {
    /// r̃_c = ∞ if d_c ≥ 0 else −m_c‖δ‖/d_c (Theorem 3.2).
    @inlinable public static func linearRadius(margin m: Float, directional d: Float, deltaNorm: Float) -> Float {
        d >= 0 ? .infinity : -m * deltaNorm / d
    }

    /// V_c = d_c/‖δ‖ − L‖δ‖; r_c = ∞ if V_c ≥ 0 else m_c/|V_c| (Theorem 3.4).
    @inlinable public static func smoothRadius(margin m: Float, directional d: Float, deltaNorm: Float, lipschitz L: Float) -> Float {
        if deltaNorm == 0 { return .infinity }
        let v = d / deltaNorm - L * deltaNorm
        return v >= 0 ? .infinity : m / -v
    }

    /// cos α_c = d_c / (‖∇m_c‖ ‖δ‖); NaN when either norm is 0.
    @inlinable public static func cosAlpha(directional d: Float, gradNorm: Float, deltaNorm: Float) -> Float {
        let den = gradNorm * deltaNorm
        return den > 0 ? d / den : .nan
    }

    /// Evaluates both conditions. `margins`, `directional`, `gradNorms` are indexed by class
    /// (the label's entries are ignored). `classifiedCorrectly`: argmax f^A(x) = argmax f^I(x) = y,
    /// the theorems' premise; otherwise both conditions are false.
    public static func evaluate(
        label y: Int, classes k: Int, margins: UnsafePointer<Float>, directional: UnsafePointer<Float>,
        gradNorms: UnsafePointer<Float>, deltaNorm: Float, lipschitz: Float?, classifiedCorrectly: Bool
    ) -> ConditionResult {
        var out = ConditionResult()
        var minSmooth: Float = .infinity
        var bestCos: Float = .infinity, bestCosClass = -1
        var minMargin: Float = .infinity
        for c in 0..<k where c != y {
            let r = deltaNorm == 0 ? Float.infinity : linearRadius(margin: margins[c], directional: directional[c], deltaNorm: deltaNorm)
            if r < out.minRLinear {
                out.minRLinear = r; out.minClass = c
            }
            if let L = lipschitz {
                minSmooth = min(minSmooth, smoothRadius(margin: margins[c], directional: directional[c], deltaNorm: deltaNorm, lipschitz: L))
            }
            let cosv = cosAlpha(directional: directional[c], gradNorm: gradNorms[c], deltaNorm: deltaNorm)
            if bestCosClass < 0 || cosv < bestCos { bestCos = cosv; bestCosClass = c }
            if margins[c] < minMargin || out.runnerUpClass < 0 { minMargin = margins[c]; out.runnerUpClass = c }
        }
        if out.minClass < 0 { out.minClass = bestCosClass }
        out.linear = classifiedCorrectly && out.minRLinear > deltaNorm
        if lipschitz != nil {
            out.minRSmooth = minSmooth
            out.smooth = classifiedCorrectly && minSmooth > deltaNorm
        }
        return out
    }
}
