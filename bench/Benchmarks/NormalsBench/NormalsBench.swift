// Standard normals per second from NormalStream.fill (Philox4x32-10 + Box–Muller), one thread.
// Each iteration fills 2^20 normals; "M normals/s" is computed from the timed call.
import Benchmark
import SNNRuntime

let rate = BenchmarkMetric.custom("M normals/s", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    let count = 1 << 20
    let out = UnsafeMutablePointer<Float>.allocate(capacity: count)
    out.initialize(repeating: 0, count: count)
    var sample: UInt32 = 0
    Benchmark("NormalStream.fill 1M", configuration: .init(
        metrics: [.wallClock, .throughput, rate, .mallocCountTotal],
        warmupIterations: 5, scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 10_000)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            sample &+= 1
            let address = RandomAddress(seed: 42, role: .inference, image: 7, sample: sample)
            let clock = ContinuousClock()
            let t0 = clock.now
            NormalStream.fill(out, count: count, address: address, tensor: 0)
            let d = clock.now - t0
            let s = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            benchmark.measurement(rate, Int(Double(count) / s / 1e6))
        }
        blackHole(out[count - 1])
    }
}
