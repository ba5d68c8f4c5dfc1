import XCTest
@testable import SNNRuntime

/// Every VJP and JVP against central finite differences of the forward.
final class ActivationTests: XCTestCase {
    func withMatrix<R>(_ values: [Float], rows: Int, _ body: (Matrix) -> R) -> R {
        var v = values
        return v.withUnsafeMutableBufferPointer { body(Matrix($0.baseAddress!, rows: rows, cols: values.count / rows)) }
    }

    func softmax(_ z: [Float]) -> [Float] {
        var out = z
        withMatrix(z, rows: 1) { zm in out.withUnsafeMutableBufferPointer { Softmax.forward(zm, Matrix($0.baseAddress!, rows: 1, cols: z.count)) } }
        return out
    }

    func testSoftmaxForwardSumsToOneAndSaturates() {
        let p = softmax([1, 2, 3, -1, 0.5])
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-6)
        let sat = softmax([200, 0, -50])
        XCTAssertEqual(sat[0], 1.0)  // exactly 1 in float32: no epsilon
    }

    func testSoftmaxVJPAndJVP() {
        var rng = TestRNG(1)
        let n = 10
        let z = rng.fill(n).map { $0 * 3 }, g = rng.fill(n), t = rng.fill(n)
        let p = softmax(z)
        let fd = finiteDifference(z, h: 1e-3) { zz in zip(self.softmax(zz), g).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        var gz = [Float](repeating: 0, count: n)
        p.withUnsafeBufferPointer { pp in withMatrix(g, rows: 1) { gm in gz.withUnsafeMutableBufferPointer {
            Softmax.vjp(p: pp.baseAddress!, gp: gm, gz: Matrix($0.baseAddress!, rows: 1, cols: n)) } } }
        assertClose(gz, fd, rel: 1e-2, abs: 1e-4, "softmax vjp")
        // JVP: directional derivative of each output along t
        var tp = [Float](repeating: 0, count: n)
        p.withUnsafeBufferPointer { pp in withMatrix(t, rows: 1) { tm in tp.withUnsafeMutableBufferPointer {
            Softmax.jvp(p: pp.baseAddress!, tz: tm, tp: Matrix($0.baseAddress!, rows: 1, cols: n)) } } }
        let h: Float = 1e-3
        let plus = softmax(zip(z, t).map { $0 + h * $1 }), minus = softmax(zip(z, t).map { $0 - h * $1 })
        assertClose(tp, zip(plus, minus).map { Double($0 - $1) / Double(2 * h) }, rel: 1e-2, abs: 1e-4, "softmax jvp")
    }

    func testReLUVJPAndJVP() {
        var rng = TestRNG(2)
        let n = 37
        // keep inputs away from the kink (finite differences are undefined there)
        let x = rng.fill(n).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }, g = rng.fill(n), t = rng.fill(n)
        func relu(_ v: [Float]) -> [Float] {
            var out = v
            withMatrix(v, rows: 1) { xm in out.withUnsafeMutableBufferPointer { ReLU.forward(xm, Matrix($0.baseAddress!, rows: 1, cols: n)) } }
            return out
        }
        let fd = finiteDifference(x, h: 1e-2) { xx in zip(relu(xx), g).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        var gx = [Float](repeating: 0, count: n), tx = [Float](repeating: 0, count: n)
        withMatrix(x, rows: 1) { xm in withMatrix(g, rows: 1) { gm in gx.withUnsafeMutableBufferPointer {
            ReLU.vjp(x: xm, gy: gm, gx: Matrix($0.baseAddress!, rows: 1, cols: n)) } } }
        assertClose(gx, fd, rel: 1e-3, abs: 1e-5, "relu vjp")
        withMatrix(x, rows: 1) { xm in withMatrix(t, rows: 1) { tm in tx.withUnsafeMutableBufferPointer {
            ReLU.jvp(x: xm, tx: tm, ty: Matrix($0.baseAddress!, rows: 1, cols: n)) } } }
        let h: Float = 1e-2
        let fdj = zip(relu(zip(x, t).map { $0 + h * $1 }), relu(zip(x, t).map { $0 - h * $1 })).map { Double($0 - $1) / Double(2 * h) }
        assertClose(tx, fdj, rel: 1e-3, abs: 1e-5, "relu jvp")
    }

    func testBiasVJPAndJVP() {
        var rng = TestRNG(3)
        let rows = 3, cols = 5
        let x = rng.fill(rows * cols), b = rng.fill(cols), g = rng.fill(rows * cols)
        func f(_ bias: [Float]) -> [Float] {
            var y = x
            bias.withUnsafeBufferPointer { bp in y.withUnsafeMutableBufferPointer { Bias.forward(Matrix($0.baseAddress!, rows: rows, cols: cols), bias: bp.baseAddress!) } }
            return y
        }
        let fd = finiteDifference(b) { bb in zip(f(bb), g).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        var gb = [Float](repeating: 0, count: cols)
        withMatrix(g, rows: rows) { gm in gb.withUnsafeMutableBufferPointer { Bias.vjp(gm, gBias: $0.baseAddress!) } }
        assertClose(gb, fd, rel: 1e-3, abs: 1e-5, "bias vjp")
        let t = rng.fill(cols)
        var ty = [Float](repeating: 0, count: rows * cols)
        t.withUnsafeBufferPointer { tp in ty.withUnsafeMutableBufferPointer { Bias.jvp(Matrix($0.baseAddress!, rows: rows, cols: cols), tBias: tp.baseAddress!) } }
        let h: Float = 1e-2
        let fdj = zip(f(zip(b, t).map { $0 + h * $1 }), f(zip(b, t).map { $0 - h * $1 })).map { Double($0 - $1) / Double(2 * h) }
        assertClose(ty, fdj, rel: 1e-3, abs: 1e-4, "bias jvp")
    }
}
