// Vector transcendentals for Box–Muller (Cephes single-precision polynomials, ≤ 2 ulp on the
// ranges used here). Swift has no vector libm; these keep the sampling path in registers.
public enum VectorMath {
    /// Natural log for positive, normal inputs (the uniforms in (0, 1] we feed it).
    @inlinable @inline(__always)
    public static func log(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let bits = unsafeBitCast(x, to: SIMD16<Int32>.self)
        var e = SIMD16<Float>((bits &>> 23) &- 126)
        var m = unsafeBitCast((bits & 0x007F_FFFF) | 0x3F00_0000, to: SIMD16<Float>.self)
        // m ∈ [0.5, 1); fold to [√½, √2) so the polynomial argument stays near 0.
        let small = m .< 0.707106781186547524
        e.replace(with: e - 1, where: small)
        m.replace(with: m + m, where: small)
        m = m - 1
        let z = m * m
        var y: SIMD16<Float> = SIMD16(repeating: 7.0376836292E-2)
        y = y * m - 1.1514610310E-1
        y = y * m + 1.1676998740E-1
        y = y * m - 1.2420140846E-1
        y = y * m + 1.4249322787E-1
        y = y * m - 1.6668057665E-1
        y = y * m + 2.0000714765E-1
        y = y * m - 2.4999993993E-1
        y = y * m + 3.3333331174E-1
        y = y * m * z
        y = y + e * -2.12194440E-4
        y = y - 0.5 * z
        return m + y + e * 0.693359375
    }

    /// (sin 2πu, cos 2πu) for u ∈ [0, 1): reduce to t = 2π(u − q/4) ∈ [−π/4, π/4], then rotate by
    /// the quadrant q. The reduction is exact because u is a multiple of 2⁻²⁴.
    @inlinable @inline(__always)
    public static func sinCos2Pi(_ u: SIMD16<Float>) -> (sin: SIMD16<Float>, cos: SIMD16<Float>) {
        let q = (u * 4).rounded(.toNearestOrEven)
        let t = (u - q * 0.25) * (2 * Float.pi)
        let t2 = t * t
        var s: SIMD16<Float> = SIMD16(repeating: -1.9515295891E-4)
        s = s * t2 + 8.3321608736E-3
        s = s * t2 - 1.6666654611E-1
        s = s * t2 * t + t
        var c: SIMD16<Float> = SIMD16(repeating: 2.443315711809948E-5)
        c = c * t2 - 1.388731625493765E-3
        c = c * t2 + 4.166664568298827E-2
        c = c * t2 * t2 - 0.5 * t2 + 1
        let qi = SIMD16<Int32>(q) & 3
        // quadrant 1: (cos, −sin); 2: (−sin, −cos); 3: (−cos, sin)
        let swap = (qi & 1) .== 1
        var sinOut = s, cosOut = c
        sinOut.replace(with: c, where: swap)
        cosOut.replace(with: s, where: swap)
        let negSin = qi .>= 2
        let negCos = (qi .== 1) .| (qi .== 2)
        sinOut.replace(with: -sinOut, where: negSin)
        cosOut.replace(with: -cosOut, where: negCos)
        return (sinOut, cosOut)
    }
}
