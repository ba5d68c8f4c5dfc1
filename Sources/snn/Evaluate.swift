import ArgumentParser
import Foundation
import SNNData
import SNNModels
import SNNRobustness
import SNNRuntime

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attack every image read from stdin and report the robustness conditions, one JSON line per image.",
        discussion: StdinFormats.help + " Formulas: docs/METHOD.md; output fields: README.md.")

    @Option(help: "Model directory (model.json + weights.safetensors), or a bare name looked up in ./, $SNN_MODELS, <prefix>/share/snn/models and the repository's models/ (default: im-fmnist).") var model: String?
    @Option(help: "Label file, IDX or 1-D .npy (gzip'd or plain); required with idx and npy, refused with cifar10. (default: none)") var labels: String?
    @Option(help: "Image format on stdin: idx, cifar10, npy, or auto (93 'NUMPY' → npy; 00 00 + an IDX type byte → idx; else first byte < 10 → cifar10; else an error).") var format: InputFormat = .auto
    @Option(help: "Axis order of 4-D .npy images: nhwc or nchw (default: decided from the shape, an error if ambiguous).") var layout: NPYLayout?
    @Option(parsing: .unconditional, help: "Attack length η in pixel units of the attack's norm; a comma-separated list sweeps. 0 evaluates clean accuracy only.") var eta: NumberList<Float> = [1.5]
    @Option(help: "Attack: fgm (L2 step), fgsm (L∞ sign step) or pgd (projected steps).") var attack: AttackMethod = .fgm
    @Option(help: "Norm of the attack: 2 or inf (default: 2 for fgm and pgd, inf for fgsm).") var norm: AttackNorm?
    @Option(help: "Attack loss on the averaged prediction: ce, margin or cw (averaged logits).") var loss: AttackLoss = .ce
    @Option(help: "Targeted attack: a class index, or 'next' for (label + 1) mod classes. (default: untargeted)") var target: String?
    @Option(help: "PGD: number of steps T. (default: \(AttackConfig().pgdSteps))") var pgdSteps: Int?
    @Option(help: "PGD: step size ν. (default: η/5)") var pgdStepSize: Float?
    @Flag(help: "PGD: start at a uniform random point of the η-ball instead of x.") var randomStart = false
    @Option(help: "S_A: samples in the attack set; a comma-separated list sweeps (nested sets).") var attackSamples: NumberList<Int> = [10]
    @Option(help: "S_I: samples in the inference set (and in the fresh set); a comma-separated list sweeps (nested sets).") var inferenceSamples: NumberList<Int> = [100]
    @Flag(help: "Draw each requested S_A and S_I from its own stream instead of nesting the sets.") var independentSets = false
    @Option(help: "Report each image's prediction variance over this many samples (docs/METHOD.md §Prediction variance; the paper uses 1000).") var varianceSamples = 0
    @Flag(help: "Report how many inference samples give max_c f_c(x, θ) == 1 exactly (docs/METHOD.md §Extreme predictions).") var extreme = false
    @Option(help: "Seed of every random number (the Philox key; docs/METHOD.md §Random numbers).") var seed: UInt64 = 0
    @Option(help: "Evaluate only the first N images. (default: all)") var limit: Int?
    @Option(help: "Evaluate only images with index ≡ i (mod n), written i/n with 0 ≤ i < n; `snn summarize` merges the shards. (default: all images)") var shard: Shard?
    @Option(help: "Worker threads (results do not depend on it).") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(parsing: .unconditional, help: "Arena budget: bytes or with a suffix K/M/G (10³) or KiB/MiB/GiB. (default: the model's plan, see --dry-run)") var memoryBudget: String?
    @Option(help: "Write the summary JSON (docs/METHOD.md §Summaries) to this file. (default: none)") var summary: String?
    @Flag(help: "Skip the prediction of x_adv with a fresh inference set.") var noFresh = false
    @Flag(help: "One set of realizations for all images instead of one per image (docs/METHOD.md §Sharing mode).") var shareSamples = false
    @Option(help: "With --share-samples: images per chunk that go through every GEMM together (one GEMM per layer and realization; results do not depend on it). Batched only for FGM/FGSM with --loss ce on a matrix-Gaussian MLP without smoothing; other configurations (PGD, --loss margin/cw, smoothed models, wide ResNets) run one image at a time. (default: \(EvaluateLimits.defaultShareChunk))") var shareChunk: Int?
    @Flag(help: "Print the memory plan and exit.") var dryRun = false
    @Option(help: "Matrix-Gaussian MLPs: how realizations are drawn, lazy (each product drawn from its exact conditional law, docs/METHOD.md §Lazy sampler), explicit (every weight drawn) or auto (lazy, but explicit for smoothed models, where it is faster, and with --share-samples). Other models ignore it.") var sampler: SamplerChoice = .auto
    @Option(help: "Write every x_adv (one per JSON line, in line order) to this file: float32 .npy (N×H×W, or N×C×H×W for several channels) or IDX (--adversarial-format idx). Must be a regular file. (default: none)") var adversarialOut: String?
    @Option(help: "Format of --adversarial-out: npy, or idx (idx3-ubyte; IDX input only; bytes = round half to even of x_adv·255). (default: npy)") var adversarialFormat: AdversarialWriter.Format?
    @Option(help: "Progress on stderr: auto (a live line on a terminal, else a line every --progress-interval seconds), always (auto plus a first and a last line), never.") var progress: ProgressMode = .auto
    @Option(help: "Seconds between progress lines when stderr is not a terminal.") var progressInterval: Double = 30

    func validate() throws {
        guard eta.values.allSatisfy({ $0 >= 0 && $0.isFinite }) else { throw ValidationError("--eta must be finite numbers ≥ 0") }
        guard attackSamples.values.allSatisfy({ $0 >= 1 }), inferenceSamples.values.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--attack-samples and --inference-samples must be at least 1")
        }
        guard varianceSamples >= 0 else { throw ValidationError("--variance-samples must be ≥ 0") }
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
        if let limit, limit < 0 { throw ValidationError("--limit must be ≥ 0") }
        if format == .idx && labels == nil { throw ValidationError(Self.labelsRequired) }
        if format == .npy && labels == nil { throw ValidationError("--labels is required for NPY images") }
        if layout != nil && format != .npy && format != .auto { throw ValidationError("--layout applies to --format npy only") }
        if format == .cifar10 && labels != nil { throw ValidationError(Self.labelsRefused) }
        _ = try attackConfig()
        try validateWorkflow()
        try EvaluateLimits.check(self)
        if let memoryBudget, ByteCount.parse(memoryBudget) == nil {
            throw ValidationError("--memory-budget '\(memoryBudget)' is not a size (examples: 64MiB, 200M, 1073741824)")
        }
    }

    func run() throws {
        runOrExit { try evaluate() }
    }

    func evaluate() throws {
        let (m, card) = try ModelStore.load(ModelLocator.resolve(model))
        var base = EvaluationConfig(eta: 0, attackSamples: 1, inferenceSamples: 1, seed: seed)
        if let mlp = m.matrixGaussianMLP {
            // A lazily revealed realization is conditioned on one image's queries only, so it cannot
            // be shared between images: --share-samples draws the shared realizations explicitly.
            if shareSamples && sampler == .lazy { usageFailure("--sampler lazy cannot share realizations between images; use --sampler explicit (or auto) with --share-samples") }
            let used = sampler.resolved(smoothed: m is SmoothedClassifier, shared: shareSamples)
            mlp.sampler = used; base.sampler = used.rawValue
        }
        base.fresh = !noFresh
        base.shareSamples = shareSamples
        base.attack = try attackConfig()
        base.varianceSamples = varianceSamples
        base.countExtreme = extreme
        if case .fixed(let t) = base.attack.target, t >= m.classCount {
            usageFailure("--target \(t) is not a class of \(card.name) (classes 0…\(m.classCount - 1))")
        }
        let configs = sweep(base)
        let nc = configs.count
        // one evaluator per worker, whose arena grows with the sweep's attacks and configurations
        // (with --share-samples, where it applies, one chunk evaluator: EvaluationWorkers)
        let memory = EvaluationMemory(model: m, configs: configs, threads: threads,
                                      shareChunk: shareChunk ?? EvaluateLimits.defaultShareChunk, keepAdversarial: adversarialOut != nil)
        let needed = memory.total
        if dryRun {
            let workerPlan = EvaluationWorkers.plan(model: m, configs: configs, chunk: memory.chunk)
            print(describe(m, card: card, threads: threads, plan: workerPlan))
            print(EvaluationWorkers.describeMode(model: m, configs: configs, chunk: memory.chunk))
            print("input staging \(memory.staging) bytes (\(memory.batch) images); total arena \(needed) bytes (\(ByteCount.format(needed)))")
            if let physical = Arena.physicalMemory, needed > physical {
                print("  more than the machine's physical memory, \(physical) bytes (\(ByteCount.format(physical))): the run would be refused")
            }
            print(EvaluateLimits.work(model: m, configs: configs))
            return
        }
        let budget = memoryBudget.flatMap(ByteCount.parse) ?? needed
        guard budget >= needed else {
            throw OutOfBudget(needed: needed, budget: budget, what: "evaluating \(card.name) with \(threads) worker(s)")
        }
        // checked before anything is allocated (an arena is zeroed as it is used, so an oversized
        // one would grow the resident size until the machine swaps)
        try EvaluateLimits.checkPhysicalMemory(budget, what: memoryBudget == nil
            ? "the memory plan of \(card.name) with \(threads) worker(s)" : "--memory-budget \(memoryBudget!)")

        // Input: the format is given or sniffed (no byte lost); IDX and .npy labels come from
        // --labels, one per image, CIFAR-10 labels from the records (EvaluateInput.swift).
        var input = try EvaluationInput.open(format: format.imageFormat, layout: layout, labelsPath: labels, card: card,
                                             usage: usageFailure)
        let total = min(input.stream.declaredCount ?? .max, limit ?? .max)
        if adversarialFormat == .idx && !(input.stream is IDXImageStream) {
            usageFailure("--adversarial-format idx needs IDX (uint8) images on stdin; use npy")
        }
        let advWriter = try adversarialOut.map {
            try AdversarialWriter(path: $0, format: adversarialFormat ?? .npy, channels: input.stream.channels,
                                  height: input.stream.height, width: input.stream.width)
        }
        // outside the arena: one result per image of a batch and configuration (threads × --share-chunk
        // images with --share-samples), refused like an arena beyond physical memory
        try EvaluateLimits.checkPhysicalMemory(memory.batch * nc * MemoryLayout<ImageResult>.stride,
                                               what: "the results of a batch (\(memory.batch) images × \(nc) configurations)")
        let stream = try EvaluationStream(model: m, configs: configs, modelName: card.name, threads: threads,
                                          shareChunk: shareChunk ?? EvaluateLimits.defaultShareChunk,
                                          keepAdversarial: advWriter != nil, budget: budget)
        var progress = ProgressReporter(mode: self.progress, interval: progressInterval, total: total == .max ? nil : total)

        let started = DispatchTime.now().uptimeNanoseconds
        let outcome = stream.run(
            &input, limit: limit, shard: shard.map { ($0.index, $0.count) } ?? (0, 1),
            line: { writeAll(1, $0, $1) },
            adversarial: advWriter.map { w in { x in do { try w.append(x) } catch { fail(error) } } },
            batchDone: { read in
                if let advWriter { do { try advWriter.sync() } catch { fail(error) } }
                progress.update(done: read)
            })
        let pendingError = outcome.error.map { input.describe($0, model: card.name) }
        progress.finish(done: outcome.read)
        if let advWriter { do { try advWriter.finish() } catch { fail(error) } }
        let sums = stream.summaries
        if let summary {
            try writeJSONAtomically(summaryFile(sums, limited: outcome.limited, incomplete: pendingError.map { "\($0)" }), to: summary)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        for sum in sums { FileHandle.standardError.write(sum.text.data(using: .utf8)!) }
        FileHandle.standardError.write(String(format: "  %d images in %.1f s (%.1f images/s, %d threads)\n",
                                              outcome.evaluated, seconds, Double(outcome.evaluated) / max(seconds, 1e-9), threads).data(using: .utf8)!)
        if let pendingError { throw pendingError }
    }
}

extension Evaluate {
    /// The attack flags as one `AttackConfig`, or a usage error naming the conflict.
    func attackConfig() throws -> AttackConfig {
        var a = AttackConfig()
        a.method = attack
        a.norm = norm ?? (attack == .fgsm ? .linf : .l2)
        a.loss = loss
        if let target {
            if target == "next" { a.target = .next }
            else if let t = Int(target), t >= 0 { a.target = .fixed(t) }
            else { throw ValidationError("--target must be a class index ≥ 0 or 'next', got '\(target)'") }
        }
        if attack != .pgd && (pgdSteps != nil || pgdStepSize != nil || randomStart) {
            throw ValidationError("--pgd-steps, --pgd-step-size and --random-start apply to --attack pgd only")
        }
        if let pgdSteps { a.pgdSteps = pgdSteps }
        a.pgdStepSize = pgdStepSize
        a.randomStart = randomStart
        if let problem = a.problem { throw ValidationError(problem) }
        if eta.values.allSatisfy({ $0 == 0 }) && (target != nil || attack != .fgm || loss != .ce) {
            throw ValidationError("--eta 0 evaluates clean accuracy only; attack flags (--attack, --loss, --target) conflict with it")
        }
        return a
    }
}

extension Evaluate {
    /// Every configuration of the sweep, η outermost, then S_A, then S_I (the order of the JSON
    /// lines of one image). With --independent-sets the i-th requested S_A and S_I draw from
    /// streams i + 1 instead of the shared nested stream 0.
    func sweep(_ base: EvaluationConfig) -> [EvaluationConfig] {
        var out: [EvaluationConfig] = []
        for e in eta.values {
            for (ai, sa) in attackSamples.values.enumerated() {
                for (ii, si) in inferenceSamples.values.enumerated() {
                    var c = base
                    c.eta = e == 0 ? 0 : e   // --eta -0 is 0 (no "-0.0" in the lines)
                    c.attackSamples = sa; c.inferenceSamples = si
                    if independentSets { c.attackSetStream = UInt32(ai + 1); c.inferenceSetStream = UInt32(ii + 1) }
                    out.append(c)
                }
            }
        }
        return out
    }
}

/// `--shard i/n`: the images with index ≡ i (mod n).
struct Shard: ExpressibleByArgument {
    let index: Int, count: Int
    init?(argument: String) {
        let parts = argument.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else { return nil }
        index = i; count = n
    }
}

/// A comma-separated list of numbers ("0.5,1,1.5"): not empty, no duplicates.
struct NumberList<T: LosslessStringConvertible & Hashable>: ExpressibleByArgument, ExpressibleByArrayLiteral {
    var values: [T]
    init(arrayLiteral elements: T...) { values = elements }
    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let parsed = parts.compactMap { T($0) }
        guard !parts.isEmpty, parsed.count == parts.count, Set(parsed).count == parsed.count else { return nil }
        values = parsed
    }
    var defaultValueDescription: String { values.map { "\($0)" }.joined(separator: ",") }
}

extension AttackMethod: ExpressibleByArgument {}

/// `--sampler`: a `WeightSampler`, or auto — lazy where it is faster (plain MLPs), explicit for
/// smoothed models (their noise draws ask each realization dozens of products) and when images
/// share realizations.
enum SamplerChoice: String, CaseIterable, ExpressibleByArgument {
    case auto, lazy, explicit
    func resolved(smoothed: Bool, shared: Bool) -> WeightSampler {
        switch self {
        case .lazy: .lazy
        case .explicit: .explicit
        case .auto: smoothed || shared ? .explicit : .lazy
        }
    }
}
extension AttackLoss: ExpressibleByArgument {}
extension AttackNorm: ExpressibleByArgument {}

/// `--format`: an image format, or `auto` (sniff stdin, `ImageFormat.detect(head:)`).
enum InputFormat: String, CaseIterable, ExpressibleByArgument {
    case idx, cifar10, npy, auto
    var imageFormat: ImageFormat? { ImageFormat(rawValue: rawValue) }
}

extension Evaluate {
    static let labelsRequired = "--labels is required for IDX images"
    static let labelsRefused = "--labels is not accepted for CIFAR-10: labels come from the records"

    /// A usage error found after parsing (e.g. once `--format auto` has sniffed stdin): the same
    /// one-line message and exit status 2 as a `validate()` failure.
    func usageFailure(_ message: String) -> Never {
        let text = "Error: \(message)\nUsage: snn evaluate <options>\n  See 'snn evaluate --help' for more information.\n"
        FileHandle.standardError.write(text.data(using: .utf8)!)
        Foundation.exit(2)
    }
}

/// write(2) until every byte is out (stdout may be a pipe).
func writeAll(_ fd: Int32, _ p: UnsafePointer<UInt8>, _ n: Int) {
    var done = 0
    while done < n {
        let r = write(fd, p + done, n - done)
        if r < 0 { if errno == EINTR { continue }; fail(DataFailure(message: "cannot write output: \(String(cString: strerror(errno)))")) }
        done += r
    }
}

/// Writes JSON to `path` via a temporary file and rename, so a reader never sees half a file.
func writeJSONAtomically(_ object: Any, to path: String) throws {
    var data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    data.append(0x0A)
    try writeDataAtomically(data, to: path)
}

/// Writes `data` to `path` via a temporary file and rename.
func writeDataAtomically(_ data: Data, to path: String) throws {
    do { try writeFileAtomically(data, to: path) } catch { throw DataFailure(error) }
}
