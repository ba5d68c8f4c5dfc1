import XCTest
@testable import SNNRobustness

final class ConditionsTests: XCTestCase {
    func testRadiiFollowTheTheorems() {
        // d ≥ 0: the attack moves away from class c → ∞
        XCTAssertEqual(Conditions.linearRadius(margin: 0.3, directional: 0.1, deltaNorm: 1), .infinity)
        // r̃ = −m‖δ‖/d
        XCTAssertEqual(Conditions.linearRadius(margin: 0.3, directional: -0.6, deltaNorm: 2), 1.0, accuracy: 1e-7)
        // V = d/‖δ‖ − L‖δ‖ = −0.3 − 2 = −2.3 → r = 0.3 / 2.3
        XCTAssertEqual(Conditions.smoothRadius(margin: 0.3, directional: -0.6, deltaNorm: 2, lipschitz: 1), 0.3 / 2.3, accuracy: 1e-6)
        XCTAssertEqual(Conditions.smoothRadius(margin: 0.3, directional: 5, deltaNorm: 1, lipschitz: 1), .infinity)
        XCTAssertTrue(Conditions.cosAlpha(directional: 1, gradNorm: 0, deltaNorm: 1).isNaN)
    }

    func testEvaluatePicksClassesAndRespectsPremise() {
        let margins: [Float] = [0, 0.5, 0.2, 0.9]       // label 0
        let dirs: [Float] = [0, -1, -0.1, 0.3]
        let norms: [Float] = [0, 2, 1, 1]
        let r = margins.withUnsafeBufferPointer { m in dirs.withUnsafeBufferPointer { d in norms.withUnsafeBufferPointer { n in
            Conditions.evaluate(label: 0, classes: 4, margins: m.baseAddress!, directional: d.baseAddress!, gradNorms: n.baseAddress!,
                                deltaNorm: 1, lipschitz: 20, classifiedCorrectly: true) } } }
        // r̃_1 = 0.5, r̃_2 = 2, r̃_3 = ∞ → j = 1; runner-up j' = argmin m = 2
        XCTAssertEqual(r.minRLinear, 0.5, accuracy: 1e-6)
        XCTAssertEqual(r.minClass, 1)
        XCTAssertEqual(r.runnerUpClass, 2)
        XCTAssertFalse(r.linear)
        XCTAssertEqual(r.smooth, false)
        let wrong = margins.withUnsafeBufferPointer { m in [Float](repeating: 1, count: 4).withUnsafeBufferPointer { d in norms.withUnsafeBufferPointer { n in
            Conditions.evaluate(label: 0, classes: 4, margins: m.baseAddress!, directional: d.baseAddress!, gradNorms: n.baseAddress!,
                                deltaNorm: 1, lipschitz: nil, classifiedCorrectly: false) } } }
        XCTAssertEqual(wrong.minRLinear, .infinity)
        XCTAssertFalse(wrong.linear)   // premise of the theorems not met
        XCTAssertNil(wrong.smooth)     // no L known
        XCTAssertEqual(wrong.minClass, 1)  // every r̃ infinite → argmin cos α (all equal → first)
    }

    func testWilsonInterval() {
        let (lo, hi) = Summary.wilson(8, 10)
        XCTAssertEqual(lo, 0.4902, accuracy: 1e-3)
        XCTAssertEqual(hi, 0.9433, accuracy: 1e-3)
    }

    func testStreamingQuartilesAreClose() {
        var q = StreamingQuantile(0.5), q1 = StreamingQuantile(0.25)
        var values: [Double] = []
        var s: UInt64 = 7
        for _ in 0..<5000 {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            let v = Double(s >> 11) / Double(1 << 53)
            values.append(v); q.add(v); q1.add(v)
        }
        values.sort()
        XCTAssertEqual(q.value!, values[2500], accuracy: 0.02)
        XCTAssertEqual(q1.value!, values[1250], accuracy: 0.02)
    }

    func testJSONLineEncodesInfinityAndNull() {
        var r = ImageResult()
        r.label = 3; r.cleanPrediction = 3; r.attackPrediction = 3; r.adversarialPrediction = 2
        r.conditions = ConditionResult(minRLinear: .infinity, minRSmooth: nil, linear: true, smooth: nil, minClass: 1, runnerUpClass: 2)
        r.deltaNorm = 1.25
        var w = JSONLineWriter(); defer { w.deallocate() }
        r.write(to: &w)
        let line = String(decoding: UnsafeBufferPointer(start: w.bytes, count: w.count), as: UTF8.self)
        XCTAssertTrue(line.hasSuffix("}\n"))
        let obj = try! JSONSerialization.jsonObject(with: line.data(using: .utf8)!) as! [String: Any]
        // JSON has no ∞: null with a Boolean saying so; no L known: null with a null flag
        XCTAssertTrue(obj["min_r_linear"] is NSNull)
        XCTAssertEqual(obj["min_r_linear_infinite"] as? Bool, true)
        XCTAssertTrue(obj["min_r_smooth"] is NSNull)
        XCTAssertTrue(obj["min_r_smooth_infinite"] is NSNull)
        XCTAssertEqual(obj["norm"] as? String, "l2")
        XCTAssertEqual(obj["delta_norm"] as? Double, 1.25)
        XCTAssertEqual(obj["adversarial_correct"] as? Bool, false)
        XCTAssertTrue(obj["fresh_adversarial_correct"] is NSNull)
    }
}
