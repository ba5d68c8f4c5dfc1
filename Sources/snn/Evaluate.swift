import ArgumentParser
import Foundation
import SNNData
import SNNModels
import SNNRobustness
import SNNRuntime

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attack every image of a stream and report the robustness conditions, one JSON line per image.",
        discussion: "Images come on stdin as IDX (idx3-ubyte; labels from --labels) or CIFAR-10 binary records (labels in the records), gzip'd or plain. See README for the fields.")

    @Option(help: "Model directory (model.json + weights.safetensors).") var model = "models/im-fmnist"
    @Option(help: "IDX label file for IDX images on stdin (gzip'd or plain); required with idx, refused with cifar10.") var labels: String?
    @Option(help: "Image format on stdin: idx, cifar10, or auto (IDX images magic 00 00 08 03 or another IDX header → idx; else first byte < 10 → cifar10; else idx).") var format: InputFormat = .auto
    @Option(help: "Attack length η in pixel units of the attack's norm. 0 evaluates clean accuracy only.") var eta: Float = 1.5
    @Option(help: "Attack: fgm (L2 step), fgsm (L∞ sign step) or pgd (projected steps).") var attack: AttackMethod = .fgm
    @Option(help: "Norm of the attack: 2 or inf (default: 2 for fgm and pgd, inf for fgsm).") var norm: AttackNorm?
    @Option(help: "Attack loss on the averaged prediction: ce, margin or cw (averaged logits).") var loss: AttackLoss = .ce
    @Option(help: "Targeted attack: a class index, or 'next' for (label + 1) mod classes.") var target: String?
    @Option(help: "PGD: number of steps T.") var pgdSteps: Int?
    @Option(help: "PGD: step size ν (default η/5).") var pgdStepSize: Float?
    @Flag(help: "PGD: start at a uniform random point of the η-ball instead of x.") var randomStart = false
    @Option(help: "S_A: samples in the attack set.") var attackSamples = 10
    @Option(help: "S_I: samples in the inference set (and in the fresh set).") var inferenceSamples = 100
    @Option(help: "Seed of every random number (Philox key).") var seed: UInt64 = 0
    @Option(help: "Evaluate only the first N images.") var limit: Int?
    @Option(help: "Worker threads (results do not depend on it).") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Arena budget: bytes or with a suffix K/M/G (10³) or KiB/MiB/GiB. Default: the model's plan.") var memoryBudget: String?
    @Option(help: "Write the summary JSON to this file.") var summary: String?
    @Flag(help: "Skip the prediction of x_adv with a fresh inference set.") var noFresh = false
    @Flag(help: "One set of realizations for all images instead of one per image (SPEC 2).") var shareSamples = false
    @Flag(help: "Print the memory plan and exit.") var dryRun = false

    func validate() throws {
        guard eta >= 0, eta.isFinite else { throw ValidationError("--eta must be a finite number ≥ 0") }
        guard attackSamples >= 1, inferenceSamples >= 1 else { throw ValidationError("--attack-samples and --inference-samples must be at least 1") }
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
        if let limit, limit < 0 { throw ValidationError("--limit must be ≥ 0") }
        if format == .idx && labels == nil { throw ValidationError(Self.labelsRequired) }
        if format == .cifar10 && labels != nil { throw ValidationError(Self.labelsRefused) }
        _ = try attackConfig()
        if let memoryBudget, ByteCount.parse(memoryBudget) == nil {
            throw ValidationError("--memory-budget '\(memoryBudget)' is not a size (examples: 64MiB, 200M, 1073741824)")
        }
    }

    func run() throws {
        runOrExit { try evaluate() }
    }

    func evaluate() throws {
        let (m, card) = try ModelStore.load(model)
        let perWorker = ImageEvaluator.plan(model: m).bytes
        let batch = threads * 8
        let staging = Arena.footprint(batch * m.inputSize, of: Float.self) + Arena.footprint(batch * m.inputSize, of: UInt8.self)
        let needed = perWorker * threads + staging
        if dryRun {
            print(describe(m, card: card, threads: threads))
            print("input staging \(staging) bytes (\(batch) images); total arena \(needed) bytes (\(ByteCount.format(needed)))")
            return
        }
        let budget = memoryBudget.flatMap(ByteCount.parse) ?? needed
        guard budget >= needed else {
            throw OutOfBudget(needed: needed, budget: budget, what: "evaluating \(card.name) with \(threads) worker(s)")
        }
        var config = EvaluationConfig(eta: eta, attackSamples: attackSamples, inferenceSamples: inferenceSamples, seed: seed)
        config.fresh = !noFresh
        config.shareSamples = shareSamples
        config.attack = try attackConfig()
        if case .fixed(let t) = config.attack.target, t >= m.classCount {
            usageFailure("--target \(t) is not a class of \(card.name) (classes 0…\(m.classCount - 1))")
        }

        // Input: the format is given or sniffed (no byte lost); IDX labels come from --labels,
        // CIFAR-10 labels from the records.
        let bytes = try openByteStream(path: nil)
        let input = bytes as? BufferedReader ?? BufferedReader(bytes)
        let detected = try format.imageFormat ?? ImageFormat.detect(head: input.peek(ImageFormat.sniffLength))
        if detected == .idx && labels == nil { usageFailure(Self.labelsRequired + " (stdin holds IDX images)") }
        if detected == .cifar10, labels != nil { usageFailure(Self.labelsRefused + " (stdin holds CIFAR-10 records)") }
        var stream = try openImageStream(source: input, format: detected)
        guard stream.pixelsPerImage == m.inputSize else {
            let unit = stream.channels == 1 ? "pixels" : "values"
            throw DataFailure(message: "\(stream.name): images are \(stream.shapeDescription) (\(stream.pixelsPerImage) \(unit)) but model \(card.name) expects \(m.inputSize) inputs")
        }
        let labelValues = try labels.map { try IDXLabels.read(path: $0, expectedCount: stream.declaredCount) } ?? []
        let labelSource = labels ?? stream.name
        let total = min(stream.declaredCount ?? .max, limit ?? .max)
        let batchLabels = UnsafeMutablePointer<Int>.allocate(capacity: batch)
        batchLabels.initialize(repeating: 0, count: batch)
        defer { batchLabels.deallocate() }

        let arenas = (0..<threads).map { _ in Arena(capacity: (budget - staging) / threads) }
        let evaluators = try arenas.map { try ImageEvaluator(model: m, config: config, arena: $0) }
        let stagingArena = Arena(capacity: staging)
        let raw = try stagingArena.allocate(batch * m.inputSize, of: UInt8.self, for: "input staging")
        let results = UnsafeMutablePointer<ImageResult>.allocate(capacity: batch)
        results.initialize(repeating: ImageResult(), count: batch)
        defer { results.deallocate() }
        let pool = WorkerPool(count: threads)
        var sum = Summary(config: config, modelName: card.name, lipschitz: m.smoothness)
        var writer = JSONLineWriter()
        defer { writer.deallocate() }
        let progress = isatty(2) != 0
        let d = m.inputSize, k = m.classCount

        let started = DispatchTime.now().uptimeNanoseconds
        var next = 0
        var pendingError: Error? = nil
        while next < total && pendingError == nil {
            // read a batch (a read error ends the run after the images already read are written)
            var count = 0
            while count < batch && next + count < total {
                let label: Int
                do {
                    let read = try stream.nextRawImage(into: raw + count * d)
                    guard read.available else { break }
                    label = read.label ?? Int(labelValues[next + count])
                } catch { pendingError = error; break }
                if label >= k {
                    pendingError = DataFailure(message: "\(labelSource): record \(next + count) has label \(label), but the model has \(k) classes")
                    break
                }
                if case .fixed(let t) = config.attack.target, t == label, eta > 0 {
                    pendingError = DataFailure(message: "\(labelSource): record \(next + count) has label \(label), the same as --target \(t): "
                                               + "a targeted attack needs another class (use --target next for (label + 1) mod classes)")
                    break
                }
                batchLabels[count] = label
                count += 1
            }
            let first = next, n = count
            pool.run { w in
                var slot = w
                while slot < n {
                    let e = evaluators[w]
                    let src = raw + slot * d
                    for i in 0..<d { e.input[i] = Float(src[i]) * (1 / 255) }
                    results[slot] = e.evaluate(index: first + slot, label: batchLabels[slot])
                    slot += self.threads
                }
            }
            for slot in 0..<n {
                sum.add(results[slot])
                results[slot].write(to: &writer)
                writeAll(1, writer.bytes, writer.count)
            }
            next += n
            if n == 0 { break }
            if progress { FileHandle.standardError.write((total == .max ? "\r\(next) images" : "\r\(next)/\(total) images").data(using: .utf8)!) }
        }
        withExtendedLifetime(stagingArena) {}  // `raw` points into it
        if progress { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        if let summary { try writeJSONAtomically(sum.json, to: summary) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        FileHandle.standardError.write(sum.text.data(using: .utf8)!)
        FileHandle.standardError.write(String(format: "  %d images in %.1f s (%.1f images/s, %d threads)\n",
                                              next, seconds, Double(next) / max(seconds, 1e-9), threads).data(using: .utf8)!)
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
        if eta == 0 && (target != nil || attack != .fgm || loss != .ce) {
            throw ValidationError("--eta 0 evaluates clean accuracy only; attack flags (--attack, --loss, --target) conflict with it")
        }
        return a
    }
}

extension AttackMethod: ExpressibleByArgument {}
extension AttackLoss: ExpressibleByArgument {}
extension AttackNorm: ExpressibleByArgument {}

/// `--format`: an image format, or `auto` (sniff stdin, `ImageFormat.detect(head:)`).
enum InputFormat: String, CaseIterable, ExpressibleByArgument {
    case idx, cifar10, auto
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
    let tmp = path + ".tmp"
    do { try data.write(to: URL(fileURLWithPath: tmp)) } catch {
        throw DataFailure(message: "\(path): cannot write summary (\(error.localizedDescription))")
    }
    guard rename(tmp, path) == 0 else { throw DataFailure(message: "\(path): cannot write summary (\(String(cString: strerror(errno))))") }
}
