// Convolution algorithm by measurement: the product's im2col + GEMM `Conv2D.forward` against a
// SIMD direct 3×3 convolution (WRNBenchSupport/DirectConvolution.swift, 1 or 4 output channels
// per pass) at the wide ResNets' layer shapes (3×3, stride 1, pad 1, one image, with bias).
// Custom metric MFLOP/s = 2·Cout·Cin·9·H·W / t per call; results in bench/WRN-RESULTS.md.
import Benchmark
import SNNRuntime
import WRNBenchSupport

let mflops = BenchmarkMetric.custom("MFLOP/s", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    let config = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, mflops, .mallocCountTotal],
        warmupIterations: 2, scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 200)
    for shape in ConvShape.all {
        let c = ConvCase(shape)
        for algorithm in ConvAlgorithm.allCases {
            Benchmark("conv \(shape) \(algorithm.rawValue)", configuration: config) { benchmark in
                for _ in benchmark.scaledIterations {
                    let t = timed { c.run(algorithm) }
                    blackHole(c.first)
                    benchmark.measurement(mflops, Int(shape.flops / seconds(t) / 1e6))
                }
            }
        }
    }
}
