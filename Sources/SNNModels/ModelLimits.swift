#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The stated limits on everything a model directory may declare (README, "Limits"). Every size
/// read from `model.json` or from the weights' metadata is checked against these before it is
/// multiplied or used to size memory, so no product of them can overflow an `Int`.
public enum ModelLimits {
    /// The only model-card and weights-metadata format this version reads.
    public static let format = "snn-model/1"
    /// `model.json` larger than this is refused (it is read whole).
    public static let maxCardBytes = 1 << 20
    /// Model names: 1…256 characters, no control characters (they start every JSON line).
    public static let maxNameCharacters = 256
    /// Image height and width (input and padded), in pixels.
    public static let maxImageSide = 4096
    /// Input channels.
    public static let maxChannels = 64
    /// Classes (at least 2).
    public static let maxClasses = 100_000
    /// Wide ResNet depth (6n + 4) and widen factor.
    public static let maxDepth = 1000
    public static let maxWiden = 64
    /// MLP layer width.
    public static let maxLayerWidth = 1 << 20
    /// MLP layers (entries of `architecture.sizes`).
    public static let maxLayers = 64
    /// Smoothing noise draws per model sample (1 ≤ n < 64).
    public static let maxNoiseSamples = 63

    /// Relative tolerance when a card's `smoothing.lipschitz` is compared with 2/variance.
    static let lipschitzTolerance = 1e-3
}

extension ModelCard {
    /// Checks the card's own fields against `ModelLimits` and for internal consistency.
    /// - Throws: `ModelError.badCard(path, …)` naming the field.
    public func validate(path: String) throws {
        func bad(_ why: String) -> ModelError { .badCard(path, why) }
        guard format == ModelLimits.format else {
            throw bad("format \"\(format)\" is not supported (this version reads \"\(ModelLimits.format)\")")
        }
        let scalars = name.unicodeScalars.count
        guard scalars >= 1, scalars <= ModelLimits.maxNameCharacters else {
            throw bad("name has \(scalars) characters; the limit is 1 to \(ModelLimits.maxNameCharacters)")
        }
        if let c = name.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) }) {
            throw bad("name contains the control character U+\(String(format: "%04X", c.value))")
        }
        try Self.check("input.height", input.height, 1, ModelLimits.maxImageSide, path)
        try Self.check("input.width", input.width, 1, ModelLimits.maxImageSide, path)
        try Self.check("input.channels", input.channels, 1, ModelLimits.maxChannels, path)
        try Self.check("classes", classes, 2, ModelLimits.maxClasses, path)
        let a = architecture
        if let sizes = a.sizes {
            guard sizes.count >= 2, sizes.count <= ModelLimits.maxLayers else {
                throw bad("architecture.sizes lists \(sizes.count) widths; the limit is 2 to \(ModelLimits.maxLayers)")
            }
            for (i, s) in sizes.enumerated() { try Self.check("architecture.sizes[\(i)]", s, 1, ModelLimits.maxLayerWidth, path) }
        }
        if let d = a.depth { try Self.check("architecture.depth", d, 10, ModelLimits.maxDepth, path) }
        if let w = a.widen { try Self.check("architecture.widen", w, 1, ModelLimits.maxWiden, path) }
        if let p = a.dropout, !(p >= 0 && p < 1) {
            throw bad("architecture.dropout must be in [0, 1), got \(p)")
        }
        if let padded = a.paddedTo {
            guard padded.count == 2 else { throw bad("architecture.padded_to must list a height and a width, got \(padded.count) numbers") }
            try Self.check("architecture.padded_to[0]", padded[0], input.height, ModelLimits.maxImageSide, path)
            try Self.check("architecture.padded_to[1]", padded[1], input.width, ModelLimits.maxImageSide, path)
        }
        try validateRecords(path: path)
        if let s = smoothing {
            guard s.variance > 0, s.variance.isFinite else {
                throw bad("smoothing.variance must be positive and finite, got \(s.variance)")
            }
            try Self.check("smoothing.noise_samples", s.noiseSamples, 1, ModelLimits.maxNoiseSamples, path)
            let expected = 2 / s.variance
            guard s.lipschitz > 0, s.lipschitz.isFinite,
                  abs(s.lipschitz - expected) <= ModelLimits.lipschitzTolerance * expected else {
                throw bad("smoothing.lipschitz must be 2/variance = \(expected) (L = 2/σ²), got \(s.lipschitz)")
            }
        }
    }

    /// The informative sections (`training`, `evaluation`) are printed by `snn info` and
    /// `--dry-run`: their numbers must be printable (finite, in range) and the accuracy keys
    /// sample counts.
    func validateRecords(path: String) throws {
        func bad(_ why: String) -> ModelError { .badCard(path, why) }
        if let t = training {
            guard t.seconds.isFinite, t.seconds >= 0, t.seconds <= 1e12 else {
                throw bad("training.seconds must be a finite number of seconds in 0…1e12, got \(t.seconds)")
            }
        }
        if let e = evaluation {
            for (key, value) in e.testAccuracyPercent {
                guard let s = Int(key), s >= 1 else {
                    throw bad("evaluation.test_accuracy_percent key \"\(key)\" is not a sample count (an integer ≥ 1)")
                }
                guard value.isFinite else { throw bad("evaluation.test_accuracy_percent[\"\(s)\"] is not finite") }
            }
        }
    }

    /// `lo ≤ value ≤ hi`, or a `badCard` error naming the field and the limit.
    static func check(_ field: String, _ value: Int, _ lo: Int, _ hi: Int, _ path: String) throws {
        guard value >= lo, value <= hi else {
            throw ModelError.badCard(path, "\(field) is \(value), outside the limit \(lo)…\(hi)")
        }
    }
}

/// What is at `path`, for messages: nil when it is a regular file.
/// - Throws: `ModelError.missingFile` when nothing is there.
func nonRegularFileKind(_ path: String) throws -> String? {
    var st = stat()
    guard stat(path, &st) == 0 else {
        if errno == ENOENT || errno == ENOTDIR { throw ModelError.missingFile(path) }
        throw ModelError.io(path, "cannot stat: \(String(cString: strerror(errno)))")
    }
    return fileKindDescription(st.st_mode)
}

/// "a directory", "a FIFO", … for a non-regular file mode; nil for a regular file.
func fileKindDescription(_ mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFREG: return nil
    case S_IFDIR: return "a directory"
    case S_IFIFO: return "a FIFO (named pipe)"
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    case S_IFSOCK: return "a socket"
    default: return "a special file"
    }
}
