// Per-image evaluation throughput of the 784-128-128-10 matrix-Gaussian MLP (random parameters):
// one Evaluator of one configuration, FGM attack with S_A attack samples, S_I inference (+ S_I fresh) samples;
// and one Evaluator over the reproduction's FGM grid (6 η × 4 S_A at S_I = 100, no fresh set)
// beside its single configuration (η = 1.5, S_A = 100), to show what the sharing saves.
// `throughput` is images/s; the malloc metrics must stay 0 (everything lives in the arena).
import Benchmark
import SNNModels
import SNNRobustness
import SNNRuntime

let benchmarks: @Sendable () -> Void = {
    let model = MatrixGaussianMLP(sizes: [784, 128, 128, 10])
    model.initialise(seed: 1, mScale: 1, logStd: -4)
    for (sa, si) in [(1, 100), (10, 100), (100, 100)] {
        let config = EvaluationConfig(eta: 1.5, attackSamples: sa, inferenceSamples: si, seed: 0)
        let arena = Arena(capacity: Evaluator.memoryPlan(model: model, configs: [config]).bytes)
        let evaluator = try! Evaluator(model: model, configs: [config], arena: arena)
        let u = UnsafeMutablePointer<Float>.allocate(capacity: 784)
        NormalStream.fill(u, count: 784, address: RandomAddress(seed: 5, role: .noise, image: 0, sample: 0), tensor: 0)
        for i in 0..<784 { evaluator.input[i] = min(1, max(0, 0.5 + 0.25 * u[i])) }
        var index = 0
        Benchmark("evaluate S_A=\(sa) S_I=\(si)", configuration: .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal, .mallocBytesCount],
            warmupIterations: 2, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 1000)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(evaluator.evaluate(index: index, label: index % 10))
                index += 1
            }
            _ = arena  // keep the arena alive with the evaluator
        }
    }

    let etas: [Float] = [0.25, 0.5, 1, 1.5, 2, 3]
    for (name, grid) in [("sweep 1 configuration", [(Float(1.5), 100)]),
                         ("sweep 24 configurations", etas.flatMap { e in [1, 5, 10, 100].map { (e, $0) } })] {
        let configs = grid.map { (eta, sa) -> EvaluationConfig in
            var c = EvaluationConfig(eta: eta, attackSamples: sa, inferenceSamples: 100, seed: 0)
            c.fresh = false
            return c
        }
        let arena = Arena(capacity: Evaluator.memoryPlan(model: model, configs: configs).bytes)
        let sweep = try! Evaluator(model: model, configs: configs, arena: arena)
        let results = UnsafeMutablePointer<ImageResult>.allocate(capacity: configs.count)
        results.initialize(repeating: ImageResult(), count: configs.count)
        let u = UnsafeMutablePointer<Float>.allocate(capacity: 784)
        NormalStream.fill(u, count: 784, address: RandomAddress(seed: 5, role: .noise, image: 0, sample: 0), tensor: 0)
        for i in 0..<784 { sweep.input[i] = min(1, max(0, 0.5 + 0.25 * u[i])) }
        var index = 0
        Benchmark(name, configuration: .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal, .mallocBytesCount],
            warmupIterations: 2, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 1000)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                sweep.evaluate(index: index, label: index % 10, into: results)
                blackHole(results[0])
                index += 1
            }
            _ = arena
        }
    }
}
