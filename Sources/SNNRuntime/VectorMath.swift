// Vector transcendentals for Box–Muller (Cephes single-precision polynomials, ≤ 2 ulp on the
// ranges used here). Swift has no vector libm. The sampling hot path now runs the same polynomials
// in C (CVectorShims: snn_bm_radius, snn_bm_sincos), where they compile to FMAs and vcvtdq2ps;
// these Swift versions back `NormalStream.swiftGroup`, the in-Swift reference of that path.
public enum VectorMath {
    /// Natural log for positive, normal inputs (the uniforms in (0, 1] we feed it).
    @inlinable @inline(__always)
    public static func log(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let bits = unsafeBitCast(x, to: SIMD16<Int32>.self)
        // exponent as a float without a (scalarised) int→float conversion: 2²³ + n has n as mantissa
        var e = unsafeBitCast((bits &>> 23) | 0x4B00_0000, to: SIMD16<Float>.self) - (8_388_608 + 126)
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

    /// (sin 2πu, cos 2πu) for u = (w >> 8)·2⁻²⁴ ∈ [0, 1), taken as the 24-bit integer n = w >> 8:
    /// q = round(4u) = (n + 2²¹) >> 22, t = 2π(u − q/4) ∈ [−π/4, π/4] computed exactly in integers,
    /// then rotated by the quadrant q.
    @inlinable @inline(__always)
    public static func sinCos2Pi(bits w: SIMD16<UInt32>) -> (sin: SIMD16<Float>, cos: SIMD16<Float>) {
        let n = w &>> 8
        let qRaw = (n &+ (1 << 21)) &>> 22
        let f = SIMD16<Int32>(truncatingIfNeeded: n) &- SIMD16<Int32>(truncatingIfNeeded: qRaw &<< 22)  // ∈ [−2²¹, 2²¹]
        let t = exactFloat(f) * (2 * Float.pi / 16_777_216)
        let qi = SIMD16<Int32>(truncatingIfNeeded: qRaw & 3)
        let t2 = t * t
        var s: SIMD16<Float> = SIMD16(repeating: -1.9515295891E-4)
        s = s * t2 + 8.3321608736E-3
        s = s * t2 - 1.6666654611E-1
        s = s * t2 * t + t
        var c: SIMD16<Float> = SIMD16(repeating: 2.443315711809948E-5)
        c = c * t2 - 1.388731625493765E-3
        c = c * t2 + 4.166664568298827E-2
        c = c * t2 * t2 - 0.5 * t2 + 1
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

    /// Int32 → Float for |f| < 2²² without the stdlib's scalarised generic conversion:
    /// the float 1.5·2²³ + f has f in its mantissa.
    @inlinable @inline(__always)
    public static func exactFloat(_ f: SIMD16<Int32>) -> SIMD16<Float> {
        let biased = SIMD16<UInt32>(truncatingIfNeeded: f &+ (1 << 22)) | 0x4B00_0000
        return unsafeBitCast(biased, to: SIMD16<Float>.self) - 12_582_912
    }

    /// (w >> 8)·2⁻²⁴ exactly, for a vector of 32-bit words: the top 23 bits through the mantissa of
    /// a float in [1, 2), the 24th added as 2⁻²⁴.
    @inlinable @inline(__always)
    public static func unitFloat(_ w: SIMD16<UInt32>) -> SIMD16<Float> {
        let hi = unsafeBitCast((w &>> 9) | 0x3F80_0000, to: SIMD16<Float>.self) - 1
        let lo = unsafeBitCast(((w &>> 8) & 1) &* 0x3380_0000, to: SIMD16<Float>.self)
        return hi + lo
    }
}
