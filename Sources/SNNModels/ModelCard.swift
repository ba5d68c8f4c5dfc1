import Foundation

/// `models/<name>/model.json`: what the model is, how it was trained and what it measured.
/// Keys are snake_case on disk.
public struct ModelCard: Codable, Equatable {
    public struct Architecture: Codable, Equatable {
        public var kind: String            // "matrix-gaussian-mlp"
        public var sizes: [Int]?           // MLP layer widths, e.g. [784, 128, 128, 10]
        /// Wide ResNet: depth 6n + 4, widen factor, dropout probability, input padded to this size
        /// (informative: the weights file's metadata is what `snn` loads).
        public var depth: Int?, widen: Int?, dropout: Double?, paddedTo: [Int]?
        /// MLP: the input scale s of x̃ = [x, 1]·s, "1/sqrt(r)" (when absent) or "1".
        public var inputScaling: String?
        /// MLP: per weight layer, sampled (true) or deterministic W = M (false); absent = all sampled.
        public var stochasticLayers: [Bool]?
        public init(kind: String, sizes: [Int]? = nil, depth: Int? = nil, widen: Int? = nil, dropout: Double? = nil, paddedTo: [Int]? = nil,
                    inputScaling: String? = nil, stochasticLayers: [Bool]? = nil) {
            self.kind = kind; self.sizes = sizes; self.depth = depth; self.widen = widen; self.dropout = dropout; self.paddedTo = paddedTo
            self.inputScaling = inputScaling; self.stochasticLayers = stochasticLayers
        }
    }
    public struct Input: Codable, Equatable {
        public var height: Int, width: Int, channels: Int
        public init(height: Int, width: Int, channels: Int) { self.height = height; self.width = width; self.channels = channels }
    }
    public struct Smoothing: Codable, Equatable {
        public var variance: Double        // σ²
        public var noiseSamples: Int       // noise draws per model sample
        public var lipschitz: Double       // L = 2/σ² (Yang et al. 2022)
        public init(variance: Double, noiseSamples: Int, lipschitz: Double) {
            self.variance = variance; self.noiseSamples = noiseSamples; self.lipschitz = lipschitz
        }
    }
    public struct Initialisation: Codable, Equatable {
        public var seed: UInt64
        public var meanScale: Double       // M ~ N(0, mean_scale² / (r s²))
        public var logStd: Double          // log(√u_i √v_j) at start: every weight's log std
        public init(seed: UInt64, meanScale: Double, logStd: Double) {
            self.seed = seed; self.meanScale = meanScale; self.logStd = logStd
        }
        enum CodingKeys: String, CodingKey { case seed, meanScale, logStd, logVariance }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            seed = try c.decode(UInt64.self, forKey: .seed)
            meanScale = try c.decode(Double.self, forKey: .meanScale)
            // cards before 2026-12 named the log std "log_variance" (it always was the log std)
            logStd = try c.decodeIfPresent(Double.self, forKey: .logStd) ?? c.decode(Double.self, forKey: .logVariance)
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(seed, forKey: .seed); try c.encode(meanScale, forKey: .meanScale); try c.encode(logStd, forKey: .logStd)
        }
    }
    public struct Training: Codable, Equatable {
        public var objective: String       // "elbo" | "im"
        public var dataset: String
        public var epochs: Int
        public var batchSize: Int
        public var samples: Int
        public var optimizer: String
        public var learningRate: Double
        public var seed: UInt64
        public var seconds: Double
        public var threads: Int
        public var notes: String?
        /// Factor of KL/N in the objective (1 = the ELBO; absent in older cards = 1).
        public var klWeight: Double?
        public init(objective: String, dataset: String, epochs: Int, batchSize: Int, samples: Int, optimizer: String,
                    learningRate: Double, seed: UInt64, seconds: Double, threads: Int, notes: String?) {
            self.objective = objective; self.dataset = dataset; self.epochs = epochs; self.batchSize = batchSize
            self.samples = samples; self.optimizer = optimizer; self.learningRate = learningRate; self.seed = seed
            self.seconds = seconds; self.threads = threads; self.notes = notes
        }
    }
    public struct Evaluation: Codable, Equatable {
        public var images: Int
        public var seed: UInt64
        /// inference samples (as a string key) → test accuracy in percent
        public var testAccuracyPercent: [String: Double]
        public var meanPredictionVariance: Double?
        public var varianceSamples: Int?
        public var extremePredictions: Int?
        public init(images: Int, seed: UInt64, testAccuracyPercent: [String: Double], meanPredictionVariance: Double?,
                    varianceSamples: Int?, extremePredictions: Int?) {
            self.images = images; self.seed = seed; self.testAccuracyPercent = testAccuracyPercent
            self.meanPredictionVariance = meanPredictionVariance; self.varianceSamples = varianceSamples
            self.extremePredictions = extremePredictions
        }
    }

    public var format: String
    public var name: String
    public var architecture: Architecture
    public var input: Input
    public var classes: Int
    public var smoothing: Smoothing?
    public var initialisation: Initialisation?
    public var training: Training?
    public var evaluation: Evaluation?

    public init(name: String, architecture: Architecture, input: Input, classes: Int) {
        format = "snn-model/1"; self.name = name; self.architecture = architecture; self.input = input; self.classes = classes
    }

    /// Reads and validates `path` (a regular file of at most `ModelLimits.maxCardBytes`; fields
    /// within `ModelLimits`, see `validate(path:)`).
    public static func read(path: String) throws -> ModelCard {
        if let kind = try nonRegularFileKind(path) {
            throw ModelError.notRegularFile(path, kind)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ModelError.io(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: ModelLimits.maxCardBytes + 1) ?? Data() } catch {
            throw ModelError.io(path, "cannot read: \(String(cString: strerror(errno)))")
        }
        guard data.count <= ModelLimits.maxCardBytes else {
            throw ModelError.badCard(path, "larger than the limit of \(ModelLimits.maxCardBytes) bytes")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let card: ModelCard
        do { card = try decoder.decode(ModelCard.self, from: data) } catch {
            throw ModelError.badCard(path, Self.describe(error))
        }
        try card.validate(path: path)
        return card
    }

    public func write(path: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        try writeFileAtomically(data, to: path)
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing key \"\(key.stringValue)\"" + (ctx.codingPath.isEmpty ? "" : " in \(ctx.codingPath.map(\.stringValue).joined(separator: "."))")
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "wrong type at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted(let ctx):
            return "not valid JSON" + (ctx.codingPath.isEmpty ? "" : " at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))")
        default: return "\(error)"
        }
    }
}

public enum ModelError: Error, CustomStringConvertible, Equatable {
    case missingDirectory(String)
    case missingFile(String)
    case badCard(String, String)
    case unsupported(String, String)
    case io(String, String)
    /// The path exists but is not a regular file (a directory, a FIFO, …: the description).
    case notRegularFile(String, String)
    /// The weights load but are unusable (non-finite values, negative variances, non-finite outputs).
    case badWeights(String, String)

    public var description: String {
        switch self {
        case .missingDirectory(let p): return "\(p): model directory not found"
        case .missingFile(let p): return "\(p): file not found"
        case .badCard(let p, let why): return "\(p): invalid model card: \(why)"
        case .unsupported(let p, let why): return "\(p): unsupported model: \(why)"
        case .io(let p, let why): return "\(p): \(why)"
        case .notRegularFile(let p, let kind): return "\(p): is \(kind), not a regular file"
        case .badWeights(let p, let why): return "\(p): unusable weights: \(why)"
        }
    }
}
