import Foundation
import XCTest
import SNNRuntime
@testable import SNNModels

/// Issue 11: hostile model directories end in a typed error naming the field, never a trap.
/// The seed corpus (Fixtures/fuzz) holds the bundled models' model.json and weights headers; the
/// weights data are zeros of the right length (a finite model), so the directory is self-contained.
final class ModelLimitsTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz")
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("model-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    // MARK: helpers

    static func card(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: corpus.appendingPathComponent("\(name).model.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
    static func header(_ base: String) throws -> [UInt8] {
        Array(try Data(contentsOf: corpus.appendingPathComponent("\(base).header.json")))
    }
    /// Bytes of the data buffer the header describes (the largest end offset).
    static func dataLength(_ header: [UInt8]) throws -> Int {
        let object = try JSONSerialization.jsonObject(with: Data(header)) as! [String: Any]
        return object.values.compactMap { (($0 as? [String: Any])?["data_offsets"] as? [Int])?.last }.max() ?? 0
    }
    static func weights(header: [UInt8], dataLength: Int) -> Data {
        var d = Data((0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * $0)) })
        d.append(contentsOf: header)
        d.append(Data(count: dataLength))
        return d
    }
    /// A model directory from a card dictionary (or raw card bytes) and the zero weights of `base`.
    func modelDir(_ name: String, card: Any, base: String) throws -> String {
        let d = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        let cardData: Data
        if let raw = card as? Data { cardData = raw } else { cardData = try JSONSerialization.data(withJSONObject: card) }
        try cardData.write(to: d.appendingPathComponent("model.json"))
        let h = try Self.header(base)
        try Self.weights(header: h, dataLength: try Self.dataLength(h)).write(to: d.appendingPathComponent("weights.safetensors"))
        return d.path
    }
    func assertRefused(_ card: [String: Any], base: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try modelDir("m\(UUID().uuidString.prefix(8))", card: card, base: base)
        do {
            _ = try ModelStore.load(path)
            XCTFail("loaded a model that should be refused (\(text))", file: file, line: line)
        } catch let e as ModelError {
            XCTAssertTrue(e.description.contains(text), "\(e) lacks \(text)", file: file, line: line)
        }
    }

    // MARK: stated limits

    func testTheCorpusLoads() throws {
        for (name, base) in [("im-fmnist", "im-fmnist"), ("im-fmnist-smooth", "im-fmnist"), ("wrn-fmnist-p03", "wrn-fmnist-p03")] {
            let path = try modelDir(name, card: try Self.card(name), base: base)
            let (m, card) = try ModelStore.load(path)
            XCTAssertEqual(m.classCount, card.classes)
        }
    }

    func testCardFieldsBeyondTheirLimitsAreRefusedByName() throws {
        var c = try Self.card("im-fmnist")
        c["name"] = String(repeating: "n", count: 5000)
        try assertRefused(c, base: "im-fmnist", "name has 5000 characters; the limit is 1 to 256")
        c = try Self.card("im-fmnist"); c["name"] = "a\u{7}b"
        try assertRefused(c, base: "im-fmnist", "name contains the control character U+0007")
        c = try Self.card("im-fmnist"); c["input"] = ["height": 28, "width": 1 << 62, "channels": 1]
        try assertRefused(c, base: "im-fmnist", "input.width is 4611686018427387904, outside the limit 1…4096")
        c = try Self.card("im-fmnist"); c["format"] = "snn-model/2"
        try assertRefused(c, base: "im-fmnist", "format \"snn-model/2\" is not supported")
        c = try Self.card("im-fmnist-smooth"); c["smoothing"] = ["variance": 0.1, "noise_samples": 10, "lipschitz": -20]
        try assertRefused(c, base: "im-fmnist", "smoothing.lipschitz must be 2/variance")
        c = try Self.card("wrn-fmnist-p03")
        var a = c["architecture"] as! [String: Any]; a["dropout"] = 0.6; c["architecture"] = a
        try assertRefused(c, base: "wrn-fmnist-p03", "architecture.dropout is 0.6 but the weights were made with dropout = 0.3")
        a["dropout"] = 0.3; a["widen"] = 0; c["architecture"] = a
        try assertRefused(c, base: "wrn-fmnist-p03", "architecture.widen is 0, outside the limit 1…64")
    }

    func testWeightsMetadataSizesAreBounded() throws {
        let card = try Self.card("wrn-fmnist-p03")
        for value in ["100000", "3037000500", "4611686018427387904"] {
            var object = try JSONSerialization.jsonObject(with: Data(try Self.header("wrn-fmnist-p03"))) as! [String: Any]
            var meta = object["__metadata__"] as! [String: String]; meta["padded_height"] = value; object["__metadata__"] = meta
            var c = card; var a = c["architecture"] as! [String: Any]; a["padded_to"] = nil; c["architecture"] = a
            let path = try modelDir("pad\(value)", card: c, base: "wrn-fmnist-p03")
            let h = Array(try JSONSerialization.data(withJSONObject: object))
            try Self.weights(header: h, dataLength: try Self.dataLength(h)).write(to: URL(fileURLWithPath: ModelStore.weightsPath(path)))
            XCTAssertThrowsError(try ModelStore.load(path)) { e in
                XCTAssertTrue("\(e)".contains("metadata \"padded_height\" is \(value), outside the limit 28…4096"), "\(e)")
            }
        }
    }

    func testAFIFOIsRefusedWithoutWaitingForAWriter() throws {
        let path = dir.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { e in XCTAssertTrue("\(e)".contains("is a FIFO (named pipe), not a regular file"), "\(e)") }
        XCTAssertThrowsError(try ModelCard.read(path: path)) { e in XCTAssertTrue("\(e)".contains("not a regular file"), "\(e)") }
        XCTAssertThrowsError(try ModelCard.read(path: dir.path)) { e in XCTAssertTrue("\(e)".contains("is a directory, not a regular file"), "\(e)") }
    }

    // MARK: fuzz (deterministic seeds, bounded iterations)

    static var hostileValues: [Any] { [0, -1, 1, 2, 3, 10, 28, 32, 4096, 4097, 1 << 31, 3_037_000_500, 1 << 62, Int.max, Int.min,
                                       -0.0, 0.5, 1.5, 1e30, -1e30, 1e308, "", "x", String(repeating: "\u{1}", count: 300),
                                       "snn-model/2", "wide-resnet", "matrix-gaussian-mlp", NSNull(), [Any](), [String: Any](), true,
                                       [784, 128, 128, 10], [32, 32], [1 << 62, 1 << 62]] }

    /// Replaces (or deletes) one random leaf or member of a parsed JSON value.
    static func mutate(_ value: Any, _ rng: inout SplitMix64, depth: Int = 0) -> Any? {
        if var object = value as? [String: Any], !object.isEmpty, depth < 4, rng.below(4) != 0 {
            let key = object.keys.sorted()[rng.below(object.count)]
            object[key] = mutate(object[key]!, &rng, depth: depth + 1)
            return object
        }
        if var array = value as? [Any], !array.isEmpty, depth < 4, rng.below(4) != 0 {
            let i = rng.below(array.count)
            if let v = mutate(array[i], &rng, depth: depth + 1) { array[i] = v } else { array.remove(at: i) }
            return array
        }
        if rng.below(8) == 0 { return nil }   // delete the member
        return hostileValues[rng.below(hostileValues.count)]
    }

    /// Byte-level damage to JSON text: flips, cuts, duplicated spans and inserted tokens.
    static func damage(_ bytes: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = bytes
        let tokens = ["\"", "{", "}", "[", "]", ",", ":", "-1", "99999999999999999999", "1e3", "\"F32\"", "null", "\\u0000"]
        for _ in 0..<(1 + rng.below(3)) where !b.isEmpty {
            let i = rng.below(b.count)
            switch rng.below(4) {
            case 0: b[i] ^= UInt8(1 << rng.below(8))
            case 1: b.removeSubrange(i..<min(b.count, i + 1 + rng.below(16)))
            case 2: let j = min(b.count, i + rng.below(32)); b.insert(contentsOf: b[i..<j], at: rng.below(b.count))
            default: b.insert(contentsOf: Array(tokens[rng.below(tokens.count)].utf8), at: i)
            }
        }
        return b
    }

    /// Loading must give a model consistent with its card or one of the typed errors.
    /// Returns whether it loaded.
    @discardableResult
    func assertLoadsOrRefuses(_ path: String, _ what: String) -> Bool {
        do {
            let (m, card) = try ModelStore.load(path)
            XCTAssertEqual(m.classCount, card.classes, what)
            XCTAssertEqual(m.inputSize, card.input.height * card.input.width * card.input.channels, what)
            return true
        } catch is ModelError {
        } catch is SafetensorsError {
        } catch is AllocationFailure {
        } catch is OutOfBudget {
        } catch { XCTFail("\(what): untyped error \(error)") }
        return false
    }

    func testFuzzedModelCardsLoadOrGiveATypedError() throws {
        var rng = SplitMix64(seed: 11)
        var loaded = 0, refused = 0
        for (name, base) in [("im-fmnist", "im-fmnist"), ("im-fmnist-smooth", "im-fmnist"), ("vmg-fmnist", "im-fmnist"),
                             ("wrn-fmnist-p03", "wrn-fmnist-p03"), ("wrn-fmnist-p06", "wrn-fmnist-p03")] {
            let original = try Self.card(name)
            let path = try modelDir(name, card: original, base: base)
            let cardURL = URL(fileURLWithPath: ModelStore.cardPath(path))
            for i in 0..<60 {
                let data: Data
                if i % 3 == 2 {
                    data = Data(Self.damage(Array(try JSONSerialization.data(withJSONObject: original, options: .sortedKeys)), &rng))
                } else {
                    var card: Any = original
                    for _ in 0..<(1 + rng.below(2)) { card = Self.mutate(card, &rng) ?? original }
                    data = JSONSerialization.isValidJSONObject(card) ? try JSONSerialization.data(withJSONObject: card) : Data("[1]".utf8)
                }
                try data.write(to: cardURL)
                if assertLoadsOrRefuses(path, "\(name) card mutation \(i): \(String(decoding: data.prefix(300), as: UTF8.self))") {
                    loaded += 1
                } else { refused += 1 }
            }
        }
        // the mutations reach both outcomes (informative fields change, sizes break)
        XCTAssertGreaterThan(loaded, 10); XCTAssertGreaterThan(refused, 10)
    }

    func testFuzzedSafetensorsHeadersOpenOrGiveATypedError() throws {
        var rng = SplitMix64(seed: 12)
        var opened = 0, refused = 0
        for (name, base) in [("im-fmnist", "im-fmnist"), ("wrn-fmnist-p03", "wrn-fmnist-p03")] {
            let path = try modelDir(name, card: try Self.card(name), base: base)
            let weightsURL = URL(fileURLWithPath: ModelStore.weightsPath(path))
            let header = try Self.header(base)
            let length = try Self.dataLength(header)
            let object = try JSONSerialization.jsonObject(with: Data(header)) as! [String: Any]
            for i in 0..<120 {
                let h: [UInt8]
                if i % 3 == 0 {
                    h = Self.damage(header, &rng)
                } else if i % 3 == 1, var meta = object["__metadata__"] as? [String: String] {
                    // a valid header whose metadata strings are hostile (sizes, numbers, versions)
                    let strings = ["0", "-1", "1e400", "nan", "inf", "4096", "100000", "3037000500", "4611686018427387904",
                                   "0.6", "0.3", "-0.1", "x", "", "snn-model/2", "wide-resnet", "10", "16", "1,2,3", "0,0"]
                    let key = meta.keys.sorted()[rng.below(meta.count)]
                    meta[key] = strings[rng.below(strings.count)]
                    var o = object; o["__metadata__"] = meta
                    h = Array(try JSONSerialization.data(withJSONObject: o))
                } else {
                    let mutated = Self.mutate(object, &rng) ?? object
                    h = JSONSerialization.isValidJSONObject(mutated) ? Array(try JSONSerialization.data(withJSONObject: mutated)) : Array("[1]".utf8)
                }
                let data = Self.weights(header: h, dataLength: length + (i % 3 == 2 && rng.below(4) == 0 ? rng.below(9) - 4 : 0))
                try data.write(to: weightsURL)
                let what = "\(name) header mutation \(i): \(String(decoding: h.prefix(200), as: UTF8.self))"
                do {
                    let file = try SafetensorsFile(path: weightsURL.path)
                    for n in file.names { _ = try? file.floatArray(n) }
                    opened += 1
                } catch is SafetensorsError { refused += 1
                } catch { XCTFail("\(what): untyped error \(error)") }
                assertLoadsOrRefuses(path, what)
            }
        }
        XCTAssertGreaterThan(opened, 10); XCTAssertGreaterThan(refused, 10)
    }
}
