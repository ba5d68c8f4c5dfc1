import Foundation
import CVectorShims

// Where every random number lives (docs/METHOD.md §Addresses). A number is addressed by
//   key     = seed (low word, high word)
//   counter = (c0: tensor << 22 | block, c1: sample index, c2: image index, c3: role << 24 | step)
// so a realization is regenerated, never stored, and results do not depend on threads or shards.

/// What a stream of random numbers is for. The raw value goes into the counter: never renumber.
public enum RandomRole: UInt32, Sendable, CaseIterable {
    case attack = 1, inference = 2, fresh = 3, variance = 4, noise = 5, train = 6
}

/// The counter fields shared by all tensors of one realization.
public struct RandomAddress: Sendable, Equatable {
    public var seed: UInt64
    public var role: RandomRole
    public var image: UInt32
    public var sample: UInt32
    public var step: UInt32

    /// Image index used by `--share-samples` (one realization for every image).
    public static let sharedImage: UInt32 = RandomReservations.sharedImage

    public init(seed: UInt64, role: RandomRole, image: UInt32, sample: UInt32, step: UInt32 = 0) {
        precondition(step < 1 << 24, "step must fit in 24 bits")
        self.seed = seed; self.role = role; self.image = image; self.sample = sample; self.step = step
    }

    @inlinable public var key: (UInt32, UInt32) {
        (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
    }
    @inlinable public var c3: UInt32 { role.rawValue << 24 | step }
    /// The counter word c0 of block `block` of tensor `tensor` (at most 1024 tensors of 2^22 blocks).
    @inlinable public static func c0(tensor: Int, block: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: tensor << 22 | block)
    }
    public static let maxBlocksPerTensor = 1 << 22
}

/// Uniform in (0, 1]: the top 24 bits, shifted by one ulp so that log never sees 0.
@inlinable @inline(__always)
func uniformOpenClosed(_ w: SIMD16<UInt32>) -> SIMD16<Float> {
    VectorMath.unitFloat(w) + (1.0 / 16_777_216.0)
}

/// Uniform in [0, 1) from the top 24 bits (docs/METHOD.md §Generator).
@inlinable @inline(__always)
public func uniformClosedOpen(_ w: SIMD16<UInt32>) -> SIMD16<Float> {
    VectorMath.unitFloat(w)
}

/// Layout of normals (and uniforms) within a tensor: elements come in groups of 64 drawn from 16
/// consecutive Philox blocks. Element e = 64·g + 16·k + b is output word k of block 16·g + b, so
/// the vector generator stores four contiguous SIMD16s and needs no shuffles. Box–Muller pairs
/// words (0, 1) → (r₁cos θ₁, r₁sin θ₁) and (2, 3) → (r₂cos θ₂, r₂sin θ₂), r = √(−2 ln u), θ = 2πu′.
public enum NormalStream {
    /// Normals for group `group` (64 values) of `tensor` under `address`.
    /// Philox and Box–Muller run in CVectorShims (`snn_normals64`: 8 lanes at a time on AVX2,
    /// 16 on AVX-512); `swiftGroup` is the same computation in Swift SIMD, kept as a reference.
    @inlinable @inline(__always)
    public static func group(
        _ address: RandomAddress, tensor: Int, group: Int
    ) -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
        let key = address.key
        var z = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        withUnsafeMutableBytes(of: &z) {
            snn_normals64(
                RandomAddress.c0(tensor: tensor, block: group * 16), address.sample, address.image, address.c3,
                key.0, key.1, $0.baseAddress)
        }
        return z
    }

    /// `group` in Swift SIMD (Philox via `philox4x32x16`, polynomials of VectorMath).
    @inlinable
    public static func swiftGroup(
        _ address: RandomAddress, tensor: Int, group: Int
    ) -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
        let base = RandomAddress.c0(tensor: tensor, block: group * 16)
        let lanes = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let (w0, w1, w2, w3) = philox4x32x16Swift(
            c0: SIMD16(repeating: base) &+ lanes, c1: address.sample, c2: address.image,
            c3: address.c3, key: address.key)
        let r1 = snn_sqrt16(-2 * VectorMath.log(uniformOpenClosed(w0)))
        let r2 = snn_sqrt16(-2 * VectorMath.log(uniformOpenClosed(w2)))
        let (s1, c1) = VectorMath.sinCos2Pi(bits: w1)
        let (s2, c2) = VectorMath.sinCos2Pi(bits: w3)
        return (r1 * c1, r1 * s1, r2 * c2, r2 * s2)
    }

    /// Writes `count` standard normals of `tensor` into `out` (element 0 = start of group 0).
    @inlinable
    public static func fill(
        _ out: UnsafeMutablePointer<Float>, count: Int, address: RandomAddress, tensor: Int
    ) {
        precondition(count <= RandomAddress.maxBlocksPerTensor * 4)
        let g = count / 64
        let key = address.key
        snn_normals_fill(out, 0, g, RandomAddress.c0(tensor: tensor, block: 0), address.sample, address.image,
                         address.c3, key.0, key.1)
        let rest = count - g * 64
        if rest > 0 {
            let (a, b, c, d) = group(address, tensor: tensor, group: g)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { tmp in
                let p = UnsafeMutableRawPointer(tmp.baseAddress!)
                p.storeBytes(of: a, as: SIMD16<Float>.self)
                (p + 64).storeBytes(of: b, as: SIMD16<Float>.self)
                (p + 128).storeBytes(of: c, as: SIMD16<Float>.self)
                (p + 192).storeBytes(of: d, as: SIMD16<Float>.self)
                for i in 0..<rest { out[g * 64 + i] = tmp[i] }
            }
        }
    }

    /// Writes whole groups g0 ..< g0 + groups of `tensor` (64 normals each) to `out`: the same
    /// values as elements 64·g0 … of `fill`.
    @inlinable
    public static func fillGroups(
        _ out: UnsafeMutablePointer<Float>, from g0: Int, groups: Int, address: RandomAddress, tensor: Int
    ) {
        precondition(g0 >= 0 && (g0 + groups) * 16 <= RandomAddress.maxBlocksPerTensor)
        let key = address.key
        snn_normals_fill(out, g0, groups, RandomAddress.c0(tensor: tensor, block: 0), address.sample, address.image,
                         address.c3, key.0, key.1)
    }
    /// Scalar reference of one element (tests only; uses libm).
    public static func referenceElement(_ address: RandomAddress, tensor: Int, element e: Int) -> Double {
        let g = e / 64, k = (e % 64) / 16, b = e % 16
        let words = philox4x32(
            (RandomAddress.c0(tensor: tensor, block: g * 16 + b), address.sample, address.image, address.c3),
            key: address.key)
        let w = [words.0, words.1, words.2, words.3]
        let u1 = Double((w[k < 2 ? 0 : 2] >> 8) + 1) / 16_777_216.0
        let u2 = Double(w[k < 2 ? 1 : 3] >> 8) / 16_777_216.0
        let r = (-2 * Foundation.log(u1)).squareRoot()
        return k % 2 == 0 ? r * Foundation.cos(2 * Double.pi * u2) : r * Foundation.sin(2 * Double.pi * u2)
    }
}

/// Uniform [0, 1) numbers with the same addressing and layout (dropout masks, Bernoulli draws).
public enum UniformStream {
    @inlinable @inline(__always)
    public static func group(
        _ address: RandomAddress, tensor: Int, group: Int
    ) -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
        let base = RandomAddress.c0(tensor: tensor, block: group * 16)
        let lanes = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let (w0, w1, w2, w3) = philox4x32x16(
            c0: SIMD16(repeating: base) &+ lanes, c1: address.sample, c2: address.image,
            c3: address.c3, key: address.key)
        return (uniformClosedOpen(w0), uniformClosedOpen(w1), uniformClosedOpen(w2), uniformClosedOpen(w3))
    }
}
