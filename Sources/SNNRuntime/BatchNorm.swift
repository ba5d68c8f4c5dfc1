// Batch normalisation over channels of NCHW feature maps (docs/METHOD.md §Wide ResNet), as forward / VJP / JVP.
//
// Evaluation mode (running statistics) is a per-channel affine map
//   y = γ (x − μ)/√(σ² + ε) + β = scale·x + shift,  scale = γ/√(σ² + ε), shift = β − scale·μ,
// folded once with `fold`; its VJP and JVP both multiply by `scale`.
// Training mode normalises with the batch's own mean and (biased) variance over N·H·W values per
// channel; a batch is N contiguous C×H×W images (element (n, c, i) at (n·C + c)·H·W + i).

public enum BatchNorm {
    /// PyTorch's default ε (nn.BatchNorm2d).
    public static let defaultEpsilon: Float = 1e-5
    /// PyTorch's default momentum for the running statistics.
    public static let defaultMomentum: Float = 0.1

    // MARK: evaluation mode

    /// scale = γ/√(σ² + ε), shift = β − scale·μ, per channel.
    public static func fold(
        channels: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>, epsilon: Float = defaultEpsilon,
        scale: UnsafeMutablePointer<Float>, shift: UnsafeMutablePointer<Float>
    ) {
        for c in 0..<channels {
            let s = gamma[c] / (runningVar[c] + epsilon).squareRoot()
            scale[c] = s
            shift[c] = beta[c] - s * runningMean[c]
        }
    }

    /// y = scale·x + shift per channel; y may alias x.
    public static func forward(_ x: FeatureMap, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, _ y: FeatureMap) {
        precondition(x.count == y.count && x.channels == y.channels)
        for c in 0..<x.channels { affine(x.channel(c), y.channel(c), x.plane, scale[c], shift[c]) }
    }

    /// gx = scale·gy per channel (gx may alias gy). With `accumulate`, gx += scale·gy.
    public static func vjp(gy: FeatureMap, scale: UnsafePointer<Float>, gx: FeatureMap, accumulate: Bool = false) {
        precondition(gx.count == gy.count && gx.channels == gy.channels)
        for c in 0..<gy.channels {
            if accumulate {
                Vec.axpy(scale[c], gy.channel(c), gx.channel(c), gy.plane)
            } else {
                affine(gy.channel(c), gx.channel(c), gy.plane, scale[c], 0)
            }
        }
    }

    /// ty = scale·tx per channel (the shift is constant); ty may alias tx.
    public static func jvp(tx: FeatureMap, scale: UnsafePointer<Float>, ty: FeatureMap) {
        vjp(gy: tx, scale: scale, gx: ty)
    }

    /// y[i] = a·x[i] + b over n floats (SIMD16 main loop); y may alias x.
    @inline(__always)
    public static func affine(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ a: Float, _ b: Float) {
        let xr = UnsafeRawPointer(x), yr = UnsafeMutableRawPointer(y)
        let av = SIMD16<Float>(repeating: a), bv = SIMD16<Float>(repeating: b)
        var i = 0
        while i + 16 <= n {
            let v = bv.addingProduct(av, xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            yr.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { y[i] = b + a * x[i]; i += 1 }
    }

    // MARK: training mode

    /// Batch statistics and normalisation: for each channel c over the N·H·W values,
    /// μ_c = mean, σ²_c = mean of (x − μ_c)² (biased, as used for normalising), and
    /// y = γ_c (x − μ_c)·invStd_c + β_c with invStd_c = 1/√(σ²_c + ε).
    /// `mean`, `variance` and `invStd` (C floats each) are outputs; keep `mean` and `invStd` for
    /// `trainingVJP`, and pass `mean`/`variance` to `updateRunning`. y may alias x.
    public static func trainingForward(
        x: UnsafePointer<Float>, batch: Int, channels: Int, height: Int, width: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float = defaultEpsilon,
        y: UnsafeMutablePointer<Float>,
        mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>
    ) {
        let hw = height * width, m = batch * hw
        precondition(m > 0)
        for c in 0..<channels {
            // two passes (mean, then centred squares) with Double across planes, for accuracy
            var s = 0.0
            for n in 0..<batch { s += Double(Conv2D.sum(x + (n * channels + c) * hw, hw)) }
            let mu = Float(s / Double(m))
            var q = 0.0
            for n in 0..<batch { q += Double(sumSquaredDeviations(x + (n * channels + c) * hw, hw, mu)) }
            let v = Float(q / Double(m))
            let inv = 1 / (v + epsilon).squareRoot()
            mean[c] = mu; variance[c] = v; invStd[c] = inv
            let a = gamma[c] * inv, b = beta[c] - a * mu
            for n in 0..<batch {
                let off = (n * channels + c) * hw
                affine(x + off, y + off, hw, a, b)
            }
        }
    }

    /// Running statistics after a training batch of `count` = N·H·W values per channel (PyTorch):
    /// running ← (1 − momentum)·running + momentum·batch, with the unbiased variance σ²·count/(count − 1).
    public static func updateRunning(
        channels: Int, mean: UnsafePointer<Float>, variance: UnsafePointer<Float>, count: Int,
        momentum: Float = defaultMomentum,
        runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>
    ) {
        let unbias: Float = count > 1 ? Float(count) / Float(count - 1) : 1
        for c in 0..<channels {
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean[c]
            runningVar[c] = (1 - momentum) * runningVar[c] + momentum * variance[c] * unbias
        }
    }

    /// VJP of `trainingForward` (the standard formulas), with x̂ = (x − μ)·invStd and M = N·H·W:
    ///   gβ += Σ gy,  gγ += Σ gy·x̂,  gx = γ·invStd/M · (M·gy − Σ gy − x̂·Σ gy·x̂).
    /// `mean` and `invStd` are the values `trainingForward` returned. gx may alias gy (not x).
    public static func trainingVJP(
        x: UnsafePointer<Float>, gy: UnsafePointer<Float>, batch: Int, channels: Int, height: Int, width: Int,
        gamma: UnsafePointer<Float>, mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
        gx: UnsafeMutablePointer<Float>,
        gGamma: UnsafeMutablePointer<Float>, gBeta: UnsafeMutablePointer<Float>
    ) {
        let hw = height * width, m = batch * hw
        for c in 0..<channels {
            let mu = mean[c], inv = invStd[c]
            var sg = 0.0, sgx = 0.0
            for n in 0..<batch {
                let off = (n * channels + c) * hw
                let (a, b) = sums(gy + off, x + off, hw, mu)
                sg += Double(a); sgx += Double(b)
            }
            let sumG = Float(sg), sumGXhat = Float(sgx) * inv     // Σ gy, Σ gy·x̂
            gBeta[c] += sumG
            gGamma[c] += sumGXhat
            // gx = k·(gy − Σgy/M − x̂·Σgy·x̂/M) with k = γ·invStd
            let k = gamma[c] * inv
            let meanG = sumG / Float(m), meanGX = sumGXhat / Float(m)
            for n in 0..<batch {
                let off = (n * channels + c) * hw
                let xs = x + off, gs = gy + off, out = gx + off
                for i in 0..<hw {
                    let xhat = (xs[i] - mu) * inv
                    out[i] = k * (gs[i] - meanG - xhat * meanGX)
                }
            }
        }
    }

    /// Σ (x − μ)² over n floats.
    @inline(__always)
    static func sumSquaredDeviations(_ x: UnsafePointer<Float>, _ n: Int, _ mu: Float) -> Float {
        let raw = UnsafeRawPointer(x)
        let mv = SIMD16<Float>(repeating: mu)
        var acc = SIMD16<Float>(), i = 0
        while i + 16 <= n {
            let d = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - mv
            acc = acc.addingProduct(d, d)
            i += 16
        }
        var s = acc.horizontalSum()
        while i < n { let d = x[i] - mu; s += d * d; i += 1 }
        return s
    }

    /// (Σ g, Σ g·(x − μ)) over n floats.
    @inline(__always)
    static func sums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, _ mu: Float) -> (Float, Float) {
        let gr = UnsafeRawPointer(g), xr = UnsafeRawPointer(x)
        let mv = SIMD16<Float>(repeating: mu)
        var a = SIMD16<Float>(), b = SIMD16<Float>(), i = 0
        while i + 16 <= n {
            let gv = gr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            let d = xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - mv
            a += gv
            b = b.addingProduct(gv, d)
            i += 16
        }
        var sa = a.horizontalSum(), sb = b.horizontalSum()
        while i < n { sa += g[i]; sb += g[i] * (x[i] - mu); i += 1 }
        return (sa, sb)
    }
}
