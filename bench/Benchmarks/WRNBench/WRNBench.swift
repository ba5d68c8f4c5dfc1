// Per-sample cost of a wide ResNet with MC dropout (random He-normal weights, one 3×32×32 image,
// one thread): (a) "sampled forward" = draw a realization's dropout masks + forward pass;
// (b) "forward+VJP" = (a) + one VJP of a cotangent row (the input gradient of ⟨e_0 − e_1, softmax⟩).
// Custom metric MFLOP/s per iteration: (a) 2·multiplyAdds, (b) 3 × that (the VJP is counted as 2×
// the forward, the usual backward convention; the input-only VJP executes about 1× the forward's
// multiply-adds). WRN-28-10 is the model; WRN-16-4 is a quick run:
//   swift package --disable-sandbox benchmark --no-progress --filter 'WRN-16-4.*'
// The side-by-side with PyTorch is scripts/bench-wrn.sh (same code via the wrn-speed executable).
import Benchmark
import SNNModels
import SNNRuntime
import WRNBenchSupport

let mflops = BenchmarkMetric.custom("MFLOP/s", polarity: .prefersLarger, useScalingFactor: false)

final class RunnerBox: @unchecked Sendable { var runner: WRNRunner? }

let benchmarks: @Sendable () -> Void = {
    for spec in [WRNSpec(depth: 28, widen: 10), WRNSpec(depth: 16, widen: 4)] {
        let big = spec.depth == 28
        let config = Benchmark.Configuration(
            metrics: [.wallClock, .throughput, mflops, .mallocCountTotal],
            warmupIterations: 1, scalingFactor: .one,
            maxDuration: .seconds(big ? 10 : 5), maxIterations: big ? 10 : 50)
        for vjp in [false, true] {
            let box = RunnerBox()
            let name = "\(spec) " + (vjp ? "forward+VJP (sample masks, forward, 1 VJP row)" : "sampled forward (sample masks, forward)")
            Benchmark(name, configuration: config, closure: { benchmark in
                let runner = box.runner!
                let flops = vjp ? runner.forwardVJPFlops : runner.forwardFlops
                for _ in benchmark.scaledIterations {
                    var out: Float = 0
                    let t = timed { out = runner.step(vjp: vjp) }
                    blackHole(out)
                    benchmark.measurement(mflops, Int(flops / seconds(t) / 1e6))
                }
            }, setup: {
                box.runner = WRNRunner(spec, threads: 1)
            }, teardown: {
                box.runner = nil
            })
        }
    }
}
