import XCTest
@testable import SNNRuntime

/// Issue 11: an arena that cannot be had is a typed error, checked against physical memory first.
final class ArenaLimitTests: XCTestCase {
    func testAnArenaBeyondPhysicalMemoryIsATypedError() throws {
        let physical = try XCTUnwrap(Arena.physicalMemory)
        XCTAssertGreaterThan(physical, 1 << 20)
        XCTAssertThrowsError(try Arena(reserving: 100_000_000_000_000, for: "--memory-budget 100000G")) { e in
            let failure = e as? AllocationFailure
            XCTAssertEqual(failure?.requested, 100_000_000_000_000)
            XCTAssertTrue("\(e)".hasPrefix("cannot allocate --memory-budget 100000G: 100000000000000 bytes (90.9 TiB) were asked, more than the machine's physical memory"), "\(e)")
        }
        XCTAssertThrowsError(try Arena(reserving: -1, for: "x")) { XCTAssertTrue($0 is AllocationFailure) }
        let small = try Arena(reserving: 4096, for: "small")
        XCTAssertEqual(small.capacity, 4096)
        _ = try small.floats(1000)
    }
}
