// Philox4x32-10 (Salmon, Moraes, Dror & Shaw, SC'11), the counter-based generator of
// Random123, cuRAND, JAX and PyTorch CUDA. Output = bijection(counter; key): no state, so any
// random number can be regenerated from its address (docs/METHOD.md §Random numbers).

import CVectorShims

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

/// Sixteen Philox blocks at once, one per lane: lane b has counter (c0[b], c1, c2, c3).
/// Runs in CVectorShims (`snn_philox16`, 8 lanes at a time on AVX2, 16 on AVX-512).
@inlinable @inline(__always)
public func philox4x32x16(
    c0: SIMD16<UInt32>, c1: UInt32, c2: UInt32, c3: UInt32, key: (UInt32, UInt32)
) -> (SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>) {
    var w = (SIMD16<UInt32>(), SIMD16<UInt32>(), SIMD16<UInt32>(), SIMD16<UInt32>())
    withUnsafeMutableBytes(of: &w) { snn_philox16(c0, c1, c2, c3, key.0, key.1, $0.baseAddress) }
    return w
}

/// `philox4x32x16` in Swift SIMD (reference for the C path).
/// The 32×32→64 products work on the vector reinterpreted as eight 64-bit lanes (even and odd
/// 32-bit lanes separately), a pattern LLVM lowers to vpmuludq; the stdlib's generic widening
/// conversions would be scalarised.
@inlinable
public func philox4x32x16Swift(
    c0: SIMD16<UInt32>, c1: UInt32, c2: UInt32, c3: UInt32, key: (UInt32, UInt32)
) -> (SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>) {
    var x0 = c0
    var x1 = SIMD16<UInt32>(repeating: c1)
    var x2 = SIMD16<UInt32>(repeating: c2)
    var x3 = SIMD16<UInt32>(repeating: c3)
    var k0 = key.0, k1 = key.1
    for round in 0..<10 {
        if round > 0 { k0 &+= philoxW0; k1 &+= philoxW1 }
        let (hi0, lo0) = mulHiLo(x0, philoxM0)
        let (hi1, lo1) = mulHiLo(x2, philoxM1)
        let n0 = hi1 ^ x1 ^ SIMD16(repeating: k0)
        let n2 = hi0 ^ x3 ^ SIMD16(repeating: k1)
        x0 = n0; x1 = lo1; x2 = n2; x3 = lo0
    }
    return (x0, x1, x2, x3)
}

/// (high, low) 32-bit halves of the 64-bit products x·m, lane by lane.
@inlinable @inline(__always)
func mulHiLo(_ x: SIMD16<UInt32>, _ m: UInt32) -> (SIMD16<UInt32>, SIMD16<UInt32>) {
    let wide = unsafeBitCast(x, to: SIMD8<UInt64>.self)
    let mask = SIMD8<UInt64>(repeating: 0xFFFF_FFFF)
    let mm = SIMD8<UInt64>(repeating: UInt64(m))
    let even = (wide & mask) &* mm          // products of lanes 0, 2, 4, …
    let odd = (wide &>> 32) &* mm           // products of lanes 1, 3, 5, …
    let lo = (even & mask) | (odd &<< 32)
    let hi = (even &>> 32) | (odd & ~mask)
    return (unsafeBitCast(hi, to: SIMD16<UInt32>.self), unsafeBitCast(lo, to: SIMD16<UInt32>.self))
}
