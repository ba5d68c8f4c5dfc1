import XCTest
import SNNModels
import SNNRobustness
import SNNRuntime

/// The library's stream driver (`EvaluationStream`) against the per-image `Evaluator`: the same
/// lines in input order, whatever the thread count, the shard or a slow producer; a bad record
/// stops the stream with a typed error after the lines before it.
final class EvaluationStreamTests: XCTestCase {
    /// Images and labels from arrays, Floats in the slots; `readyEvery` > 0 makes the source say
    /// "not ready" after every readyEvery-th record (a slow producer: batches end early).
    struct ArraySource: EvaluationSource {
        let images: [[Float]], labels: [Int]
        var readyEvery = 0
        var position = 0
        var finished = false
        var bytesPerValue: Int { 4 }
        mutating func next(into slot: UnsafeMutableRawPointer, index: Int) throws -> Int? {
            guard position < images.count else { return nil }
            images[position].withUnsafeBufferPointer {
                slot.assumingMemoryBound(to: Float.self).update(from: $0.baseAddress!, count: $0.count)
            }
            position += 1
            return labels[index]
        }
        func isReady() -> Bool { readyEvery == 0 || position % readyEvery != 0 }
        mutating func finish() throws -> Bool { finished = true; return position < images.count }
    }

    func configs() -> [EvaluationConfig] {
        [Float(0.5), 1.5].flatMap { eta in
            [1, 3].map { sa -> EvaluationConfig in
                var c = EvaluationConfig(eta: eta, attackSamples: sa, inferenceSamples: 4, seed: 3)
                c.countExtreme = true
                return c
            }
        }
    }

    func lines(_ stream: EvaluationStream, _ source: inout ArraySource, limit: Int? = nil,
               shard: (Int, Int) = (0, 1)) -> ([String], EvaluationStream.Outcome) {
        var out: [String] = []
        let outcome = stream.run(&source, limit: limit, shard: shard, line: { p, n in
            out.append(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        })
        return (out, outcome)
    }

    func testLinesMatchThePerImageEvaluatorForAnyThreadsAndShards() throws {
        let (images, labels) = try EndToEndTests.loadImages(10)
        let model = try EndToEndTests.loadModel()
        let configs = configs()
        // the expected lines: one Evaluator, image by image
        let e = try Evaluator(model: model, configs: configs, arena: Arena(capacity: Evaluator.memoryPlan(model: model, configs: configs).bytes))
        let results = UnsafeMutablePointer<ImageResult>.allocate(capacity: configs.count)
        results.initialize(repeating: ImageResult(), count: configs.count)
        defer { results.deallocate() }
        var w = JSONLineWriter(prefix: RunConstants(model: "im", classes: 10, config: configs[0], lipschitz: nil).linePrefix)
        defer { w.deallocate() }
        var expected: [String] = []
        for i in 0..<10 {
            e.input.update(from: images[i], count: 784)
            e.evaluate(index: i, label: Int(labels[i]), into: results)
            for c in configs.indices {
                results[c].write(to: &w)
                expected.append(String(decoding: UnsafeBufferPointer(start: w.bytes, count: w.count), as: UTF8.self))
            }
        }
        let labelList = labels.map(Int.init)
        for (threads, readyEvery) in [(1, 0), (2, 0), (2, 3)] {
            let stream = try EvaluationStream(model: model, configs: configs, modelName: "im", threads: threads)
            var source = ArraySource(images: images, labels: labelList, readyEvery: readyEvery)
            let (got, outcome) = lines(stream, &source)
            XCTAssertEqual(got, expected, "threads \(threads), ready every \(readyEvery)")
            XCTAssertNil(outcome.error)
            XCTAssertEqual(outcome.evaluated, 10); XCTAssertEqual(outcome.read, 10)
            XCTAssertFalse(outcome.limited); XCTAssertTrue(source.finished)
            XCTAssertEqual(stream.summaries.count, configs.count)
        }
        // shard 1 of 3: images 1, 4, 7 only; a limit of 8 leaves records unread
        let stream = try EvaluationStream(model: model, configs: configs, modelName: "im", threads: 2)
        var source = ArraySource(images: images, labels: labelList)
        let (got, outcome) = lines(stream, &source, limit: 8, shard: (1, 3))
        let n = configs.count
        XCTAssertEqual(got, [1, 4, 7].flatMap { expected[($0 * n)..<($0 * n + n)] })
        XCTAssertEqual(outcome.evaluated, 3); XCTAssertEqual(outcome.read, 8); XCTAssertTrue(outcome.limited)
    }

    func testBadLabelStopsAfterTheLinesBeforeIt() throws {
        let (images, labels) = try EndToEndTests.loadImages(6)
        let model = try EndToEndTests.loadModel()
        var labelList = labels.map(Int.init)
        labelList[4] = 10
        let configs = [EvaluationConfig(eta: 1, attackSamples: 2, inferenceSamples: 2, seed: 1)]
        let stream = try EvaluationStream(model: model, configs: configs, modelName: "im", threads: 2)
        var source = ArraySource(images: images, labels: labelList)
        let (got, outcome) = lines(stream, &source)
        XCTAssertEqual(got.count, 4)
        XCTAssertEqual(outcome.evaluated, 4)
        XCTAssertEqual(outcome.error as? EvaluationStreamError, .labelOutOfRange(record: 4, label: 10, classes: 10))
        XCTAssertFalse(source.finished, "the end of the input is not checked after an error")
        XCTAssertEqual(stream.summaries[0].n, 4)

        // a fixed target equal to a label
        var targeted = configs[0]
        targeted.attack.target = .fixed(labelList[2])
        let t = try EvaluationStream(model: model, configs: [targeted], modelName: "im", threads: 1)
        var s2 = ArraySource(images: images, labels: labels.map(Int.init))
        let (_, o2) = lines(t, &s2)
        let firstClash = labels.firstIndex { Int($0) == labelList[2] }!
        XCTAssertEqual(o2.error as? EvaluationStreamError, .labelIsTarget(record: firstClash, label: labelList[2], target: labelList[2]))
        XCTAssertEqual(o2.evaluated, firstClash)
    }

    func testBudgetBelowTheMemoryPlanIsRefused() throws {
        let model = try EndToEndTests.loadModel()
        let configs = configs()
        let need = EvaluationMemory(model: model, configs: configs, threads: 2, shareChunk: 100, keepAdversarial: false).total
        XCTAssertThrowsError(try EvaluationStream(model: model, configs: configs, modelName: "im", threads: 2, budget: need - 1)) { error in
            XCTAssertEqual((error as? OutOfBudget)?.needed, need)
        }
    }
}
