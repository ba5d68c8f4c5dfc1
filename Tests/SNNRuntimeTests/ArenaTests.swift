import XCTest
@testable import SNNRuntime

final class ArenaTests: XCTestCase {
    func testAlignmentMarkReset() throws {
        let arena = Arena(capacity: 1024)
        let a = try arena.floats(3)
        XCTAssertEqual(Int(bitPattern: a) % 64, 0)
        let mark = arena.mark()
        let b = try arena.floats(20)
        XCTAssertEqual(Int(bitPattern: b) % 64, 0)
        XCTAssertEqual(arena.used, 64 + 128)
        arena.reset(to: mark)
        XCTAssertEqual(arena.used, 64)
        XCTAssertEqual(arena.highWater, 192)
    }

    func testOverflowNamesTheSizeNeeded() throws {
        let arena = Arena(capacity: 256)
        _ = try arena.floats(40)  // 160 → 192 bytes
        XCTAssertThrowsError(try arena.floats(100, for: "activations")) { error in
            guard let e = error as? OutOfBudget else { return XCTFail("wrong error \(error)") }
            XCTAssertEqual(e.needed, 192 + 448)
            XCTAssertEqual(e.budget, 256)
            XCTAssertTrue(e.description.contains("activations"))
            XCTAssertTrue(e.description.contains("640 bytes"))
        }
        XCTAssertEqual(arena.used, 192)  // a failed request takes nothing
    }

    func testByteCountParsing() {
        XCTAssertEqual(ByteCount.parse("123"), 123)
        XCTAssertEqual(ByteCount.parse("64K"), 64_000)
        XCTAssertEqual(ByteCount.parse("64KiB"), 65_536)
        XCTAssertEqual(ByteCount.parse("1.5M"), 1_500_000)
        XCTAssertEqual(ByteCount.parse("2GiB"), 2 << 30)
        XCTAssertEqual(ByteCount.parse("3mib"), 3 << 20)
        XCTAssertNil(ByteCount.parse("abc"))
        XCTAssertNil(ByteCount.parse("-5"))
        XCTAssertNil(ByteCount.parse("12Q"))
        XCTAssertNil(ByteCount.parse(""))
    }

    func testAllocationCounterSeesArrays() {
        let bytes = AllocationCounter.bytesAllocated {
            let a = [Int](repeating: 1, count: 1000)
            XCTAssertEqual(a.count, 1000)
        }
        XCTAssertGreaterThanOrEqual(bytes, 8000)
        let none = AllocationCounter.bytesAllocated { var s = 0; for i in 0..<100 { s &+= i }; XCTAssertEqual(s, 4950) }
        XCTAssertEqual(none, 0)
    }

    func testWorkerPoolRunsEveryIndex() {
        let pool = WorkerPool(count: 3)
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        hits.initialize(repeating: 0, count: 3)
        for _ in 0..<50 { pool.run { w in hits[w] += 1 } }
        XCTAssertEqual([hits[0], hits[1], hits[2]], [50, 50, 50])
        hits.deallocate()
    }
}
