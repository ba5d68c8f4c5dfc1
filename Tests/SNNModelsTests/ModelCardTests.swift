import XCTest
@testable import SNNModels

/// The MLP's parameterisation choices survive a save/load, and older cards still load.
final class ModelCardTests: XCTestCase {
    func testParameterisationRoundTrips() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("snn-card-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = MatrixGaussianMLP(sizes: [4, 3, 2], name: "t", inputScaling: .none, stochasticLayers: [true, false])
        m.initialise(seed: 1, mScale: 1, logStd: -3)
        var card = ModelCard(name: "t", architecture: .init(kind: MatrixGaussianMLP.kind, sizes: m.sizes, inputScaling: m.inputScaling.rawValue,
                                                           stochasticLayers: m.stochasticLayers),
                             input: .init(height: 2, width: 2, channels: 1), classes: 2)
        card.initialisation = .init(seed: 1, meanScale: 1, logStd: -3)
        try ModelStore.saveMLP(m, card: card, to: dir)
        let (loaded, readCard) = try ModelStore.load(dir)
        let mlp = try XCTUnwrap(loaded as? MatrixGaussianMLP)
        XCTAssertEqual(mlp.inputScaling, .none)
        XCTAssertEqual(mlp.stochasticLayers, [true, false])
        XCTAssertEqual(mlp.layers[0].inputScale, 1)
        XCTAssertEqual(readCard.initialisation?.logStd, -3)
        let json = try String(contentsOfFile: ModelStore.cardPath(dir), encoding: .utf8)
        XCTAssertTrue(json.contains("\"log_std\""), json)
        XCTAssertTrue(json.contains("\"input_scaling\" : \"1\""), json)
    }

    func testOlderCardsLoadWithTheirDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let json = #"{"format":"snn-model/1","name":"x","architecture":{"kind":"matrix-gaussian-mlp","sizes":[784,128,128,10]},"#
            + #""input":{"height":28,"width":28,"channels":1},"classes":10,"initialisation":{"seed":1,"mean_scale":1,"log_variance":-6}}"#
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("snn-oldcard-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try json.write(toFile: ModelStore.cardPath(dir), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: root + "/models/vmg-fmnist/weights.safetensors", toPath: ModelStore.weightsPath(dir))
        let (loaded, card) = try ModelStore.load(dir)
        let mlp = try XCTUnwrap(loaded as? MatrixGaussianMLP)
        XCTAssertEqual(mlp.inputScaling, .sqrtRows)
        XCTAssertEqual(mlp.stochasticLayers, [true, true, true])
        XCTAssertEqual(card.initialisation?.logStd, -6)
    }

    func testUnknownInputScalingIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("snn-badcard-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let json = #"{"format":"snn-model/1","name":"x","architecture":{"kind":"matrix-gaussian-mlp","sizes":[4,2],"input_scaling":"2"},"#
            + #""input":{"height":2,"width":2,"channels":1},"classes":2}"#
        try json.write(toFile: ModelStore.cardPath(dir), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ModelStore.load(dir)) { XCTAssertTrue("\($0)".contains("input_scaling"), "\($0)") }
    }
}
