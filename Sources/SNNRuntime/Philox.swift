// Philox4x32-10 (Salmon, Moraes, Dror & Shaw, SC'11), the counter-based generator of
// Random123, cuRAND, JAX and PyTorch CUDA. Output = bijection(counter; key): no state, so any
// random number can be regenerated from its address (SPEC 2).

@usableFromInline let philoxM0: UInt32 = 0xD251_1F53
@usableFromInline let philoxM1: UInt32 = 0xCD9E_8D57
@usableFromInline let philoxW0: UInt32 = 0x9E37_79B9
@usableFromInline let philoxW1: UInt32 = 0xBB67_AE85

/// Scalar Philox4x32-10: the reference the vector path is tested against.
@inlinable
public func philox4x32(
    _ c: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)
) -> (UInt32, UInt32, UInt32, UInt32) {
    var (c0, c1, c2, c3) = c
    var (k0, k1) = key
    for round in 0..<10 {
        if round > 0 { k0 &+= philoxW0; k1 &+= philoxW1 }
        let p0 = UInt64(philoxM0) &* UInt64(c0)
        let p1 = UInt64(philoxM1) &* UInt64(c2)
        let (hi0, lo0) = (UInt32(truncatingIfNeeded: p0 >> 32), UInt32(truncatingIfNeeded: p0))
        let (hi1, lo1) = (UInt32(truncatingIfNeeded: p1 >> 32), UInt32(truncatingIfNeeded: p1))
        (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
    }
    return (c0, c1, c2, c3)
}

/// Sixteen Philox blocks at once, one per lane: lane b uses counter (c0 + b, c1, c2, c3).
/// The 32×32→64 products are written as zero-extended 64-bit multiplies, which LLVM lowers to
/// vpmuludq on AVX2/AVX-512.
@inlinable @inline(__always)
public func philox4x32x16(
    c0: SIMD16<UInt32>, c1: UInt32, c2: UInt32, c3: UInt32, key: (UInt32, UInt32)
) -> (SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>) {
    var x0 = c0
    var x1 = SIMD16<UInt32>(repeating: c1)
    var x2 = SIMD16<UInt32>(repeating: c2)
    var x3 = SIMD16<UInt32>(repeating: c3)
    var k0 = key.0, k1 = key.1
    let m0 = SIMD16<UInt64>(repeating: UInt64(philoxM0))
    let m1 = SIMD16<UInt64>(repeating: UInt64(philoxM1))
    for round in 0..<10 {
        if round > 0 { k0 &+= philoxW0; k1 &+= philoxW1 }
        let p0 = SIMD16<UInt64>(truncatingIfNeeded: x0) &* m0
        let p1 = SIMD16<UInt64>(truncatingIfNeeded: x2) &* m1
        let hi0 = SIMD16<UInt32>(truncatingIfNeeded: p0 &>> 32)
        let lo0 = SIMD16<UInt32>(truncatingIfNeeded: p0)
        let hi1 = SIMD16<UInt32>(truncatingIfNeeded: p1 &>> 32)
        let lo1 = SIMD16<UInt32>(truncatingIfNeeded: p1)
        let n0 = hi1 ^ x1 ^ SIMD16(repeating: k0)
        let n2 = hi0 ^ x3 ^ SIMD16(repeating: k1)
        x0 = n0; x1 = lo1; x2 = n2; x3 = lo0
    }
    return (x0, x1, x2, x3)
}
