import XCTest
import SNNRuntime

/// The reservations of the counter space (RandomReservations) do not overlap: no two uses can
/// read the same random numbers.
final class RandomReservationTests: XCTestCase {
    func testTensorRangesAreDisjointAndFitTheCounter() {
        var owner: [Int: String] = [:]
        func claim(_ t: Int, _ what: String) {
            XCTAssertTrue(t >= 0 && t < 1024, "\(what): tensor \(t) outside the counter's 10 bits")
            if let other = owner[t] { XCTFail("tensor \(t) claimed by \(other) and \(what)") }
            owner[t] = what
        }
        for l in 0..<RandomReservations.layerTensors { claim(l, "layer/block \(l)") }
        for role in RandomRole.allCases {
            for j in 0..<RandomReservations.noiseDrawsPerRole { claim(RandomReservations.smoothingNoise(role: role, draw: j), "noise \(role) \(j)") }
        }
        for l in 0..<RandomReservations.layerTensors {
            claim(RandomReservations.lazyProducts(layer: l), "lazy products \(l)")
            claim(RandomReservations.lazyRest(layer: l), "lazy rest \(l)")
        }
        XCTAssertEqual(owner.count, RandomReservations.layerTensors * 3 + RandomRole.allCases.count * RandomReservations.noiseDrawsPerRole)
    }

    func testSentinelsAndStepFields() {
        XCTAssertNotEqual(RandomReservations.sharedImage, RandomReservations.trainerImage)
        XCTAssertNotEqual(RandomReservations.mlpInitStep, RandomReservations.wideResNetInitStep)
        // PGD steps and set streams share the 24-bit step field without overlapping; the
        // initialisation steps lie beyond every (step, stream) pair evaluation uses (stream < 255)
        XCTAssertEqual(RandomReservations.step(0xFFFF, stream: 0), 0xFFFF)
        XCTAssertEqual(RandomReservations.step(0, stream: 3), 3 << 16)
        XCTAssertEqual(RandomReservations.step(7, stream: 2), 2 << 16 | 7)
        XCTAssertLessThan(RandomReservations.step(0xFFFF, stream: 254), RandomReservations.wideResNetInitStep)
        XCTAssertLessThan(RandomReservations.mlpInitStep, 1 << 24)
    }
}
