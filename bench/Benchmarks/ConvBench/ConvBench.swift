// Convolution algorithm by measurement: the product's im2col + GEMM `Conv2D.forward` against a
// SIMD direct 3×3 convolution (WRNBenchSupport/DirectConvolution.swift, 1 or 4 output channels
// per pass) at the wide ResNets' layer shapes (3×3, stride 1, pad 1, one image, with bias), and
// the stride-2 layers (3×3 pad 1 and the 1×1 shortcuts): `Conv2D.forwardIm2col` against
// `StridedConvolution.forward` (SNNRuntime).
// Custom metric MFLOP/s = 2·Cout·Cin·k²·Ho·Wo / t per call; results in bench/WRN-RESULTS.md.
import Benchmark
import SNNRuntime
import WRNBenchSupport

let mflops = BenchmarkMetric.custom("MFLOP/s", polarity: .prefersLarger, useScalingFactor: false)

/// One stride-2 layer (input size `size`×`size`, output half of it).
struct StridedShape: CustomStringConvertible {
    let model: String, kernel: Int, cin: Int, cout: Int, size: Int
    var out: Int { (size - 1) / 2 + 1 }
    var flops: Double { 2 * Double(cout * cin * kernel * kernel * out * out) }
    var description: String { "\(model) \(kernel)x\(kernel)/2 \(cin)→\(cout) @\(size)×\(size)" }

    /// The group transitions of WRN-10-1, WRN-16-4 and WRN-28-10 (and WRN-10-2's first, the fixture's) (pre-activation blocks: conv2 is
    /// the strided 3×3, planes → planes; the 1×1 shortcut maps inPlanes → planes).
    static let all: [StridedShape] = [
        StridedShape(model: "WRN-10-1", kernel: 3, cin: 32, cout: 32, size: 32),
        StridedShape(model: "WRN-10-1", kernel: 3, cin: 64, cout: 64, size: 16),
        StridedShape(model: "WRN-10-1", kernel: 1, cin: 16, cout: 32, size: 32),
        StridedShape(model: "WRN-10-1", kernel: 1, cin: 32, cout: 64, size: 16),
        StridedShape(model: "WRN-10-2", kernel: 3, cin: 64, cout: 64, size: 32),
        StridedShape(model: "WRN-16-4", kernel: 3, cin: 128, cout: 128, size: 32),
        StridedShape(model: "WRN-16-4", kernel: 3, cin: 256, cout: 256, size: 16),
        StridedShape(model: "WRN-28-10", kernel: 3, cin: 320, cout: 320, size: 32),
        StridedShape(model: "WRN-28-10", kernel: 3, cin: 640, cout: 640, size: 16),
        StridedShape(model: "WRN-28-10", kernel: 1, cin: 160, cout: 320, size: 32),
        StridedShape(model: "WRN-28-10", kernel: 1, cin: 320, cout: 640, size: 16),
    ]
}

/// Buffers of one stride-2 shape (random input and weights, small bias), from one arena.
final class StridedCase: @unchecked Sendable {
    let conv: Conv2D
    let x: FeatureMap, y: FeatureMap
    let weights: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>
    let cols: UnsafeMutablePointer<Float>, gemm: UnsafeMutablePointer<Float>
    let arena: Arena

    init(_ s: StridedShape) {
        conv = Conv2D(inChannels: s.cin, outChannels: s.cout, kernel: s.kernel, stride: 2)
        var plan = MemoryPlan()
        plan.add("x", floats: s.cin * s.size * s.size); plan.add("y", floats: s.cout * s.out * s.out)
        plan.add("w", floats: conv.weightCount); plan.add("b", floats: s.cout)
        plan.add("cols", floats: conv.scratchFloats(height: s.size, width: s.size)); plan.add("gemm", floats: GEMM.scratchFloats)
        arena = Arena(capacity: plan.bytes)
        let b = try! plan.allocate(in: arena)
        x = FeatureMap(b["x"]!, channels: s.cin, height: s.size, width: s.size)
        y = FeatureMap(b["y"]!, channels: s.cout, height: s.out, width: s.out)
        weights = b["w"]!; bias = b["b"]!; cols = b["cols"]!; gemm = b["gemm"]!
        NormalStream.fill(x.data, count: x.count, address: RandomAddress(seed: 11, role: .noise, image: 0, sample: 0), tensor: 0)
        NormalStream.fill(weights, count: conv.weightCount, address: RandomAddress(seed: 11, role: .noise, image: 0, sample: 0), tensor: 1)
        for o in 0..<s.cout { bias[o] = 0.01 * Float(o % 7) }
    }

    @inline(never) func im2colGEMM() { conv.forwardIm2col(x, weights: weights, bias: bias, y, cols: cols, gemmScratch: gemm) }
    @inline(never) func direct() { StridedConvolution.forward(conv, x, weights: weights, bias: bias, y, scratch: cols) }
}

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
    for shape in StridedShape.all {
        let c = StridedCase(shape)
        for (name, body) in [("im2col+GEMM", c.im2colGEMM), ("direct strided", c.direct)] {
            Benchmark("strided \(shape) \(name)", configuration: config) { benchmark in
                for _ in benchmark.scaledIterations {
                    let t = timed { body() }
                    blackHole(c.y.data[0])
                    benchmark.measurement(mflops, Int(shape.flops / seconds(t) / 1e6))
                }
            }
        }
    }
}
