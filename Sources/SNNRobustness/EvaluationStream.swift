import SNNModels
import SNNRuntime

/// Where `EvaluationStream` reads its images, one record at a time into a staging slot.
public protocol EvaluationSource {
    /// Bytes one stored value takes in a slot: 1 (u8 pixels, scaled by 1/255) or 4 (Floats).
    var bytesPerValue: Int { get }
    /// Reads record `index` into `slot` (`bytesPerValue` × inputs bytes) and returns its label;
    /// nil at the end of the images.
    mutating func next(into slot: UnsafeMutableRawPointer, index: Int) throws -> Int?
    /// False when the next read would wait for a slow producer: the batch in hand is then evaluated
    /// and written first, so each line comes out as soon as its image is done.
    func isReady() -> Bool
    /// After the last read: true when images remain unread (a limit stopped the reading), otherwise
    /// checks that the input ends here and returns false.
    mutating func finish() throws -> Bool
}

extension EvaluationSource {
    public func isReady() -> Bool { true }
}

/// A stream's failures, typed (the CLI words them).
public enum EvaluationStreamError: Error, Equatable {
    /// A label outside 0..<classes.
    case labelOutOfRange(record: Int, label: Int, classes: Int)
    /// A targeted attack with a fixed target equal to the record's label.
    case labelIsTarget(record: Int, label: Int, target: Int)
    /// A result field a working model gives finite is not (configuration is 0-based).
    case nonFinite(image: Int, field: String, configuration: Int, configurations: Int)
    /// A line longer than the writer's buffer (sized from the line prefix: not expected).
    case lineTooLong(image: Int, capacity: Int)
}

/// The arena bytes of a stream: `threads` workers' evaluators and the input staging.
public struct EvaluationMemory: Sendable {
    /// Images per batch: threads × (the chunk with shared realizations, else 8).
    public let batch: Int
    /// Images per shared chunk, or nil when images are evaluated one at a time.
    public let chunk: Int?
    public let perWorker: Int
    /// Staged input (bytes and Floats) and, when x_adv is kept, the batch's x_adv.
    public let staging: Int
    public var total: Int { perWorker * threads + staging }
    public let threads: Int
    let adversarialFloats: Int

    public init(model m: any StochasticClassifier, configs: [EvaluationConfig], threads: Int, shareChunk: Int, keepAdversarial: Bool) {
        self.threads = threads
        chunk = EvaluationWorkers.sharedChunk(model: m, configs: configs, chunk: shareChunk)
        perWorker = EvaluationWorkers.plan(model: m, configs: configs, chunk: chunk).bytes
        batch = threads * (chunk ?? 8)
        adversarialFloats = keepAdversarial ? batch * configs.count * m.inputSize : 0
        staging = Arena.footprint(batch * m.inputSize, of: Float.self) + Arena.footprint(batch * m.inputSize, of: UInt8.self)
            + (adversarialFloats > 0 ? Arena.footprint(adversarialFloats, of: Float.self) : 0)
    }
}

/// Evaluates a stream of images with `threads` workers (docs/METHOD.md; README, "snn evaluate"):
/// reads a batch into the staging arena, evaluates it on the worker pool (each worker its own
/// arena and evaluator, `EvaluationWorkers`), then writes every configuration's line per image in
/// input order, adds it to the summaries and hands x_adv out. Lines depend only on the seed and the
/// images, not on the thread count, the batch or the shard. Memory is fixed at `init`: nothing is
/// allocated per image.
///
/// A bad record (label out of range, a target equal to the label) or a non-finite result stops the
/// stream after the lines before it are written; `run` returns it in `Outcome.error` together with
/// the summaries of what was written, so a caller can still report them.
public final class EvaluationStream {
    public let model: any StochasticClassifier
    public let configs: [EvaluationConfig]
    public let memory: EvaluationMemory
    let workers: EvaluationWorkers
    let pool: WorkerPool
    let arenas: [Arena]
    let stagingArena: Arena
    let raw: UnsafeMutablePointer<UInt8>
    let adversarial: UnsafeMutablePointer<Float>?
    let labels, indices: UnsafeMutablePointer<Int>
    let results: UnsafeMutablePointer<ImageResult>
    var writer: JSONLineWriter
    public private(set) var summaries: [Summary]

    public struct Outcome {
        /// Images whose lines were written.
        public var evaluated = 0
        /// Records read (including other shards' records).
        public var read = 0
        /// The reading stopped at the limit with images left (the input's end was not checked).
        public var limited = false
        /// What stopped the stream early (a data error), or nil.
        public var error: Error?
    }

    /// `budget`: arena bytes for everything (default `memory.total`); refused with `OutOfBudget`
    /// when smaller. The results of a batch (batch × configurations `ImageResult`s) are allocated
    /// here too, outside the arenas.
    public init(model: any StochasticClassifier, configs: [EvaluationConfig], modelName: String, threads: Int,
                shareChunk: Int = 100, keepAdversarial: Bool = false, budget: Int? = nil) throws {
        precondition(!configs.isEmpty && threads >= 1)
        self.model = model; self.configs = configs
        let mem = EvaluationMemory(model: model, configs: configs, threads: threads, shareChunk: shareChunk, keepAdversarial: keepAdversarial)
        memory = mem
        let budget = budget ?? mem.total
        guard budget >= mem.total else {
            throw OutOfBudget(needed: mem.total, budget: budget, what: "evaluating \(modelName) with \(threads) worker(s)")
        }
        arenas = try (0..<threads).map { w in try Arena(reserving: (budget - mem.staging) / threads, for: "the arena of worker \(w)") }
        workers = try EvaluationWorkers(model: model, configs: configs, arenas: arenas, chunk: mem.chunk)
        stagingArena = try Arena(reserving: mem.staging, for: "the input staging arena")
        // the staging holds bytes or Floats: both fit (see `EvaluationMemory.staging`)
        raw = try stagingArena.allocate(mem.batch * model.inputSize * 4, of: UInt8.self, for: "input staging")
        adversarial = mem.adversarialFloats > 0 ? try stagingArena.allocate(mem.adversarialFloats, of: Float.self, for: "x_adv staging") : nil
        let nc = configs.count
        labels = .allocate(capacity: mem.batch); labels.initialize(repeating: 0, count: mem.batch)
        indices = .allocate(capacity: mem.batch); indices.initialize(repeating: 0, count: mem.batch)
        results = .allocate(capacity: mem.batch * nc); results.initialize(repeating: ImageResult(), count: mem.batch * nc)
        pool = WorkerPool(count: threads)
        summaries = configs.map { Summary(config: $0, modelName: modelName, lipschitz: model.smoothness) }
        writer = JSONLineWriter(prefix: RunConstants(model: modelName, classes: model.classCount, config: configs[0],
                                                     lipschitz: model.smoothness).linePrefix)
    }

    deinit {
        labels.deallocate(); indices.deallocate(); results.deallocate()
        writer.deallocate()
    }

    /// Reads `source` to its end (or `limit` records), evaluating the images of shard
    /// `shard.index` of `shard.count` (index ≡ shard.index mod shard.count).
    ///   `line`         each JSON line (bytes, newline included), in input order
    ///   `adversarial`  each line's x_adv (inputs Floats, pixel space), in line order — only if
    ///                  the stream was made with `keepAdversarial`
    ///   `batchDone`    after each batch's lines (also the last, cut short by an error): the
    ///                  records read so far
    public func run<Source: EvaluationSource>(
        _ source: inout Source, limit: Int? = nil, shard: (index: Int, count: Int) = (0, 1),
        line: (UnsafePointer<UInt8>, Int) -> Void, adversarial sendAdversarial: ((UnsafePointer<Float>) -> Void)? = nil,
        batchDone: (Int) -> Void = { _ in }
    ) -> Outcome {
        let d = model.inputSize, k = model.classCount, bpv = source.bytesPerValue
        let total = limit ?? .max, batch = memory.batch
        let fixedTarget: Int? = if case .fixed(let t) = configs[0].attack.target, configs.contains(where: { $0.eta > 0 }) { t } else { nil }
        var out = Outcome()
        var exhausted = false
        while out.read < total && out.error == nil {
            // read a batch (a read error ends the run after the images already read are written)
            var count = 0
            while count < batch && out.read < total {
                if count > 0 && !source.isReady() { break }
                let index = out.read
                let label: Int
                do {
                    guard let l = try source.next(into: raw + count * d * bpv, index: index) else { exhausted = true; break }
                    label = l
                } catch { out.error = error; break }
                out.read += 1
                if index % shard.count != shard.index { continue }   // another shard's image
                if label < 0 || label >= k {
                    out.error = EvaluationStreamError.labelOutOfRange(record: index, label: label, classes: k); break
                }
                if let t = fixedTarget, t == label {
                    out.error = EvaluationStreamError.labelIsTarget(record: index, label: label, target: t); break
                }
                labels[count] = label; indices[count] = index
                count += 1
            }
            let n = count, threads = memory.threads
            let (workers, raw, indices, labels, results, adv) = (self.workers, self.raw, self.indices, self.labels, self.results, self.adversarial)
            pool.run { w in
                workers.run(worker: w, threads: threads, count: n, raw: raw, bytesPerValue: bpv, d: d,
                            indices: indices, labels: labels, results: results, adversarial: adv)
            }
            out.evaluated += writeLines(count: n, line: line, adversarial: sendAdversarial, error: &out.error)
            batchDone(out.read)
            if out.error != nil { break }
            if n == 0 && (exhausted || out.read >= total) { break }
        }
        // the end of the input, unless the limit stopped the reading early
        if out.error == nil {
            do { out.limited = try source.finish() } catch { out.error = error }
        }
        return out
    }

    /// Writes the batch's lines in order; an image whose results are not finite (absurd weights)
    /// is an error: its lines are not written, the images before it are kept. Returns the images written.
    func writeLines(count n: Int, line: (UnsafePointer<UInt8>, Int) -> Void, adversarial: ((UnsafePointer<Float>) -> Void)?,
                    error: inout Error?) -> Int {
        let nc = configs.count, d = model.inputSize
        for slot in 0..<n {
            for c in 0..<nc {
                if let field = Self.nonFiniteField(results[slot * nc + c], configs[c]) {
                    error = EvaluationStreamError.nonFinite(image: indices[slot], field: field, configuration: c, configurations: nc)
                    return slot
                }
            }
            for c in 0..<nc {
                results[slot * nc + c].write(to: &writer)
                guard !writer.overflowed else {
                    error = EvaluationStreamError.lineTooLong(image: indices[slot], capacity: writer.capacity)
                    return slot
                }
                summaries[c].add(results[slot * nc + c])
                line(writer.bytes, writer.count)
                if let adversarial, let a = self.adversarial { adversarial(a + (slot * nc + c) * d) }
            }
        }
        return n
    }

    /// The first field of `r` that is not finite where a working model gives a finite value
    /// (NaN stands for "not computed" elsewhere, so only always-computed fields are checked).
    public static func nonFiniteField(_ r: ImageResult, _ config: EvaluationConfig) -> String? {
        if !r.cleanProbability.isFinite { return "clean_probability" }
        if config.varianceSamples > 0, !r.predictionVariance.isFinite { return "prediction_variance" }
        guard r.attacked else { return nil }
        if !r.deltaNorm.isFinite { return "delta_norm" }
        if !r.deltaLinf.isFinite { return "delta_linf" }
        if !r.minMargin.isFinite { return "runner_up_margin" }
        if r.gradNorm.isNaN || r.gradNorm.isInfinite { return "grad_norm" }
        if r.runnerUpGradNorm.isNaN || r.runnerUpGradNorm.isInfinite { return "runner_up_grad_norm" }
        if let c = r.conditions, c.minRLinear.isNaN { return "min_r_linear" }
        return nil
    }
}
