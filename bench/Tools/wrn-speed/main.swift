// wrn-speed: the Swift half of scripts/bench-wrn.sh (a plain release executable, so that the
// script can read its numbers; WRNBench / ConvBench measure the same code under package-benchmark).
//
//   wrn-speed wrn  [--depth 28] [--widen 10] [--threads 1] [--iterations 5] [--warmup 1]
//   wrn-speed conv [--iterations 20] [--warmup 2]
//
// Prints one JSON object per line on stdout (medians over the timed iterations), a note on stderr.
// `wrn`: per iteration every one of the T threads runs one sample on its own workspace, so
// "ms per sample" = wall time / T (throughput); with T = 1 it is the latency of one sample.
import Foundation
import SNNModels
import SNNRuntime
import WRNBenchSupport

func usage() -> Never {
    FileHandle.standardError.write("usage: wrn-speed wrn [--depth D --widen K --threads T --iterations N --warmup W]\n       wrn-speed conv [--iterations N --warmup W]\n".data(using: .utf8)!)
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
guard let mode = args.first, mode == "wrn" || mode == "conv" else { usage() }
args.removeFirst()
var options: [String: Int] = [:]
while !args.isEmpty {
    let key = args.removeFirst()
    guard key.hasPrefix("--"), let value = args.first.flatMap({ Int($0) }) else { usage() }
    args.removeFirst()
    options[String(key.dropFirst(2))] = value
}
@MainActor func option(_ name: String, _ fallback: Int) -> Int { options[name] ?? fallback }

func emit(_ fields: [(String, Any)]) {
    let body = fields.map { key, value -> String in
        let v: String
        switch value {
        case let s as String: v = s.hasPrefix("[") ? s : "\"\(s)\""
        case let d as Double: v = String(format: "%.6g", d)
        default: v = "\(value)"
        }
        return "\"\(key)\": \(v)"
    }.joined(separator: ", ")
    print("{\(body)}")
    fflush(nil)   // all streams (stdout itself is a global var Swift 6 will not touch)
}

func note(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }

if mode == "wrn" {
    let spec = WRNSpec(depth: option("depth", 28), widen: option("widen", 10))
    let threads = option("threads", 1), iterations = option("iterations", 5), warmup = option("warmup", 1)
    let runner = WRNRunner(spec, threads: threads)
    note("snn \(spec): \(runner.model.parameterCount) parameters, \(runner.model.multiplyAdds) multiply-adds per forward, "
         + "workspace \(ByteCount.format(runner.workspaceBytes)) per thread; \(threads) thread(s), \(warmup) warm-up + \(iterations) timed")
    var sink: Float = 0
    for (op, vjp, flops) in [("forward", false, runner.forwardFlops), ("forward+vjp", true, runner.forwardVJPFlops)] {
        for _ in 0..<warmup { sink += runner.step(vjp: vjp) }
        var perSample: [Double] = []
        for _ in 0..<iterations {
            let t = seconds(timed { sink += runner.step(vjp: vjp) })
            perSample.append(t / Double(threads))
        }
        let med = median(perSample)
        emit([("impl", "snn"), ("model", spec.description), ("threads", threads), ("op", op),
              ("ms", med * 1e3), ("min_ms", perSample.min()! * 1e3), ("gflops", flops / med / 1e9),
              ("flops", flops), ("iterations", iterations),
              ("times_ms", "[" + perSample.map { String(format: "%.4f", $0 * 1e3) }.joined(separator: ", ") + "]")])
    }
    if !sink.isFinite { note("(non-finite output)") }
} else {
    let iterations = option("iterations", 20), warmup = option("warmup", 2)
    var sink: Float = 0
    // Round-robin: each iteration times every algorithm once, so that all of them see the same
    // background load (the medians of a busy machine then still compare like with like).
    let algorithms = ConvAlgorithm.allCases
    for shape in ConvShape.all {
        let c = ConvCase(shape)
        let diffs = algorithms.map { $0 == .im2colGEMM ? 0 : c.maxDifference($0) }
        for _ in 0..<warmup { for a in algorithms { c.run(a) } }
        var ts = [[Double]](repeating: [], count: algorithms.count)
        for _ in 0..<iterations {
            for (i, a) in algorithms.enumerated() { ts[i].append(seconds(timed { c.run(a) })); sink += c.first }
        }
        for (i, a) in algorithms.enumerated() {
            let med = median(ts[i])
            emit([("impl", "snn"), ("shape", shape.description), ("algorithm", a.rawValue),
                  ("ms", med * 1e3), ("gflops", shape.flops / med / 1e9), ("max_diff_vs_gemm", Double(diffs[i])),
                  ("iterations", iterations)])
        }
    }
    if !sink.isFinite { note("(non-finite output)") }
}
