import XCTest
@testable import SNNRuntime

/// Deterministic test data (SplitMix64), independent of the Philox code under test.
struct TestRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func symmetric() -> Float { uniform() * 2 - 1 }
    mutating func fill(_ n: Int) -> [Float] { (0..<n).map { _ in symmetric() } }
}

/// Central finite difference of a scalar function of a vector, in Double for a clean reference.
func finiteDifference(_ x: [Float], h: Float = 1e-2, _ f: ([Float]) -> Double) -> [Double] {
    var g = [Double](repeating: 0, count: x.count)
    for i in 0..<x.count {
        var xp = x, xm = x
        xp[i] += h; xm[i] -= h
        g[i] = (f(xp) - f(xm)) / Double(2 * h)
    }
    return g
}

func assertClose(_ a: [Float], _ b: [Double], rel: Double, abs: Double, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    var worst = 0.0
    for i in 0..<min(a.count, b.count) {
        let err = Swift.abs(Double(a[i]) - b[i])
        let tol = abs + rel * Swift.abs(b[i])
        worst = max(worst, err / tol)
    }
    XCTAssertLessThanOrEqual(worst, 1, "\(message): worst error/tolerance = \(worst)", file: file, line: line)
}
