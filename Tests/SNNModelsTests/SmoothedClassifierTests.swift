import XCTest
import SNNModels
import SNNRuntime

/// Randomized smoothing: the realization (θ, ε_1..ε_n) is a fixed function of x, so its JVP and
/// VJP must match finite differences of its own forward pass; the noise depends on the role.
final class SmoothedClassifierTests: XCTestCase {
    func makeModel() -> SmoothedClassifier {
        let base = MatrixGaussianMLP(sizes: [11, 8, 6, 4])
        base.initialise(seed: 2, mScale: 2, logStd: -1)
        return SmoothedClassifier(base: base, variance: 0.1, noiseSamples: 3, name: "smooth")
    }

    func testSmoothnessConstant() {
        XCTAssertEqual(makeModel().smoothness!, 20, accuracy: 1e-4)  // L = 2/σ², σ² = 0.1
    }

    func testDerivativesMatchFiniteDifferences() throws {
        let model = makeModel()
        let arena = Arena(capacity: model.workspacePlan(rows: 2, cotangents: 4).bytes)
        let ws = try model.makeWorkspace(arena: arena, rows: 2, cotangents: 4)
        ws.sample(RandomAddress(seed: 5, role: .inference, image: 1, sample: 2))
        var x = (0..<11).map { Float(($0 * 3) % 7) / 7 }
        let t = (0..<11).map { Float(($0 * 5) % 9) / 9 - 0.5 }
        func probs(_ v: [Float]) -> [Double] {
            ws.input(row: 0).update(from: v, count: 11)
            let p = ws.forward(rows: 1)
            return (0..<4).map { Double(p[0, $0]) }
        }
        let h: Float = 1e-2
        let up = probs(zip(x, t).map { $0 + h * $1 }), down = probs(zip(x, t).map { $0 - h * $1 })
        let p0 = probs(x)
        XCTAssertEqual(p0.reduce(0, +), 1, accuracy: 1e-5)
        let jvp = ws.jvp(tangent: t)
        for c in 0..<4 {
            let fd = (up[c] - down[c]) / Double(2 * h)
            XCTAssertEqual(Double(jvp[c]), fd, accuracy: 2e-3 + 2e-2 * abs(fd), "JVP class \(c)")
        }
        let cot: [Float] = [1, -0.5, 0.25, 0.7]
        var g = [Float](repeating: 0, count: 11)
        cot.withUnsafeBufferPointer { cp in g.withUnsafeMutableBufferPointer { gp in
            ws.vjp(cotangents: Matrix(UnsafeMutablePointer(mutating: cp.baseAddress!), rows: 1, cols: 4),
                   into: Matrix(gp.baseAddress!, rows: 1, cols: 11)) } }
        for i in 0..<11 {
            let saved = x[i]
            x[i] = saved + h; let pu = probs(x)
            x[i] = saved - h; let pd = probs(x)
            x[i] = saved
            let fd = (0..<4).reduce(0.0) { $0 + Double(cot[$1]) * (pu[$1] - pd[$1]) } / Double(2 * h)
            XCTAssertEqual(Double(g[i]), fd, accuracy: 2e-3 + 2e-2 * abs(fd), "VJP input \(i)")
        }
    }

    func testNoiseDependsOnRoleAndSample() throws {
        let model = makeModel()
        let arena = Arena(capacity: model.workspacePlan(rows: 1, cotangents: 1).bytes)
        let ws = try model.makeWorkspace(arena: arena, rows: 1, cotangents: 1)
        let x = [Float](repeating: 0.5, count: 11)
        func p(_ a: RandomAddress) -> [Float] {
            ws.sample(a)
            ws.input(row: 0).update(from: x, count: 11)
            let m = ws.forward(rows: 1)
            return (0..<4).map { m[0, $0] }
        }
        let a = p(RandomAddress(seed: 1, role: .attack, image: 0, sample: 0))
        XCTAssertEqual(a, p(RandomAddress(seed: 1, role: .attack, image: 0, sample: 0)))
        XCTAssertNotEqual(a, p(RandomAddress(seed: 1, role: .inference, image: 0, sample: 0)))
        XCTAssertNotEqual(a, p(RandomAddress(seed: 1, role: .attack, image: 0, sample: 1)))
    }
}
