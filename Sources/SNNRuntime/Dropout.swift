// MC dropout (docs/METHOD.md §Wide ResNet): one Bernoulli per activation element, drawn from the Philox stream so a
// realization is regenerated from its address, never stored.
//
// Element e of an activation tensor uses the uniform u_e of `UniformStream` at the layout described
// in RandomStreams.swift (group g = e/64 of 16 Philox blocks; e = 64·g + 16·k + b is output word k of
// block 16·g + b). It is kept iff u_e ≥ p, and kept values are scaled by 1/(1 − p) (inverted
// dropout, as torch.nn.functional.dropout). Dropped elements become exactly 0 (also if x is NaN).
// Dropout is linear for a fixed mask, so its VJP and JVP are the same masking and scaling:
// `applyMask` applies one realization's mask to tangent / cotangent rows.

public enum Dropout {
    /// Validates p ∈ [0, 1) (the CLI reports bad values itself; this guards the kernels).
    @inline(__always)
    static func check(_ p: Float, count: Int) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        precondition(count >= 0 && count <= RandomAddress.maxBlocksPerTensor * 4,
                     "dropout tensor of \(count) elements exceeds the stream's address range")
    }

    /// x ← mask ⊙ x / (1 − p) in place, mask_e = [u_e ≥ p] with u from (`address`, `tensor`).
    public static func apply(
        _ x: UnsafeMutablePointer<Float>, count: Int, p: Float, address: RandomAddress, tensor: Int
    ) {
        applyMask(Matrix(x, rows: 1, cols: count), p: p, address: address, tensor: tensor)
    }

    /// The same mask and scale applied to every row of `t` (each row is one tensor of `t.cols`
    /// elements: the primal, tangents or cotangents of the same realization). The uniforms are
    /// generated once per group of 64 and reused across rows.
    public static func applyMask(_ t: Matrix, p: Float, address: RandomAddress, tensor: Int) {
        let count = t.cols
        check(p, count: count)
        if p == 0 || t.rows == 0 { return }        // u ≥ 0 always: everything kept, scale 1
        let groups = (count + 63) / 64
        for g in 0..<groups {
            let (m0, m1, m2, m3) = scaledMask(p: p, address: address, tensor: tensor, group: g)
            let base = g * 64
            if base + 64 <= count {
                for r in 0..<t.rows {
                    let raw = UnsafeMutableRawPointer(t.row(r) + base)
                    maskChunk(raw, 0, m0); maskChunk(raw, 64, m1); maskChunk(raw, 128, m2); maskChunk(raw, 192, m3)
                }
            } else {
                let rest = count - base
                for r in 0..<t.rows {
                    let row = t.row(r) + base
                    for i in 0..<rest {
                        let m: Float
                        switch i >> 4 {
                        case 0: m = m0[i & 15]
                        case 1: m = m1[i & 15]
                        case 2: m = m2[i & 15]
                        default: m = m3[i & 15]
                        }
                        row[i] = m == 0 ? 0 : row[i] * m
                    }
                }
            }
        }
    }

    /// Writes the scaled mask (1/(1 − p) where kept, 0 where dropped) into `out[0..<count]`,
    /// for callers that would rather store it than regenerate it.
    /// Stores the mask directly, which is bit for bit `apply` on a tensor of ones (1·scale = scale).
    public static func fillMask(
        _ out: UnsafeMutablePointer<Float>, count: Int, p: Float, address: RandomAddress, tensor: Int
    ) {
        check(p, count: count)
        if p == 0 { out.update(repeating: 1, count: count); return }
        let groups = (count + 63) / 64
        for g in 0..<groups {
            let (m0, m1, m2, m3) = scaledMask(p: p, address: address, tensor: tensor, group: g)
            let base = g * 64
            if base + 64 <= count {
                let raw = UnsafeMutableRawPointer(out + base)
                raw.storeBytes(of: m0, toByteOffset: 0, as: SIMD16<Float>.self)
                raw.storeBytes(of: m1, toByteOffset: 64, as: SIMD16<Float>.self)
                raw.storeBytes(of: m2, toByteOffset: 128, as: SIMD16<Float>.self)
                raw.storeBytes(of: m3, toByteOffset: 192, as: SIMD16<Float>.self)
            } else {
                for i in 0..<(count - base) {
                    switch i >> 4 {
                    case 0: out[base + i] = m0[i & 15]
                    case 1: out[base + i] = m1[i & 15]
                    case 2: out[base + i] = m2[i & 15]
                    default: out[base + i] = m3[i & 15]
                    }
                }
            }
        }
    }

    /// The scaled mask of group g's four chunks of 16 elements: 1/(1 − p) where u ≥ p (kept), 0 where dropped.
    @inline(__always)
    static func scaledMask(p: Float, address: RandomAddress, tensor: Int, group g: Int)
    -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
        let pv = SIMD16<Float>(repeating: p), sv = SIMD16<Float>(repeating: 1 / (1 - p))
        let (u0, u1, u2, u3) = UniformStream.group(address, tensor: tensor, group: g)
        return (SIMD16<Float>().replacing(with: sv, where: u0 .>= pv), SIMD16<Float>().replacing(with: sv, where: u1 .>= pv),
                SIMD16<Float>().replacing(with: sv, where: u2 .>= pv), SIMD16<Float>().replacing(with: sv, where: u3 .>= pv))
    }

    @inline(__always)
    static func maskChunk(_ raw: UnsafeMutableRawPointer, _ offset: Int, _ m: SIMD16<Float>) {
        let v = raw.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        // select rather than multiply so that dropped NaN/inf become 0 like dropped finite values
        let out = (v * m).replacing(with: 0, where: m .== 0)
        raw.storeBytes(of: out, toByteOffset: offset, as: SIMD16<Float>.self)
    }
}
