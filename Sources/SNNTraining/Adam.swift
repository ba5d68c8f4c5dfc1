import Foundation

/// Adam (Kingma & Ba 2015) over one flat parameter block, with bias correction.
public final class Adam {
    public let learningRate: Float, beta1: Float, beta2: Float, epsilon: Float
    public private(set) var step = 0
    let m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.count = count; self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        m = .allocate(capacity: count); m.initialize(repeating: 0, count: count)
        v = .allocate(capacity: count); v.initialize(repeating: 0, count: count)
    }
    deinit { m.deallocate(); v.deallocate() }

    /// θ ← θ − lr · m̂ / (√v̂ + ε) for the loss gradient `g` (to be minimised).
    public func update(_ theta: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>) {
        step += 1
        let c1 = 1 - Float(Foundation.pow(Double(beta1), Double(step)))
        let c2 = 1 - Float(Foundation.pow(Double(beta2), Double(step)))
        let a = learningRate / c1
        for i in 0..<count {
            let gi = g[i]
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
            theta[i] -= a * m[i] / ((v[i] / c2).squareRoot() + epsilon)
        }
    }
}
