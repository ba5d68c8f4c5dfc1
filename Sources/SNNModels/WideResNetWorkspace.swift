import SNNRuntime

extension WideResNet {
    /// Floats of the largest feature map any layer reads or writes (also the padded input).
    var largestMap: Int {
        let c = configuration
        var m = max(c.inputChannels, 16) * c.paddedHeight * c.paddedWidth
        for b in blocks {
            m = max(m, max(b.inPlanes, b.planes) * b.height * b.width, b.planes * b.outHeight * b.outWidth)
        }
        return m
    }

    /// Unfolding scratch of the largest convolution.
    var largestCols: Int {
        var m = stem.conv.scratchFloats(height: configuration.paddedHeight, width: configuration.paddedWidth)
        for b in blocks {
            m = max(m, b.conv1.conv.scratchFloats(height: b.height, width: b.width),
                    b.conv2.conv.scratchFloats(height: b.height, width: b.width),
                    b.shortcut?.conv.scratchFloats(height: b.height, width: b.width) ?? 0)
        }
        return m
    }

    /// Buffers of one workspace: the inputs, row 0's stored activations (ReLU outputs, whose sign is
    /// each ReLU's mask) and dropout masks, two rotating block input/output maps, four derivative
    /// maps shared by JVP and VJP, and the convolution scratch. `cotangents` rows are processed one
    /// at a time, so they need no memory of their own.
    public func workspacePlan(rows: Int, cotangents: Int) -> MemoryPlan {
        let c = configuration, k = classCount
        var plan = MemoryPlan()
        plan.add("input", floats: rows * inputSize)
        plan.add("x0", floats: c.inputChannels * c.paddedHeight * c.paddedWidth)
        plan.add("act.a", floats: largestMap)
        plan.add("act.b", floats: largestMap)
        for b in blocks {
            plan.add("\(b.name).u1", floats: b.inPlanes * b.height * b.width)
            plan.add("\(b.name).u2", floats: b.planes * b.height * b.width)
            plan.add("\(b.name).mask", floats: b.maskCount)
        }
        plan.add("head.u", floats: headChannels * headHeight * headWidth)
        plan.add("pooled", floats: headChannels)
        plan.add("logits", floats: k)
        plan.add("probs", floats: rows * k)
        for i in 0..<4 { plan.add("d\(i)", floats: largestMap) }
        plan.add("dpooled", floats: headChannels)
        plan.add("dlogits", floats: k)
        plan.add("tprobs", floats: k)
        plan.add("cols", floats: largestCols)
        plan.add("gemm", floats: GEMM.scratchFloats)
        // the layers before the first dropout, per input row (WideResNetWorkspace, "Pre-dropout")
        let b0 = blocks[0]
        plan.add("pre.input", floats: rows * inputSize)
        plan.add("pre.stem", floats: rows * b0.inPlanes * b0.height * b0.width)
        plan.add("pre.u1", floats: rows * b0.inPlanes * b0.height * b0.width)
        plan.add("pre.conv1", floats: rows * b0.planes * b0.height * b0.width)
        plan.add("pre.valid", floats: rows)
        let deferRows = max(WideResNetWorkspace.deferCapacity(cotangents: cotangents), 1)
        plan.add("defer.ga", floats: deferRows * b0.planes * b0.height * b0.width)
        plan.add("defer.gx", floats: deferRows * b0.inPlanes * b0.height * b0.width)
        plan.add("defer.input", floats: inputSize)
        return plan
    }
}

/// Forward, JVP and VJP of one realization (one set of dropout masks) of a `WideResNet`.
///
/// `forward(rows:)` runs the images one at a time, row 0 last, so that row 0's ReLU outputs stay
/// in the workspace for `jvp` and `vjp` (each VJP row is one reverse pass reusing them).
/// Every buffer comes from the arena via `workspacePlan`; calls allocate nothing.
///
/// Pre-dropout: the stem and block 0's BN1 → ReLU → conv1 come before the first dropout mask, so
/// they are the same for every realization. Their outputs are kept per input row and reused while
/// the row's pixels are unchanged (the same arithmetic, so results are bit for bit those of a
/// recomputation). Backwards, the map from (the cotangent at block 0's conv1 output, the cotangent
/// of its residual input) to the input gradient is one linear map for every realization of the
/// same image: `vjpDeferringMean` stops there and sums the two cotangents, and `addDeferredMean`
/// applies the map once to the sum (DeferringVJPWorkspace) — for up to two cotangent rows (an
/// attack direction, a second pass); wider VJPs (a full Jacobian) are not deferred.
public final class WideResNetWorkspace: DeferringVJPWorkspace {
    struct BlockBuffers {
        let u1: UnsafeMutablePointer<Float>   // relu(bn1(x)), inPlanes×H×W
        let u2: UnsafeMutablePointer<Float>   // relu(bn2(mask ⊙ conv1(u1))), planes×H×W
        let mask: UnsafeMutablePointer<Float> // scaled dropout mask, planes×H×W
    }

    public let model: WideResNet
    let arena: Arena
    let maxRows: Int, maxCotangents: Int
    let inputs: UnsafeMutablePointer<Float>, x0: UnsafeMutablePointer<Float>
    let actA: UnsafeMutablePointer<Float>, actB: UnsafeMutablePointer<Float>
    let buffers: [BlockBuffers]
    let headU: UnsafeMutablePointer<Float>, pooled: UnsafeMutablePointer<Float>, logits: UnsafeMutablePointer<Float>
    let probs: UnsafeMutablePointer<Float>
    let d0, d1, d2, d3: UnsafeMutablePointer<Float>
    let dpooled: UnsafeMutablePointer<Float>, dlogits: UnsafeMutablePointer<Float>, tprobs: UnsafeMutablePointer<Float>
    let cols: UnsafeMutablePointer<Float>, gemm: UnsafeMutablePointer<Float>
    /// 1/std per input channel.
    let inverseStd: [Float]
    var rowsDone = 0
    /// Pre-dropout outputs per row (stem, block 0's u1 and conv1 output) and the pixels they are for.
    let preInput, preStem, preU1, preConv1, preValid: UnsafeMutablePointer<Float>
    /// Pending sums of deferred VJPs: cotangents at block 0's conv1 output and residual input,
    /// per cotangent row, and the row-0 pixels they belong to.
    let deferGA, deferGX, deferInput: UnsafeMutablePointer<Float>
    var deferredRows = 0
    /// Cotangent rows a deferred sum may have: an attack direction has one, the two-pass second
    /// pass two; a full Jacobian (k rows) is not deferred, which keeps the sums' memory small.
    static func deferCapacity(cotangents: Int) -> Int { min(cotangents, 2) }

    public init(model: WideResNet, arena: Arena, rows: Int, cotangents: Int) throws {
        precondition(rows >= 1 && cotangents >= 0)
        self.model = model; self.arena = arena; maxRows = rows; maxCotangents = cotangents
        let b = try model.workspacePlan(rows: rows, cotangents: cotangents).allocate(in: arena)
        inputs = b["input"]!; x0 = b["x0"]!; actA = b["act.a"]!; actB = b["act.b"]!
        buffers = model.blocks.map { BlockBuffers(u1: b["\($0.name).u1"]!, u2: b["\($0.name).u2"]!, mask: b["\($0.name).mask"]!) }
        headU = b["head.u"]!; pooled = b["pooled"]!; logits = b["logits"]!; probs = b["probs"]!
        d0 = b["d0"]!; d1 = b["d1"]!; d2 = b["d2"]!; d3 = b["d3"]!
        dpooled = b["dpooled"]!; dlogits = b["dlogits"]!; tprobs = b["tprobs"]!
        cols = b["cols"]!; gemm = b["gemm"]!
        inverseStd = model.configuration.std.map { 1 / $0 }
        preInput = b["pre.input"]!; preStem = b["pre.stem"]!; preU1 = b["pre.u1"]!; preConv1 = b["pre.conv1"]!
        preValid = b["pre.valid"]!
        preValid.update(repeating: 0, count: rows)
        deferGA = b["defer.ga"]!; deferGX = b["defer.gx"]!; deferInput = b["defer.input"]!
        for m in buffers.indices { buffers[m].mask.update(repeating: 1, count: model.blocks[m].maskCount) }
        let b0 = model.blocks[0], c = model.configuration
        precondition(b0.inPlanes == 16 && b0.height == c.paddedHeight && b0.width == c.paddedWidth, "block 0 reads the stem's output")
    }

    public func sample(_ address: RandomAddress) {
        let p = model.configuration.dropout
        for (i, blk) in model.blocks.enumerated() {
            Dropout.fillMask(buffers[i].mask, count: blk.maskCount, p: p, address: address, tensor: i)
        }
    }

    /// Replaces block `block`'s dropout mask by explicit values (already scaled by 1/(1 − p));
    /// for comparisons with masks drawn elsewhere (PyTorch fixtures). Lasts until the next `sample`.
    @_spi(Testing) public func setDropoutMask(block: Int, values: UnsafeBufferPointer<Float>) {
        precondition(values.count == model.blocks[block].maskCount)
        buffers[block].mask.update(from: values.baseAddress!, count: values.count)
    }

    /// Logits of row 0 after `forward` (row 0 is computed last).
    @_spi(Testing) public var lastLogits: UnsafePointer<Float> { UnsafePointer(logits) }

    public func input(row: Int) -> UnsafeMutablePointer<Float> {
        precondition(row < maxRows)
        return inputs + row * model.inputSize
    }

    // MARK: forward

    public func forward(rows: Int) -> Matrix {
        precondition(rows >= 1 && rows <= maxRows)
        // Row 0 last: its activations are what jvp / vjp use.
        for r in stride(from: rows - 1, through: 0, by: -1) { forwardImage(r) }
        rowsDone = rows
        return Matrix(probs, rows: rows, cols: model.classCount)
    }

    func forwardImage(_ r: Int) {
        let m = model
        let x = inputs + r * m.inputSize
        let b0 = m.blocks[0], stemCount = b0.inPlanes * b0.height * b0.width, conv1Count = b0.planes * b0.height * b0.width
        let cachedIn = preInput + r * m.inputSize
        let cached = preValid[r] == 1 && Self.sameBits(cachedIn, x, m.inputSize)
        var cur = actA, other = actB
        if cached {
            cur.update(from: preStem + r * stemCount, count: stemCount)
        } else {
            stem(x, into: cur)
            (preStem + r * stemCount).update(from: cur, count: stemCount)
        }
        for (i, blk) in m.blocks.enumerated() {
            let buf = buffers[i]
            let xin = FeatureMap(cur, channels: blk.inPlanes, height: blk.height, width: blk.width)
            let u1 = FeatureMap(buf.u1, channels: blk.inPlanes, height: blk.height, width: blk.width)
            let u2 = FeatureMap(buf.u2, channels: blk.planes, height: blk.height, width: blk.width)
            let out = FeatureMap(other, channels: blk.planes, height: blk.outHeight, width: blk.outWidth)
            if i == 0 && cached {
                u1.data.update(from: preU1 + r * stemCount, count: stemCount)
                u2.data.update(from: preConv1 + r * conv1Count, count: conv1Count)
            } else {
                BatchNorm.forward(xin, scale: blk.bn1.scale, shift: blk.bn1.shift, u1)
                Self.relu(u1.data, u1.count)
                blk.conv1.conv.forward(u1, weights: blk.conv1.weight, bias: blk.conv1.bias, u2, cols: cols, gemmScratch: gemm)
                if i == 0 {
                    (preU1 + r * stemCount).update(from: u1.data, count: stemCount)
                    (preConv1 + r * conv1Count).update(from: u2.data, count: conv1Count)
                    cachedIn.update(from: x, count: m.inputSize)
                    preValid[r] = 1
                }
            }
            Self.multiplyMask(u2.data, buf.mask, u2.count)
            BatchNorm.forward(u2, scale: blk.bn2.scale, shift: blk.bn2.shift, u2)
            Self.relu(u2.data, u2.count)
            blk.conv2.conv.forward(u2, weights: blk.conv2.weight, bias: blk.conv2.bias, out, cols: cols, gemmScratch: gemm)
            if let sc = blk.shortcut {
                let s = FeatureMap(d0, channels: blk.planes, height: blk.outHeight, width: blk.outWidth)
                sc.conv.forward(xin, weights: sc.weight, bias: sc.bias, s, cols: cols, gemmScratch: gemm)
                Vec.axpy(1, s.data, out.data, out.count)
            } else {
                Vec.axpy(1, xin.data, out.data, out.count)
            }
            swap(&cur, &other)
        }
        head(cur, row: r)
    }

    /// The normalised, padded input x0 of pixels `x` and the stem convolution into `y`.
    func stem(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let m = model, c = m.configuration
        let padTop = (c.paddedHeight - c.inputHeight) / 2, padLeft = (c.paddedWidth - c.inputWidth) / 2
        let ph = c.paddedHeight, pw = c.paddedWidth
        for ch in 0..<c.inputChannels {
            let inv = inverseStd[ch], mu = c.mean[ch]
            let dst = x0 + ch * ph * pw, src = x + ch * c.inputHeight * c.inputWidth
            if ph != c.inputHeight || pw != c.inputWidth { dst.update(repeating: -mu * inv, count: ph * pw) }
            for y in 0..<c.inputHeight {
                let d = dst + (y + padTop) * pw + padLeft, s = src + y * c.inputWidth
                for i in 0..<c.inputWidth { d[i] = (s[i] - mu) * inv }
            }
        }
        m.stem.conv.forward(FeatureMap(x0, channels: c.inputChannels, height: ph, width: pw), weights: m.stem.weight,
                            bias: m.stem.bias, FeatureMap(out, channels: 16, height: ph, width: pw), cols: cols, gemmScratch: gemm)
    }

    /// BN → ReLU → pool → linear → softmax of the last block's output `cur` into probs row r.
    func head(_ cur: UnsafeMutablePointer<Float>, row r: Int) {
        let m = model
        let hx = FeatureMap(cur, channels: m.headChannels, height: m.headHeight, width: m.headWidth)
        let hu = FeatureMap(headU, channels: m.headChannels, height: m.headHeight, width: m.headWidth)
        BatchNorm.forward(hx, scale: m.head.scale, shift: m.head.shift, hu)
        Self.relu(hu.data, hu.count)
        GlobalAveragePool.forward(hu, pooled)
        linear(pooled, bias: true, into: logits)
        let k = m.classCount
        Softmax.forward(Matrix(logits, rows: 1, cols: k), Matrix(probs + r * k, rows: 1, cols: k))
    }

    /// z = W·v (+ b), W classes × channels.
    @inline(__always) func linear(_ v: UnsafePointer<Float>, bias: Bool, into z: UnsafeMutablePointer<Float>) {
        let m = model, ch = m.headChannels
        for j in 0..<m.classCount {
            z[j] = Vec.dot(m.linearWeight + j * ch, v, ch) + (bias ? m.linearBias[j] : 0)
        }
    }

    // MARK: JVP

    public func jvp(tangent: UnsafePointer<Float>) -> UnsafePointer<Float> {
        precondition(rowsDone > 0, "forward first")
        let m = model, c = m.configuration
        let ph = c.paddedHeight, pw = c.paddedWidth
        let padTop = (ph - c.inputHeight) / 2, padLeft = (pw - c.inputWidth) / 2
        // tangent of the normalised, padded input: 0 in the padding, t/std inside
        for ch in 0..<c.inputChannels {
            let inv = inverseStd[ch]
            let dst = d0 + ch * ph * pw, src = tangent + ch * c.inputHeight * c.inputWidth
            if ph != c.inputHeight || pw != c.inputWidth { dst.update(repeating: 0, count: ph * pw) }
            for y in 0..<c.inputHeight {
                let d = dst + (y + padTop) * pw + padLeft, s = src + y * c.inputWidth
                for i in 0..<c.inputWidth { d[i] = s[i] * inv }
            }
        }
        var cur = d1, s1 = d2, s2 = d3, s3 = d0
        m.stem.conv.jvp(tx: FeatureMap(d0, channels: c.inputChannels, height: ph, width: pw), weights: m.stem.weight,
                        ty: FeatureMap(cur, channels: 16, height: ph, width: pw), cols: cols, gemmScratch: gemm)
        for (i, blk) in m.blocks.enumerated() {
            let buf = buffers[i]
            let tx = FeatureMap(cur, channels: blk.inPlanes, height: blk.height, width: blk.width)
            let ta = FeatureMap(s1, channels: blk.inPlanes, height: blk.height, width: blk.width)
            let tb = FeatureMap(s2, channels: blk.planes, height: blk.height, width: blk.width)
            let out = FeatureMap(s3, channels: blk.planes, height: blk.outHeight, width: blk.outWidth)
            BatchNorm.jvp(tx: tx, scale: blk.bn1.scale, ty: ta)
            Self.reluMask(buf.u1, ta.data, ta.count)
            blk.conv1.conv.jvp(tx: ta, weights: blk.conv1.weight, ty: tb, cols: cols, gemmScratch: gemm)
            Self.multiplyMask(tb.data, buf.mask, tb.count)
            BatchNorm.jvp(tx: tb, scale: blk.bn2.scale, ty: tb)
            Self.reluMask(buf.u2, tb.data, tb.count)
            blk.conv2.conv.jvp(tx: tb, weights: blk.conv2.weight, ty: out, cols: cols, gemmScratch: gemm)
            if let sc = blk.shortcut {
                let s = FeatureMap(s1, channels: blk.planes, height: blk.outHeight, width: blk.outWidth)
                sc.conv.jvp(tx: tx, weights: sc.weight, ty: s, cols: cols, gemmScratch: gemm)
                Vec.axpy(1, s.data, out.data, out.count)
            } else {
                Vec.axpy(1, tx.data, out.data, out.count)
            }
            swap(&cur, &s3)
        }
        let th = FeatureMap(cur, channels: m.headChannels, height: m.headHeight, width: m.headWidth)
        let tu = FeatureMap(s1, channels: m.headChannels, height: m.headHeight, width: m.headWidth)
        BatchNorm.jvp(tx: th, scale: m.head.scale, ty: tu)
        Self.reluMask(headU, tu.data, tu.count)
        GlobalAveragePool.jvp(tx: tu, ty: dpooled)
        linear(dpooled, bias: false, into: dlogits)
        let k = m.classCount
        Softmax.jvp(p: probs, tz: Matrix(dlogits, rows: 1, cols: k), tp: Matrix(tprobs, rows: 1, cols: k))
        return UnsafePointer(tprobs)
    }

    // MARK: VJP

    public func vjp(cotangents: Matrix, into gradients: Matrix) { vjp(cotangents: cotangents, into: gradients, deferMean: false) }

    /// The VJP without the pre-dropout part: the cotangents at block 0's conv1 output and residual
    /// input are added to the pending sums, and the gradient rows are zero.
    public func vjpDeferringMean(cotangents: Matrix, into gradients: Matrix) {
        // more rows than the pending sums hold: nothing is deferred (the whole VJP is returned)
        guard cotangents.rows <= Self.deferCapacity(cotangents: maxCotangents) else {
            return vjp(cotangents: cotangents, into: gradients, deferMean: false)
        }
        let x = UnsafePointer(inputs)
        if deferredRows == 0 {
            deferInput.update(from: x, count: model.inputSize)
            deferredRows = cotangents.rows
            let b0 = model.blocks[0]
            deferGA.update(repeating: 0, count: cotangents.rows * b0.planes * b0.height * b0.width)
            deferGX.update(repeating: 0, count: cotangents.rows * b0.inPlanes * b0.height * b0.width)
        }
        // one linear map for every realization of ONE image: the pending sums belong to these pixels
        precondition(cotangents.rows == deferredRows && Self.sameBits(deferInput, x, model.inputSize),
                     "deferred VJPs of different images or cotangent counts")
        vjp(cotangents: cotangents, into: gradients, deferMean: true)
    }

    public func addDeferredMean(into sums: Matrix) {
        guard deferredRows > 0 else { return }
        precondition(sums.rows == deferredRows && sums.cols == model.inputSize)
        // the map uses row 0's block-0 ReLU mask, kept with its pixels in the pre-dropout cache
        precondition(preValid[0] == 1 && Self.sameBits(preInput, deferInput, model.inputSize),
                     "addDeferredMean after a forward of another image")
        let b0 = model.blocks[0]
        let na = b0.planes * b0.height * b0.width, nx = b0.inPlanes * b0.height * b0.width
        for q in 0..<deferredRows {
            // gb = conv1ᵀ(ga), masked by u1, through BN1, added to the residual cotangent
            let ga = FeatureMap(deferGA + q * na, channels: b0.planes, height: b0.height, width: b0.width)
            let gb = FeatureMap(d2, channels: b0.inPlanes, height: b0.height, width: b0.width)
            let gx = FeatureMap(d3, channels: b0.inPlanes, height: b0.height, width: b0.width)
            gx.data.update(from: deferGX + q * nx, count: nx)
            b0.conv1.conv.vjpInput(gy: ga, weights: b0.conv1.weight, gx: gb, cols: cols, gemmScratch: gemm)
            Self.reluMask(preU1, gb.data, gb.count)   // row 0's u1
            BatchNorm.vjp(gy: gb, scale: b0.bn1.scale, gx: gx, accumulate: true)
            stemVJP(gx.data, addingTo: sums.row(q))
        }
    }

    public func clearDeferredMean() { deferredRows = 0 }

    func vjp(cotangents: Matrix, into gradients: Matrix, deferMean: Bool) {
        precondition(rowsDone > 0, "forward first")
        let m = model
        precondition(cotangents.rows <= maxCotangents && gradients.rows == cotangents.rows && gradients.cols == m.inputSize
                     && cotangents.cols == m.classCount)
        let k = m.classCount, ch = m.headChannels
        for q in 0..<cotangents.rows {
            Softmax.vjp(p: probs, gp: cotangents.rows(q..<(q + 1)), gz: Matrix(dlogits, rows: 1, cols: k))
            // through the linear layer: g pooled = Wᵀ g z
            dpooled.update(repeating: 0, count: ch)
            for j in 0..<k { Vec.axpy(dlogits[j], m.linearWeight + j * ch, dpooled, ch) }
            var gOut = d0, s1 = d1, s2 = d2, gIn = d3
            let gh = FeatureMap(gOut, channels: ch, height: m.headHeight, width: m.headWidth)
            GlobalAveragePool.vjp(gy: dpooled, gx: gh)
            Self.reluMask(headU, gh.data, gh.count)
            BatchNorm.vjp(gy: gh, scale: m.head.scale, gx: gh)
            for i in stride(from: m.blocks.count - 1, through: 0, by: -1) {
                let blk = m.blocks[i], buf = buffers[i]
                let gy = FeatureMap(gOut, channels: blk.planes, height: blk.outHeight, width: blk.outWidth)
                let gx = FeatureMap(gIn, channels: blk.inPlanes, height: blk.height, width: blk.width)
                let ga = FeatureMap(s1, channels: blk.planes, height: blk.height, width: blk.width)
                let gb = FeatureMap(s2, channels: blk.inPlanes, height: blk.height, width: blk.width)
                if let sc = blk.shortcut {
                    sc.conv.vjpInput(gy: gy, weights: sc.weight, gx: gx, cols: cols, gemmScratch: gemm)
                } else {
                    gx.data.update(from: gy.data, count: gx.count)
                }
                blk.conv2.conv.vjpInput(gy: gy, weights: blk.conv2.weight, gx: ga, cols: cols, gemmScratch: gemm)
                Self.reluMask(buf.u2, ga.data, ga.count)
                BatchNorm.vjp(gy: ga, scale: blk.bn2.scale, gx: ga)
                Self.multiplyMask(ga.data, buf.mask, ga.count)
                if i == 0 && deferMean {
                    // the rest is the same linear map for every realization: sum, apply later
                    Vec.axpy(1, ga.data, deferGA + q * ga.count, ga.count)
                    Vec.axpy(1, gx.data, deferGX + q * gx.count, gx.count)
                    break
                }
                blk.conv1.conv.vjpInput(gy: ga, weights: blk.conv1.weight, gx: gb, cols: cols, gemmScratch: gemm)
                Self.reluMask(buf.u1, gb.data, gb.count)
                BatchNorm.vjp(gy: gb, scale: blk.bn1.scale, gx: gx, accumulate: true)
                swap(&gOut, &gIn)
            }
            let out = gradients.row(q)
            out.update(repeating: 0, count: m.inputSize)
            if !deferMean { stemVJP(gOut, addingTo: out) }
        }
    }

    /// Adds the input gradient of the stem's output cotangent `g` (16 × padded map; overwritten
    /// scratch d1 holds the padded input gradient) to `out` (pixels).
    func stemVJP(_ g: UnsafeMutablePointer<Float>, addingTo out: UnsafeMutablePointer<Float>) {
        let m = model, c = m.configuration
        let ph = c.paddedHeight, pw = c.paddedWidth
        let padTop = (ph - c.inputHeight) / 2, padLeft = (pw - c.inputWidth) / 2
        let gx0 = FeatureMap(d1, channels: c.inputChannels, height: ph, width: pw)
        m.stem.conv.vjpInput(gy: FeatureMap(g, channels: 16, height: ph, width: pw), weights: m.stem.weight,
                             gx: gx0, cols: cols, gemmScratch: gemm)
        for chn in 0..<c.inputChannels {
            let inv = inverseStd[chn]
            let src = gx0.channel(chn), dst = out + chn * c.inputHeight * c.inputWidth
            for y in 0..<c.inputHeight {
                let s = src + (y + padTop) * pw + padLeft, d = dst + y * c.inputWidth
                for i in 0..<c.inputWidth { d[i] += s[i] * inv }
            }
        }
    }

    // MARK: element-wise helpers

    /// The n floats at a and b have the same bits (a cached row is reused only for identical pixels).
    @inline(__always) static func sameBits(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Bool {
        for i in 0..<n where a[i].bitPattern != b[i].bitPattern { return false }
        return true
    }

    /// x ← max(x, 0).
    @inline(__always) package static func relu(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        let raw = UnsafeMutableRawPointer(x)
        var i = 0
        while i + 16 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            raw.storeBytes(of: v.replacing(with: 0, where: .!(v .> 0)), toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { x[i] = x[i] > 0 ? x[i] : 0; i += 1 }
    }

    /// t ← t where u > 0, else 0 (u is a ReLU output, so u > 0 exactly where the ReLU passed).
    @inline(__always) package static func reluMask(_ u: UnsafePointer<Float>, _ t: UnsafeMutablePointer<Float>, _ n: Int) {
        let ur = UnsafeRawPointer(u), tr = UnsafeMutableRawPointer(t)
        var i = 0
        while i + 16 <= n {
            let uv = ur.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            let tv = tr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            tr.storeBytes(of: tv.replacing(with: 0, where: .!(uv .> 0)), toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { if !(u[i] > 0) { t[i] = 0 }; i += 1 }
    }

    /// t ← t·mask, and exactly 0 where the mask is 0 (dropped NaN/inf become 0, as in `Dropout`).
    @inline(__always) package static func multiplyMask(_ t: UnsafeMutablePointer<Float>, _ mask: UnsafePointer<Float>, _ n: Int) {
        let mr = UnsafeRawPointer(mask), tr = UnsafeMutableRawPointer(t)
        var i = 0
        while i + 16 <= n {
            let mv = mr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            let tv = tr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            tr.storeBytes(of: (tv * mv).replacing(with: 0, where: mv .== 0), toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { t[i] = mask[i] == 0 ? 0 : t[i] * mask[i]; i += 1 }
    }
}
