import Foundation
import XCTest
@_spi(Testing) import SNNModels
import SNNRuntime

/// The wide ResNet of docs/METHOD.md §Wide ResNet: layout and counts, agreement with PyTorch on a committed fixture
/// (scripts/pytorch/make_wrn_fixture.py), derivatives against finite differences, memory plan.
final class WideResNetTests: XCTestCase {
    static let fixturePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wrn-10-2.safetensors").path

    // MARK: layout

    func testParameterAndMultiplyAddCountsMatchSpec() {
        // Counts of the PyTorch module (sum of parameters().numel(), and conv/linear MACs by hooks).
        let wrn28 = WideResNet(.cifar10(depth: 28, widen: 10, dropout: 0.3))
        XCTAssertEqual(wrn28.parameterCount, 36_489_290)
        XCTAssertEqual(wrn28.multiplyAdds, 5_951_117_568)
        XCTAssertEqual(wrn28.parameters.count, 36_507_242)  // + running statistics
        let wrn16 = WideResNet(.cifar10(depth: 16, widen: 4, dropout: 0.3))
        XCTAssertEqual(wrn16.parameterCount, 2_751_146)
        XCTAssertEqual(wrn16.multiplyAdds, 505_858_560)
        XCTAssertEqual(wrn16.blockNames, ["layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer3.1"])
        XCTAssertEqual(wrn16.dropoutMaskCounts, [64 * 1024, 64 * 1024, 128 * 1024, 128 * 256, 256 * 256, 256 * 64])
        let names = wrn16.tensors.map(\.name)
        XCTAssertEqual(Array(names.prefix(8)), ["conv1.weight", "conv1.bias", "layer1.0.bn1.weight", "layer1.0.bn1.bias",
                                                 "layer1.0.bn1.running_mean", "layer1.0.bn1.running_var",
                                                 "layer1.0.conv1.weight", "layer1.0.conv1.bias"])
        XCTAssertEqual(Array(names.suffix(6)), ["bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                                                 "linear.weight", "linear.bias"])
        XCTAssertEqual(wrn16.tensor("layer1.0.shortcut.0.weight")?.count, 64 * 16)  // 16 → 64: width changes
        XCTAssertNil(wrn16.tensor("layer1.1.shortcut.0.weight"))                   // identity
        XCTAssertEqual(wrn16.tensor("layer2.0.shortcut.0.weight")?.count, 128 * 64)
        XCTAssertEqual(wrn16.tensor("linear.weight")?.count, 10 * 256)
    }

    // MARK: PyTorch fixture

    func testMatchesPyTorchFixture() throws {
        let file = try SafetensorsFile(path: Self.fixturePath)
        let model = WideResNet(.cifar10(depth: 10, widen: 2, dropout: 0.3))
        try model.load(from: file)
        XCTAssertEqual(file.metadata["depth"], "10")
        XCTAssertEqual(file.metadata["widen"], "2")
        let arena = Arena(capacity: model.workspacePlan(rows: 2, cotangents: 2).bytes)
        let ws = try WideResNetWorkspace(model: model, arena: arena, rows: 2, cotangents: 2)
        for (b, name) in model.blockNames.enumerated() {
            let mask = try file.floats("fixture.mask.\(name)")
            XCTAssertEqual(mask.count, model.dropoutMaskCounts[b])
            ws.setDropoutMask(block: b, values: mask)
        }
        let inputs = try file.floats("fixture.inputs", shape: [2, 3, 32, 32])
        for r in 0..<2 { ws.input(row: r).update(from: inputs.baseAddress! + r * 3072, count: 3072) }
        let probs = ws.forward(rows: 2)

        let k = 10
        let refLogits = try file.floats("fixture.logits", shape: [2, k])
        let refProbs = try file.floats("fixture.probs", shape: [2, k])
        assertClose((0..<k).map { ws.lastLogits[$0] }, Array(refLogits[0..<k]), "logits of image 0")
        assertClose((0..<2 * k).map { probs[$0 / k, $0 % k] }, Array(refProbs), "probabilities")

        let tangent = try file.floats("fixture.tangent", shape: [3, 32, 32])
        let jvp = ws.jvp(tangent: tangent.baseAddress!)
        assertClose((0..<k).map { jvp[$0] }, try file.floatArray("fixture.jvp", shape: [k]), "JVP")

        var cot = try file.floatArray("fixture.cotangents", shape: [2, k])
        var grads = [Float](repeating: 0, count: 2 * 3072)
        cot.withUnsafeMutableBufferPointer { c in grads.withUnsafeMutableBufferPointer { g in
            ws.vjp(cotangents: Matrix(c.baseAddress!, rows: 2, cols: k), into: Matrix(g.baseAddress!, rows: 2, cols: 3072))
        } }
        let refVJP = try file.floatArray("fixture.vjp", shape: [2, 3, 32, 32])
        assertClose(Array(grads[0..<3072]), Array(refVJP[0..<3072]), "VJP row 0")
        assertClose(Array(grads[3072...]), Array(refVJP[3072...]), "VJP row 1")

        // Image 1 as row 0 gives its own logits (rows are independent, same masks).
        ws.input(row: 0).update(from: inputs.baseAddress! + 3072, count: 3072)
        _ = ws.forward(rows: 1)
        assertClose((0..<k).map { ws.lastLogits[$0] }, Array(refLogits[k..<2 * k]), "logits of image 1")
    }

    /// |a − b| ≤ 1e-4·|b| + 1e-4·max|b| elementwise (float32 against a float64 reference).
    func assertClose(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = b.reduce(0) { max($0, abs($1)) }
        var worst: Float = 0, at = 0
        for i in 0..<min(a.count, b.count) {
            let excess = abs(a[i] - b[i]) / (1e-4 * abs(b[i]) + 1e-4 * scale)
            if !(excess <= worst) { worst = excess; at = i }
        }
        XCTAssertLessThanOrEqual(worst, 1, "\(what): element \(at) is \(a[at]), PyTorch \(b[at])", file: file, line: line)
    }

    // MARK: finite differences (Philox masks)

    /// A tiny WRN (depth 10, widen 1) on 2×6×6 inputs zero-padded to 8×8, with random BN
    /// statistics, biases and normalisation (small, so few ReLU kinks lie near any point).
    func tinyModel() -> WideResNet {
        let model = WideResNet(WideResNet.Configuration(
            depth: 10, widen: 1, dropout: 0.3, inputChannels: 2, classes: 7, inputHeight: 6, inputWidth: 6,
            padTo: (8, 8), mean: [0.3, 0.5], std: [0.25, 0.4]))
        model.initialise(seed: 11)
        var state: UInt32 = 12345
        func uniform() -> Float { state = state &* 1_664_525 &+ 1_013_904_223; return Float(state >> 8) / 16_777_216 }
        for e in model.tensors {
            let t = model.tensor(e.name)!
            if e.name.hasSuffix("running_var") { for i in t.indices { t[i] = 0.5 + 1.5 * uniform() } }
            else if e.name.hasSuffix("running_mean") || e.name.hasSuffix(".bias") { for i in t.indices { t[i] = 0.4 * uniform() - 0.2 } }
            else if e.shape.count == 1 { for i in t.indices { t[i] = 0.6 + 0.8 * uniform() } }  // BN γ
        }
        let w = model.tensor("linear.weight")!
        for i in w.indices { w[i] *= 0.3 }
        model.refreshDerived()
        return model
    }

    func testDerivativesMatchFiniteDifferences() throws {
        let model = tinyModel()
        let n = model.inputSize, k = model.classCount
        XCTAssertEqual(n, 72)
        let ws = try model.makeWorkspace(arena: Arena(capacity: model.workspacePlan(rows: 3, cotangents: 3).bytes),
                                         rows: 3, cotangents: 3)
        ws.sample(RandomAddress(seed: 5, role: .attack, image: 2, sample: 3))
        var state: UInt32 = 99
        func uniform() -> Float { state = state &* 1_664_525 &+ 1_013_904_223; return Float(state >> 8) / 16_777_216 }
        let x = (0..<n).map { _ in uniform() }
        func probs(_ v: [Float]) -> [Double] {
            ws.input(row: 0).update(from: v, count: n)
            let p = ws.forward(rows: 1)
            return (0..<k).map { Double(p[0, $0]) }
        }
        let p0 = probs(x)
        XCTAssertLessThan(p0.max()!, 0.95, "probabilities should not saturate")
        // Differences of the float32 forward pass, accumulated in Double. A ReLU kink within a step
        // spoils the central quotient, float32 roundoff a too-small step, so each check takes the
        // closest of central, forward and backward quotients at steps 3e-4 and 1e-3 (pixel units):
        // next to a kink, the one-sided quotient away from it is the derivative at the point.
        func difference(_ f: (Float) -> [Double]) -> [[Double]] {
            let f0 = p0
            return [Float(3e-4), 1e-3].flatMap { (h: Float) -> [[Double]] in
                let up = f(h), down = f(-h), hd = Double(h)
                return [zip(up, down).map { ($0 - $1) / (2 * hd) }, zip(up, f0).map { ($0 - $1) / hd },
                        zip(f0, down).map { ($0 - $1) / hd }]
            }
        }
        // Kinks that several steps cross remain (a few % of the checks here): so ≥ 95 % of the checks
        // must agree to 2 % (+ 3e-4 absolute) and every one to 50 %. A wrong mask, scale or sign
        // shows in most checks; the PyTorch fixture checks the same code to 1e-4.
        var checks = 0, close = 0
        func assertNear(_ value: Float, _ fds: [Double], _ what: String) {
            let fd = fds.min { abs($0 - Double(value)) < abs($1 - Double(value)) }!
            checks += 1
            if abs(Double(value) - fd) <= 3e-4 + 2e-2 * abs(fd) { close += 1 }
            XCTAssertEqual(Double(value), fd, accuracy: 3e-4 + 0.5 * abs(fd), what)
        }
        defer {
            print("WRN finite differences: \(close) of \(checks) within 2 %")
            XCTAssertGreaterThanOrEqual(Double(close), 0.95 * Double(checks), "\(close) of \(checks) derivatives within 2 % of finite differences")
        }
        var tangents: [[Float]] = []
        for _ in 0..<3 { tangents.append((0..<n).map { _ in uniform() - 0.5 }) }
        var jvps: [[Float]] = []
        for t in tangents {
            let fds = difference { h in probs(zip(x, t).map { $0 + h * $1 }) }
            _ = probs(x)
            let j = ws.jvp(tangent: t)
            jvps.append((0..<k).map { j[$0] })
            for c in 0..<k { assertNear(j[c], fds.map { $0[c] }, "JVP class \(c)") }
        }
        // VJP of three cotangent rows: ⟨Jᵀc, t⟩ = ⟨c, J t⟩ for each tangent, and FD on single pixels.
        var cot = (0..<3 * k).map { _ in 2 * uniform() - 1 }
        var grads = [Float](repeating: 0, count: 3 * n)
        _ = probs(x)
        cot.withUnsafeMutableBufferPointer { c in grads.withUnsafeMutableBufferPointer { g in
            ws.vjp(cotangents: Matrix(c.baseAddress!, rows: 3, cols: k), into: Matrix(g.baseAddress!, rows: 3, cols: n))
        } }
        for q in 0..<3 {
            for (t, j) in zip(tangents, jvps) {
                let lhs = (0..<n).reduce(0.0) { $0 + Double(grads[q * n + $1]) * Double(t[$1]) }
                let rhs = (0..<k).reduce(0.0) { $0 + Double(cot[q * k + $1]) * Double(j[$1]) }
                XCTAssertEqual(lhs, rhs, accuracy: 1e-6 + 1e-4 * abs(rhs), "⟨VJP, t⟩ = ⟨c, JVP⟩ row \(q)")
            }
        }
        var xv = x
        for i in stride(from: 0, to: n, by: 2) {  // every other pixel, both channels
            let fds = difference { h in xv[i] = x[i] + h; defer { xv[i] = x[i] }; return probs(xv) }
            for q in 0..<3 {
                let dots = fds.map { d in (0..<k).reduce(0.0) { $0 + Double(cot[q * k + $1]) * d[$1] } }
                assertNear(grads[q * n + i], dots, "VJP row \(q) pixel \(i)")
            }
        }
    }

    func testRealizationsAndRows() throws {
        let model = tinyModel()
        let n = model.inputSize, k = model.classCount
        let ws = try model.makeWorkspace(arena: Arena(capacity: model.workspacePlan(rows: 3, cotangents: 1).bytes),
                                         rows: 3, cotangents: 1)
        let images = (0..<3).map { r in (0..<n).map { Float(($0 * (r + 3)) % 17) / 17 } }
        for r in 0..<3 { ws.input(row: r).update(from: images[r], count: n) }
        let a = RandomAddress(seed: 1, role: .inference, image: 0, sample: 0)
        let b = RandomAddress(seed: 1, role: .inference, image: 0, sample: 1)
        ws.sample(a)
        let all = ws.forward(rows: 3)
        let batch = (0..<3 * k).map { all[$0 / k, $0 % k] }
        // each row alone as row 0 gives the same bits
        for r in 0..<3 {
            ws.input(row: 0).update(from: images[r], count: n)
            let p = ws.forward(rows: 1)
            XCTAssertEqual((0..<k).map { p[0, $0] }, Array(batch[r * k..<(r + 1) * k]), "row \(r)")
        }
        let pa = (0..<k).map { ws.forward(rows: 1)[0, $0] }
        ws.sample(b)
        let pb = (0..<k).map { ws.forward(rows: 1)[0, $0] }
        XCTAssertNotEqual(pa, pb, "another sample index draws other masks")
        ws.sample(a)
        XCTAssertEqual((0..<k).map { ws.forward(rows: 1)[0, $0] }, pa, "a realization is regenerated from its address")
        XCTAssertEqual(pa.reduce(0, +), 1, accuracy: 1e-5)
    }

    // MARK: pre-dropout cache and deferred VJP

    /// The pre-dropout outputs kept per row are reused only for the same pixels: a workspace that
    /// has seen other images and realizations gives the bits of a fresh one — forward, JVP and VJP —
    /// also for an image that differs from the cached one in a single pixel.
    func testPreDropoutCacheGivesTheBitsOfAFreshWorkspace() throws {
        let model = tinyModel()
        let n = model.inputSize, k = model.classCount
        func workspace() throws -> any ClassifierWorkspace {
            try model.makeWorkspace(arena: Arena(capacity: model.workspacePlan(rows: 2, cotangents: 2).bytes), rows: 2, cotangents: 2)
        }
        let reused = try workspace()
        let a = (0..<n).map { Float(($0 * 7) % 13) / 13 }, b = (0..<n).map { Float(($0 * 5) % 11) / 11 }
        var a2 = a; a2[n / 2] += 0.25
        let t = (0..<n).map { Float($0 % 5) / 5 - 0.4 }
        let cot: [Float] = (0..<(2 * k)).map { Float($0 % 3) - 1 }
        func run(_ ws: any ClassifierWorkspace, _ x: [Float], _ xadv: [Float], sample s: Int) -> [Float] {
            ws.sample(RandomAddress(seed: 3, role: .inference, image: 0, sample: UInt32(s)))
            ws.input(row: 0).update(from: x, count: n); ws.input(row: 1).update(from: xadv, count: n)
            let p = ws.forward(rows: 2)
            var out = (0..<(2 * k)).map { p[$0 / k, $0 % k] }
            let j = ws.jvp(tangent: t)
            out += (0..<k).map { j[$0] }
            var g = [Float](repeating: 0, count: 2 * n)
            cot.withUnsafeBufferPointer { c in
                g.withUnsafeMutableBufferPointer { gp in
                    ws.vjp(cotangents: Matrix(UnsafeMutablePointer(mutating: c.baseAddress!), rows: 2, cols: k),
                           into: Matrix(gp.baseAddress!, rows: 2, cols: n))
                }
            }
            return out + g
        }
        for (step, (x, xadv, s)) in [(a, b, 0), (a, b, 1), (b, a, 1), (a2, b, 2), (a, a2, 2), (a, b, 0)].enumerated() {
            XCTAssertEqual(run(reused, x, xadv, sample: s), run(try workspace(), x, xadv, sample: s), "step \(step)")
        }
    }

    /// Σ_s vjp over realizations of one image = Σ_s vjpDeferringMean + addDeferredMean (the
    /// pre-dropout map applied once to the summed cotangents), also read at a prefix of the sum.
    func testDeferredVJPSumsAgreeWithPlainSums() throws {
        let model = tinyModel()
        let n = model.inputSize, k = model.classCount
        let ws = try model.makeWorkspace(arena: Arena(capacity: model.workspacePlan(rows: 1, cotangents: 2).bytes), rows: 1, cotangents: 2)
        let dws = try XCTUnwrap(ws as? any DeferringVJPWorkspace)
        let x = (0..<n).map { Float(($0 * 7) % 13) / 13 }
        let cotP = UnsafeMutablePointer<Float>.allocate(capacity: 2 * k); defer { cotP.deallocate() }
        for i in 0..<(2 * k) { cotP[i] = Float(i % 3) - 1 }
        let row = UnsafeMutablePointer<Float>.allocate(capacity: 2 * n); defer { row.deallocate() }
        func sums(deferred: Bool, samples S: Int) -> [Float] {
            var total = [Float](repeating: 0, count: 2 * n)
            dws.clearDeferredMean()
            for s in 0..<S {
                ws.sample(RandomAddress(seed: 8, role: .attack, image: 4, sample: UInt32(s)))
                ws.input(row: 0).update(from: x, count: n)
                _ = ws.forward(rows: 1)
                let c = Matrix(cotP, rows: 2, cols: k), g = Matrix(row, rows: 2, cols: n)
                if deferred { dws.vjpDeferringMean(cotangents: c, into: g) } else { ws.vjp(cotangents: c, into: g) }
                for i in 0..<(2 * n) { total[i] += row[i] }
                if deferred && s == 1 {
                    // a prefix read leaves the pending sum as it is
                    var prefix = total
                    prefix.withUnsafeMutableBufferPointer { dws.addDeferredMean(into: Matrix($0.baseAddress!, rows: 2, cols: n)) }
                    let plain = sums(deferredPrefixCheck: 2)
                    for i in 0..<(2 * n) { XCTAssertEqual(prefix[i], plain[i], accuracy: 1e-5 * max(1, abs(plain[i])), "prefix \(i)") }
                }
            }
            if deferred { total.withUnsafeMutableBufferPointer { dws.addDeferredMean(into: Matrix($0.baseAddress!, rows: 2, cols: n)) } }
            return total
        }
        // the plain sum over the first S realizations on a second workspace (the first holds the pending sum)
        let other = try model.makeWorkspace(arena: Arena(capacity: model.workspacePlan(rows: 1, cotangents: 2).bytes), rows: 1, cotangents: 2)
        func sums(deferredPrefixCheck S: Int) -> [Float] {
            var total = [Float](repeating: 0, count: 2 * n)
            let g = UnsafeMutablePointer<Float>.allocate(capacity: 2 * n); defer { g.deallocate() }
            for s in 0..<S {
                other.sample(RandomAddress(seed: 8, role: .attack, image: 4, sample: UInt32(s)))
                other.input(row: 0).update(from: x, count: n)
                _ = other.forward(rows: 1)
                other.vjp(cotangents: Matrix(cotP, rows: 2, cols: k), into: Matrix(g, rows: 2, cols: n))
                for i in 0..<(2 * n) { total[i] += g[i] }
            }
            return total
        }
        let plain = sums(deferred: false, samples: 4), deferred = sums(deferred: true, samples: 4)
        XCTAssertGreaterThan(plain.map(abs).max()!, 1e-3)
        for i in 0..<(2 * n) { XCTAssertEqual(deferred[i], plain[i], accuracy: 1e-5 * max(1, abs(plain[i])), "element \(i)") }
    }

    // MARK: memory

    func testWorkspaceAllocatesExactlyItsPlan() throws {
        let model = tinyModel()
        let plan = model.workspacePlan(rows: 2, cotangents: 4)
        let arena = Arena(capacity: plan.bytes)
        let ws = try model.makeWorkspace(arena: arena, rows: 2, cotangents: 4)
        XCTAssertEqual(arena.used, plan.bytes)
        XCTAssertThrowsError(try model.makeWorkspace(arena: Arena(capacity: plan.bytes - 64), rows: 2, cotangents: 4)) {
            XCTAssertTrue($0 is OutOfBudget)
        }
        let n = model.inputSize, k = model.classCount
        for r in 0..<2 { ws.input(row: r).update(repeating: 0.25 * Float(r + 1), count: n) }
        let tangent = UnsafeMutablePointer<Float>.allocate(capacity: n); defer { tangent.deallocate() }
        tangent.update(repeating: 0.1, count: n)
        let cot = Matrix.init(UnsafeMutablePointer<Float>.allocate(capacity: 4 * k), rows: 4, cols: k)
        let grads = Matrix(UnsafeMutablePointer<Float>.allocate(capacity: 4 * n), rows: 4, cols: n)
        defer { cot.data.deallocate(); grads.data.deallocate() }
        for i in 0..<4 * k { cot.data[i] = Float(i % 3) - 1 }
        let address = RandomAddress(seed: 3, role: .attack, image: 7, sample: 0)
        func run() {
            ws.sample(address)
            _ = ws.forward(rows: 2)
            _ = ws.jvp(tangent: tangent)
            ws.vjp(cotangents: cot, into: grads)
        }
        run()
        XCTAssertEqual(arena.used, plan.bytes, "calls take nothing more from the arena")
        #if !DEBUG
        XCTAssertEqual(AllocationCounter.bytesAllocated { run() }, 0, "sample + forward + JVP + VJP allocate nothing")
        #endif
    }

    // MARK: files

    func testSaveAndLoadThroughModelStore() throws {
        let model = tinyModel()
        let dir = NSTemporaryDirectory() + "wrn-store-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let card = ModelCard(name: "tiny-wrn", architecture: .init(kind: WideResNet.kind),
                             input: .init(height: 6, width: 6, channels: 2), classes: 7)
        try model.save(card: card, to: dir)
        let (loaded, loadedCard) = try ModelStore.load(dir)
        XCTAssertEqual(loadedCard, card)
        let wrn = try XCTUnwrap(loaded as? WideResNet)
        XCTAssertEqual(wrn.configuration, model.configuration)
        XCTAssertEqual(wrn.name, "tiny-wrn")
        for e in model.tensors {
            XCTAssertEqual(Array(wrn.tensor(e.name)!), Array(model.tensor(e.name)!), e.name)
        }
    }
}
