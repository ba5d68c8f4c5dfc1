import Foundation
import XCTest
@testable import SNNRobustness

/// Issue 11: a long run prefix (a long model name) must not overflow the line buffer.
final class JSONLineWriterLimitTests: XCTestCase {
    func testABufferSizedFromAPrefixHoldsTheWholeLine() throws {
        let name = String(repeating: "\u{1}", count: 3000)     // 6 bytes each once escaped
        var config = EvaluationConfig(eta: 1.5, attackSamples: 10, inferenceSamples: 100, seed: 0)
        config.varianceSamples = 5
        let prefix = RunConstants(model: name, classes: 10, config: config, lipschitz: 20).linePrefix
        XCTAssertGreaterThan(prefix.count, 18_000)
        var w = JSONLineWriter(prefix: prefix); defer { w.deallocate() }
        var r = ImageResult()
        r.index = Int.max; r.label = 9; r.eta = -.greatestFiniteMagnitude; r.attackPrediction = 3; r.adversarialPrediction = 2
        r.deltaNorm = .leastNonzeroMagnitude; r.extremeSamples = Int.max
        r.write(to: &w)
        XCTAssertFalse(w.overflowed)
        let line = Data(UnsafeBufferPointer(start: w.bytes, count: w.count))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        XCTAssertEqual(object["model"] as? String, name)
        XCTAssertEqual(object["index"] as? Int, Int.max)
    }

    func testALineThatDoesNotFitIsFlaggedNotATrap() {
        var w = JSONLineWriter(capacity: 64); defer { w.deallocate() }
        ImageResult().write(to: &w)
        XCTAssertTrue(w.overflowed)
        XCTAssertEqual(w.count, 64)
        w.prefix = []
        var tiny = JSONLineWriter(capacity: 4096); defer { tiny.deallocate() }
        ImageResult().write(to: &tiny)
        XCTAssertFalse(tiny.overflowed)
    }
}
