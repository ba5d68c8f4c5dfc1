import ArgumentParser
import Foundation
import SNNData
import SNNModels
import SNNRobustness
@testable import snn

/// A fuzz target: a parser fed with arbitrary bytes. `run` must return for every input; errors
/// thrown by the parser are the expected outcome for bad input and are ignored here.
struct FuzzTarget: Sendable {
    let name: String
    var setUp: @Sendable () -> Void = {}
    let run: @Sendable ([UInt8]) -> Void

    static let all: [FuzzTarget] = [
        FuzzTarget(name: "idx-images", run: { readImages($0, format: .idx) }),
        FuzzTarget(name: "idx-labels", run: readLabels),
        FuzzTarget(name: "cifar10", run: { readImages($0, format: .cifar10) }),
        FuzzTarget(name: "npy", run: readNPY),
        FuzzTarget(name: "auto", run: { readImages($0, format: nil) }),
        FuzzTarget(name: "safetensors", setUp: makeScratch, run: readSafetensors),
        FuzzTarget(name: "model-json", setUp: makeModelDirectory, run: loadModel),
        FuzzTarget(name: "summarize", run: summarizeLines),
        FuzzTarget(name: "evaluate-flags", run: parseEvaluateFlags),
    ]
}

/// Largest image the harness reads records of (the CLI compares the shape with the model card
/// before reading; the largest card input is 3×32×32). Larger headers are still parsed.
private let maxHarnessPixels = 1 << 16

/// Images: gzip sniffed as by `snn evaluate`, the header read, then every record as bytes or as
/// Floats (alternating), then the end check.
private func readImages(_ bytes: [UInt8], format: ImageFormat?, layout: NPYLayout? = nil) {
    do {
        let source = try decompressingIfGzip(MemorySource(bytes, name: "<fuzz>", maxChunk: 1 + Int(bytes.first ?? 0) % 97))
        var stream = try openImageStream(source: source, format: format, layout: layout)
        let n = stream.pixelsPerImage
        guard n > 0, n <= maxHarnessPixels else { return }
        let raw = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
        let floats = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { raw.deallocate(); floats.deallocate() }
        var i = 0
        while true {
            let r = stream.valueType == .uint8 && i % 2 == 0 ? try stream.nextRawImage(into: raw) : try stream.nextImage(into: floats)
            if !r.available { break }
            // a CIFAR-10 label is the record's first byte; `snn evaluate` compares it with the model's classes
            if let label = r.label { precondition((0...255).contains(label), "label \(label) is not a byte") }
            i += 1
        }
        let atEnd = try stream.isAtEnd()
        precondition(atEnd, "isAtEnd false after the last record")
    } catch {}
}

/// Labels: `LabelStream` (IDX u8 or .npy) streamed to the end, and `IDXLabels.read` in one go.
private func readLabels(_ bytes: [UInt8]) {
    do {
        var labels = try LabelStream(source: decompressingIfGzip(MemorySource(bytes, name: "<fuzz>", maxChunk: 7)))
        while try labels.next() != nil {}
    } catch {}
    do {
        _ = try IDXLabels.read(source: decompressingIfGzip(MemorySource(bytes, name: "<fuzz>")))
    } catch {}
}

/// .npy: images in each layout choice (the first byte picks it), then the same bytes as labels.
private func readNPY(_ bytes: [UInt8]) {
    let layouts: [NPYLayout?] = [nil, .nhwc, .nchw]
    readImages(bytes, format: .npy, layout: layouts[Int(bytes.last ?? 0) % 3])
    readLabels(bytes)
}

nonisolated(unsafe) private var scratch = ""

/// A private directory for the targets that read files.
private func makeScratch() {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    var template = Array("\(base)/snn-fuzz.XXXXXX".utf8CString)
    guard let p = mkdtemp(&template) else { fatalError("snn-fuzz: cannot create a scratch directory") }
    scratch = String(cString: p)
    atexit { _ = try? FileManager.default.removeItem(atPath: scratch) }
}

/// safetensors: the input is the whole file; every tensor it lists is then read.
private func readSafetensors(_ bytes: [UInt8]) {
    let path = scratch + "/weights.safetensors"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    do {
        let file = try SafetensorsFile(path: path)
        for name in file.names {
            guard let info = file.info(name) else { preconditionFailure("listed tensor \(name) has no info") }
            if info.dtype == .f32 { _ = try file.floatArray(name, shape: info.shape) }
        }
    } catch {}
}

/// model.json: the input is the card of a directory whose weights are those of a tiny valid MLP
/// (2×2 inputs, 3 hidden units, 2 classes; its card is the seed Tests/Fuzz/corpus/model-json/mlp.json),
/// loaded as `snn evaluate --model` does; the card is also decoded alone.
private func makeModelDirectory() {
    makeScratch()
    let card = tinyCard()
    let model = MatrixGaussianMLP(sizes: [4, 3, 2], name: card.name)
    // the seed card must load, or the target would never reach the weights
    do { try ModelStore.saveMLP(model, card: card, to: scratch); _ = try ModelStore.load(scratch) } catch { fatalError("snn-fuzz: \(error)") }
}

func tinyCard() -> ModelCard {
    ModelCard(name: "fuzz-mlp", architecture: .init(kind: MatrixGaussianMLP.kind, sizes: [4, 3, 2]),
              input: .init(height: 2, width: 2, channels: 1), classes: 2)
}

private func loadModel(_ bytes: [UInt8]) {
    _ = FileManager.default.createFile(atPath: ModelStore.cardPath(scratch), contents: Data(bytes))
    _ = try? ModelCard.read(path: ModelStore.cardPath(scratch))
    _ = try? ModelStore.load(scratch)
}

/// The JSON lines `snn summarize` reads: split into lines, each a JSON object checked as a
/// result line, then summarized (with outcome vectors) and the summary built as for output.
private func summarizeLines(_ bytes: [UInt8]) {
    var lines: [(line: ResultLine, place: String)] = []
    var number = 0
    for raw in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
        number += 1
        if raw.isEmpty || raw.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
        let place = "fuzz:\(number)"
        guard let object = try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any] else { return }
        guard let line = try? ResultLine(json: object, where: place) else { return }
        lines.append((line, place))
    }
    guard let sums = try? LineSummarizer.summarize(lines, outcomes: true) else { return }
    let file = Summary.file(sums)
    precondition(JSONSerialization.isValidJSONObject(file), "summary is not serialisable")
    _ = sums.map(\.text)
}

/// `snn evaluate` flags: the input is the argument list, one argument per line; parsed by
/// swift-argument-parser with our ExpressibleByArgument types and Evaluate.validate().
private func parseEvaluateFlags(_ bytes: [UInt8]) {
    let args = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    guard args.count <= 64 else { return }
    _ = try? Evaluate.parse(args)
}
