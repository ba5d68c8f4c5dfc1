import SNNRuntime

/// A matrix E (r × c, iid N(0, 1)) of one realization that is never drawn whole: it is only seen
/// through left products aE (c values) and right products Eb (r values), and each new product is
/// drawn from its Gaussian law given every product revealed so far (docs/METHOD.md §Lazy sampler).
///
/// State after k left and m right queries: orthonormal rows Q (k × r) spanning the left queries,
/// L = Q E (k × c); orthonormal rows P (m × c) spanning the right queries, Rt = (E Pᵀ)ᵀ (m × r).
/// In bases [Q; Q⊥] and [P; P⊥], E's blocks QE and Q⊥EPᵀ are known and Q⊥EP⊥ᵀ is still iid N(0, 1)
/// and independent of them, so with a = Qᵀα + a⊥ (a⊥ ⟂ Q, ρ = ‖a⊥‖)
///   aE = αᵀL + (a⊥ Rtᵀ) P + ρ w (I − PᵀP),   w ~ N(0, I_c) fresh,
/// and symmetrically Eb = Rtᵀβ + Qᵀ(L b⊥) + σ (I − QᵀQ) v, v ~ N(0, I_r). A query (nearly) in the
/// span already revealed draws nothing and is answered exactly, so asking twice gives one answer.
///
/// Fresh normals of query n come from tensor `tensor` of the realization's address, groups
/// n·G ..< (n + 1)·G (G = ⌈max(r, c)/64⌉): the same queries in the same order give the same answers.
/// When a basis is full the rest of E is drawn at once from its conditional law (tensor
/// `tensor + 256`) and later queries are plain products: exact too, only slower.
public final class LazyGaussianMatrix {
    public let rows: Int, cols: Int
    let leftCapacity: Int, rightCapacity: Int
    let q, l, p, rt: UnsafeMutablePointer<Float>
    let full: UnsafeMutablePointer<Float>          // r × c, valid when `materialized`
    let vr, vr2, vc, vc2, coef: UnsafeMutablePointer<Float>
    let groupsPerQuery: Int
    public private(set) var k = 0, m = 0
    public private(set) var materialized = false
    var draws = 0
    var address = RandomAddress(seed: 0, role: .inference, image: 0, sample: 0)
    /// Counter tensors of the revealed products' draws and of a materialized rest (RandomReservations).
    let tensor, restTensor: Int
    /// Relative size below which the part of a query outside the revealed span is treated as
    /// rounding: √r · ε₃₂ ≈ 2e-6 for r = 785, so 1e-5 keeps real directions and drops noise.
    static let tolerance: Float = 1e-5
    /// Tests only: forget every revealed product at each query (a wrong sampler the equivalence
    /// test must reject).
    @_spi(Testing) public var forgetsForTesting = false

    public static func plan(rows r: Int, cols c: Int, leftCapacity: Int, rightCapacity: Int, prefix: String) -> MemoryPlan {
        let kc = min(leftCapacity, r), mc = min(rightCapacity, c)
        let g = (max(r, c) + 63) / 64 * 64       // draws land in vr/vc as whole groups of 64
        var plan = MemoryPlan()
        for (name, n) in [("q", kc * r), ("l", kc * c), ("p", mc * c), ("rt", mc * r), ("full", r * c),
                          ("vr", g), ("vr2", r), ("vc", g), ("vc2", c), ("coef", max(kc, mc, 1))] {
            plan.add("\(prefix).\(name)", floats: max(n, 1))
        }
        return plan
    }

    public init(rows r: Int, cols c: Int, leftCapacity: Int, rightCapacity: Int, tensor: Int, restTensor: Int, prefix: String,
                buffers b: [String: UnsafeMutablePointer<Float>]) {
        precondition(tensor < 1024 && restTensor < 1024 && tensor != restTensor, "tensor index out of the counter's 10 bits")
        rows = r; cols = c; self.tensor = tensor; self.restTensor = restTensor
        self.leftCapacity = min(leftCapacity, r); self.rightCapacity = min(rightCapacity, c)
        q = b[prefix + ".q"]!; l = b[prefix + ".l"]!; p = b[prefix + ".p"]!; rt = b[prefix + ".rt"]!
        full = b[prefix + ".full"]!
        vr = b[prefix + ".vr"]!; vr2 = b[prefix + ".vr2"]!; vc = b[prefix + ".vc"]!; vc2 = b[prefix + ".vc2"]!
        coef = b[prefix + ".coef"]!
        groupsPerQuery = (max(r, c) + 63) / 64
    }

    /// Starts a new realization: nothing revealed.
    public func reset(_ address: RandomAddress) {
        self.address = address
        k = 0; m = 0; draws = 0; materialized = false
    }

    /// Fresh normals for the next draw: `groupsPerQuery` whole groups into `out` (vr or vc, whose
    /// plan rounds them up to whole groups); the caller reads the first r or c.
    func fresh(_ out: UnsafeMutablePointer<Float>) {
        NormalStream.fillGroups(out, from: draws * groupsPerQuery, groups: groupsPerQuery, address: address, tensor: tensor)
        draws += 1
    }

    /// Whether one more draw still has counters of its own in the tensor (else: materialize).
    var canDraw: Bool { (draws + 1) * groupsPerQuery * 16 <= RandomAddress.maxBlocksPerTensor }

    /// x ← x − Bᵀ(B x) for the n orthonormal rows of B (length `len`), twice (CGS2); the
    /// coefficients B x are added into `coef` when given.
    @inline(__always)
    func project(_ x: UnsafeMutablePointer<Float>, out basis: UnsafePointer<Float>, count n: Int, length len: Int,
                 coefficients: UnsafeMutablePointer<Float>?) {
        for _ in 0..<2 {
            for i in 0..<n {
                let t = Vec.dot(basis + i * len, x, len)
                Vec.axpy(-t, basis + i * len, x, len)
                if let c = coefficients { c[i] += t }
            }
        }
    }

    /// out (c values) = a E for a (r values). `a` is not modified.
    public func left(_ a: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let r = rows, c = cols
        if forgetsForTesting { k = 0; m = 0 }
        if materialized {
            out.update(repeating: 0, count: c)
            for i in 0..<r where a[i] != 0 { Vec.axpy(a[i], full + i * c, out, c) }
            return
        }
        let aPerp = vr
        aPerp.update(from: a, count: r)
        let alpha = coef
        alpha.update(repeating: 0, count: max(k, 1))
        project(aPerp, out: q, count: k, length: r, coefficients: alpha)
        let rho = Vec.norm(aPerp, r), size = Vec.norm(a, r)
        let needsDraw = rho > Self.tolerance * size
        if needsDraw && (k == leftCapacity || !canDraw) {
            materialize()
            left(a, into: out)
            return
        }
        // αᵀL
        out.update(repeating: 0, count: c)
        for i in 0..<k { Vec.axpy(alpha[i], l + i * c, out, c) }
        // (a⊥ Rtᵀ) P: β_j = ⟨Rt_j, a⊥⟩, into vc2 = Σ β_j P_j
        let known = vc2
        known.update(repeating: 0, count: c)
        for j in 0..<m { Vec.axpy(Vec.dot(rt + j * r, aPerp, r), p + j * c, known, c) }
        Vec.axpy(1, known, out, c)
        guard needsDraw else { return }
        // ρ w (I − PᵀP)
        let w = vc
        fresh(w)
        project(w, out: p, count: m, length: c, coefficients: nil)
        Vec.axpy(rho, w, out, c)
        // new basis row q = a⊥/ρ with q E = known/ρ + w (I − PᵀP)
        let inv = 1 / rho
        let qRow = q + k * r, lRow = l + k * c
        for i in 0..<r { qRow[i] = aPerp[i] * inv }
        for j in 0..<c { lRow[j] = known[j] * inv + w[j] }
        k += 1
    }

    /// out (r values) = E b for b (c values). `b` is not modified.
    public func right(_ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let r = rows, c = cols
        if forgetsForTesting { k = 0; m = 0 }
        if materialized {
            for i in 0..<r { out[i] = Vec.dot(full + i * c, b, c) }
            return
        }
        let bPerp = vc
        bPerp.update(from: b, count: c)
        let beta = coef
        beta.update(repeating: 0, count: max(m, 1))
        project(bPerp, out: p, count: m, length: c, coefficients: beta)
        let sigma = Vec.norm(bPerp, c), size = Vec.norm(b, c)
        let needsDraw = sigma > Self.tolerance * size
        if needsDraw && (m == rightCapacity || !canDraw) {
            materialize()
            right(b, into: out)
            return
        }
        // Rtᵀβ
        out.update(repeating: 0, count: r)
        for j in 0..<m { Vec.axpy(beta[j], rt + j * r, out, r) }
        // Qᵀ(L b⊥): γ_i = ⟨L_i, b⊥⟩, into vr2 = Σ γ_i Q_i
        let known = vr2
        known.update(repeating: 0, count: r)
        for i in 0..<k { Vec.axpy(Vec.dot(l + i * c, bPerp, c), q + i * r, known, r) }
        Vec.axpy(1, known, out, r)
        guard needsDraw else { return }
        let v = vr
        fresh(v)
        project(v, out: q, count: k, length: r, coefficients: nil)
        Vec.axpy(sigma, v, out, r)
        let inv = 1 / sigma
        let pRow = p + m * c, rRow = rt + m * r
        for j in 0..<c { pRow[j] = bPerp[j] * inv }
        for i in 0..<r { rRow[i] = known[i] * inv + v[i] }
        m += 1
    }

    /// Draws the rest of E from its law given what is revealed:
    ///   E = QᵀL + (I − QᵀQ)(Rtᵀ P + Z (I − PᵀP)),  Z ~ N(0, 1) r × c fresh.
    public func materialize() {
        guard !materialized else { return }
        let r = rows, c = cols
        NormalStream.fill(full, count: r * c, address: address, tensor: restTensor)
        for i in 0..<r {
            let row = full + i * c
            project(row, out: p, count: m, length: c, coefficients: nil)
            for j in 0..<m { Vec.axpy(rt[j * r + i], p + j * c, row, c) }
        }
        // (I − QᵀQ) applied to every column: full −= Qᵀ (Q full)
        for t in 0..<k {
            let qt = q + t * r
            let proj = vc
            proj.update(repeating: 0, count: c)
            for i in 0..<r where qt[i] != 0 { Vec.axpy(qt[i], full + i * c, proj, c) }
            for i in 0..<r where qt[i] != 0 { Vec.axpy(-qt[i], proj, full + i * c, c) }
        }
        for t in 0..<k {
            let qt = q + t * r
            for i in 0..<r where qt[i] != 0 { Vec.axpy(qt[i], l + t * c, full + i * c, c) }
        }
        materialized = true
    }
}
