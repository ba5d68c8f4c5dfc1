import XCTest
import SNNModels
import SNNRuntime

/// The model-level JVP and VJP of one realization against central finite differences of its own
/// forward pass (float64 accumulation of the differences, small odd-sized network).
final class WorkspaceDerivativeTests: XCTestCase {
    func testJVPAndVJPMatchFiniteDifferences() throws {
        let model = MatrixGaussianMLP(sizes: [13, 9, 7, 5])
        model.initialise(seed: 4, mScale: 2, logStd: -1)
        let arena = Arena(capacity: model.workspacePlan(rows: 2, cotangents: 5).bytes + 4096)
        let ws = try model.makeWorkspace(arena: arena, rows: 2, cotangents: 5)
        ws.sample(RandomAddress(seed: 9, role: .inference, image: 3, sample: 1))
        var x = (0..<13).map { Float(($0 * 7) % 11) / 11 }
        let t = (0..<13).map { Float(($0 * 5) % 7) / 7 - 0.4 }
        func probs(_ v: [Float]) -> [Double] {
            ws.input(row: 0).update(from: v, count: 13)
            let p = ws.forward(rows: 1)
            return (0..<5).map { Double(p[0, $0]) }
        }
        // JVP along t
        let h: Float = 1e-2
        let up = probs(zip(x, t).map { $0 + h * $1 }), down = probs(zip(x, t).map { $0 - h * $1 })
        _ = probs(x)
        let jvp = ws.jvp(tangent: t)
        for c in 0..<5 {
            let fd = (up[c] - down[c]) / Double(2 * h)
            XCTAssertEqual(Double(jvp[c]), fd, accuracy: 2e-3 + 2e-2 * abs(fd), "JVP class \(c)")
        }
        // VJP of two cotangent rows
        let cot: [Float] = [1, -0.5, 0.25, 0, 2, 0.3, 0.3, -1, 0.5, 0]
        var grads = [Float](repeating: 0, count: 26)
        _ = probs(x)
        cot.withUnsafeBufferPointer { cp in grads.withUnsafeMutableBufferPointer { gp in
            ws.vjp(cotangents: Matrix(UnsafeMutablePointer(mutating: cp.baseAddress!), rows: 2, cols: 5),
                   into: Matrix(gp.baseAddress!, rows: 2, cols: 13)) } }
        for row in 0..<2 {
            for i in 0..<13 {
                let saved = x[i]
                x[i] = saved + h; let pu = probs(x)
                x[i] = saved - h; let pd = probs(x)
                x[i] = saved
                let fd = (0..<5).reduce(0.0) { $0 + Double(cot[row * 5 + $1]) * (pu[$1] - pd[$1]) } / Double(2 * h)
                XCTAssertEqual(Double(grads[row * 13 + i]), fd, accuracy: 2e-3 + 2e-2 * abs(fd), "VJP row \(row) input \(i)")
            }
        }
    }
}
