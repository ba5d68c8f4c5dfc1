// The convolution algorithms compared by ConvBench at the wide ResNets' layer shapes: the
// im2col + GEMM path (`Conv2D.forwardIm2col`) and the product's direct 3×3 convolution
// (`DirectConvolution`, SNNRuntime) with and without its 32-channel input blocking. (A literal
// one-output-channel loop nest was measured too, at 11–29 GFLOP/s: bench/WRN-RESULTS.md.)
import SNNRuntime

/// One convolution shape of the comparison (3×3, stride 1, pad 1).
public struct ConvShape: Sendable, CustomStringConvertible {
    public let model: String, cin: Int, cout: Int, size: Int
    public init(_ model: String, _ cin: Int, _ cout: Int, _ size: Int) {
        self.model = model; self.cin = cin; self.cout = cout; self.size = size
    }
    public var flops: Double { 2 * Double(cout * cin * 9 * size * size) }
    public var description: String { "\(model) \(cin)→\(cout) @\(size)×\(size)" }

    /// WRN-28-10 (stem and the three group widths) and WRN-10-1 (the three group widths).
    public static let all: [ConvShape] = [
        ConvShape("WRN-28-10", 3, 16, 32), ConvShape("WRN-28-10", 160, 160, 32),
        ConvShape("WRN-28-10", 320, 320, 16), ConvShape("WRN-28-10", 640, 640, 8),
        ConvShape("WRN-10-1", 16, 16, 32), ConvShape("WRN-10-1", 32, 32, 16), ConvShape("WRN-10-1", 64, 64, 8),
    ]
}

/// The three algorithms compared.
public enum ConvAlgorithm: String, CaseIterable, Sendable {
    case im2colGEMM = "im2col+GEMM"
    case direct4 = "direct (4 out-ch/pass)"
    case direct4Blocked = "direct (4 out-ch/pass, 32-ch blocks)"
}

/// Buffers of one shape: random input, He-normal weights, small bias, outputs, scratch.
public final class ConvCase: @unchecked Sendable {
    public let shape: ConvShape
    let conv: Conv2D
    let x: FeatureMap, y: FeatureMap, yRef: FeatureMap
    let weights: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>
    let cols: UnsafeMutablePointer<Float>, gemm: UnsafeMutablePointer<Float>, padded: UnsafeMutablePointer<Float>
    let arena: Arena

    public init(_ s: ConvShape) {
        shape = s
        conv = Conv2D(inChannels: s.cin, outChannels: s.cout, kernel: 3, stride: 1)
        let n = s.size
        var plan = MemoryPlan()
        plan.add("x", floats: s.cin * n * n); plan.add("y", floats: s.cout * n * n); plan.add("yRef", floats: s.cout * n * n)
        plan.add("w", floats: conv.weightCount); plan.add("b", floats: s.cout)
        plan.add("cols", floats: conv.scratchFloats(height: n, width: n)); plan.add("gemm", floats: GEMM.scratchFloats)
        plan.add("padded", floats: DirectConvolution.scratchFloats(channels: s.cin, height: n, width: n))
        arena = Arena(capacity: plan.bytes)
        let b = try! plan.allocate(in: arena)
        x = FeatureMap(b["x"]!, channels: s.cin, height: n, width: n)
        y = FeatureMap(b["y"]!, channels: s.cout, height: n, width: n)
        yRef = FeatureMap(b["yRef"]!, channels: s.cout, height: n, width: n)
        weights = b["w"]!; bias = b["b"]!; cols = b["cols"]!; gemm = b["gemm"]!; padded = b["padded"]!
        NormalStream.fill(x.data, count: x.count, address: RandomAddress(seed: 11, role: .noise, image: 0, sample: 0), tensor: 0)
        NormalStream.fill(weights, count: conv.weightCount, address: RandomAddress(seed: 11, role: .noise, image: 0, sample: 0), tensor: 1)
        let scale = (2 / Float(s.cin * 9)).squareRoot()
        for i in 0..<conv.weightCount { weights[i] *= scale }
        for o in 0..<s.cout { bias[o] = 0.01 * Float(o % 7) }
    }

    /// One forward with `algorithm` into `y`.
    @inline(never)
    public func run(_ algorithm: ConvAlgorithm) {
        switch algorithm {
        case .im2colGEMM:
            conv.forwardIm2col(x, weights: weights, bias: bias, y, cols: cols, gemmScratch: gemm)
        case .direct4:
            DirectConvolution.forward(x, weights: weights, layout: .forward(inChannels: shape.cin), bias: bias, y,
                                      padded: padded, channelBlock: .max)
        case .direct4Blocked:
            DirectConvolution.forward(x, weights: weights, layout: .forward(inChannels: shape.cin), bias: bias, y,
                                      padded: padded, channelBlock: 32)
        }
    }

    /// max |y_algorithm − y_im2col+GEMM| (the direct loops must compute the same convolution).
    public func maxDifference(_ algorithm: ConvAlgorithm) -> Float {
        conv.forwardIm2col(x, weights: weights, bias: bias, yRef, cols: cols, gemmScratch: gemm)
        run(algorithm)
        var m: Float = 0
        for i in 0..<y.count { m = max(m, abs(y.data[i] - yRef.data[i])) }
        return m
    }

    /// A checksum of the output, to keep it alive.
    public var first: Float { y.data[0] }
}
