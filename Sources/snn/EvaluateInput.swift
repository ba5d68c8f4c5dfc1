import SNNData
import ArgumentParser
import SNNModels
import SNNRobustness

/// The images on stdin and their labels for `snn evaluate`, read one record (and one label) at a
/// time: the format is given or sniffed, the image shape is checked against the model card, and
/// the label count against the image count before the first record; once the images are read,
/// the end of both streams is checked (unless `--limit` stopped the reading on purpose).
struct EvaluationInput: EvaluationSource {
    var stream: any ImageStream
    var labels: LabelStream?
    /// Named in label errors: the label file, or the image stream when the records carry labels.
    let labelSource: String
    /// Bytes one stored value takes in the staging buffer: 1 (raw bytes) or 4 (Floats).
    let bytesPerValue: Int

    /// Opens stdin. Usage problems (labels missing or refused, a layout for another format) end the
    /// run through `usage` (exit 2); data problems are thrown (exit 1).
    static func open(format: ImageFormat?, layout: NPYLayout?, labelsPath: String?, card: ModelCard,
                     usage: (String) -> Never) throws -> EvaluationInput {
        let bytes = try openByteStream(path: nil)
        let input = bytes as? BufferedReader ?? BufferedReader(bytes)
        let detected = try format ?? ImageFormat.detect(input)
        let what = detected == .npy ? "NPY" : "IDX"
        if detected != .cifar10 && labelsPath == nil {
            usage("--labels is required for \(what) images (stdin holds \(what) images)")
        }
        if detected == .cifar10, labelsPath != nil { usage(Evaluate.labelsRefused + " (stdin holds CIFAR-10 records)") }
        if layout != nil && detected != .npy { usage("--layout applies to .npy images only (stdin holds \(detected.rawValue))") }
        let stream = try openImageStream(source: input, format: detected, layout: layout)
        let want = card.input
        guard (stream.channels, stream.height, stream.width) == (want.channels, want.height, want.width) else {
            let unit = stream.channels == 1 ? "pixels" : "values"
            let expected = want.channels == 1 ? "\(want.height)×\(want.width)" : "\(want.channels)×\(want.height)×\(want.width)"
            throw DataFailure(message: "\(stream.name): images are \(stream.shapeDescription) (\(stream.pixelsPerImage) \(unit)) "
                              + "but model \(card.name) expects \(expected) images (\(want.channels * want.height * want.width) inputs)")
        }
        var labels: LabelStream? = nil
        if let labelsPath {
            let l = try LabelStream(path: labelsPath)
            if let n = stream.declaredCount, n != l.count {
                throw DataError.countMismatch(name: l.name, declared: l.count, expected: n)
            }
            labels = l
        }
        return EvaluationInput(stream: stream, labels: labels, labelSource: labelsPath ?? stream.name,
                               bytesPerValue: stream.valueType == .float32 ? 4 : 1)
    }

    /// Reads the next image into `slot` (raw bytes or Floats, see `bytesPerValue`) and returns its
    /// label; nil at the end of the images.
    mutating func next(into slot: UnsafeMutableRawPointer, index: Int) throws -> Int? {
        let read: ImageRead
        if bytesPerValue == 4 {
            read = try stream.nextImage(into: slot.assumingMemoryBound(to: Float.self))
        } else {
            read = try stream.nextRawImage(into: slot.assumingMemoryBound(to: UInt8.self))
        }
        guard read.available else { return nil }
        if let label = read.label { return label }
        guard let label = try labels?.next() else {
            throw DataFailure(message: "\(labelSource): no label for record \(index) (the file ends after \(index) labels)")
        }
        return label
    }

    /// After the last image read: true when the run was limited (images remain, unread and
    /// unchecked); otherwise checks that the images and the labels end here (no trailing byte,
    /// gzip trailers intact) and returns false.
    mutating func finish() throws -> Bool {
        guard try stream.isAtEnd() else { return true }
        if var l = labels {
            defer { labels = l }
            if try !l.isAtEnd() {
                throw DataFailure(message: "\(l.name): \(l.count) labels for \(l.recordsRead) images")
            }
        }
        return false
    }

    /// Reading stdin would not block (EvaluationSource: a batch ends early otherwise).
    func isReady() -> Bool { stdinReady() }

    /// A stream error in words: the typed errors of `EvaluationStream` name the label source and
    /// the model; read errors pass through.
    func describe(_ error: Error, model: String) -> Error {
        guard let e = error as? EvaluationStreamError else { return error }
        switch e {
        case .labelOutOfRange(let record, let label, let classes):
            return DataFailure(message: "\(labelSource): record \(record) has label \(label), but the model has \(classes) classes")
        case .labelIsTarget(let record, let label, let target):
            return DataFailure(message: "\(labelSource): record \(record) has label \(label), the same as --target \(target): "
                               + "a targeted attack needs another class (use --target next for (label + 1) mod classes)")
        case .nonFinite(let image, let field, let c, let nc):
            return DataFailure(message: "image \(image): model \(model) gives a non-finite \(field) "
                               + "(configuration \(c + 1) of \(nc)); no line is written for it and the run stops")
        case .lineTooLong(let image, let capacity):
            return DataFailure(message: "image \(image): its JSON line does not fit the \(capacity)-byte line buffer")
        }
    }
}


extension NPYLayout: ExpressibleByArgument {}

/// The summary JSON; a run that `--limit` stopped before the end of the stream says so with
/// `"input": {"limited": true}` (its stream's end was not checked).
func summaryFile(_ sums: [Summary], limited: Bool, incomplete reason: String? = nil) -> [String: Any] {
    var file = Summary.file(sums, incomplete: reason)
    if limited { file["input"] = ["limited": true] }
    return file
}
