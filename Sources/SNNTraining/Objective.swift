import Foundation

/// The training objectives (docs/METHOD.md §Objectives), written as losses to minimise (their negatives), and
/// their gradient with respect to the logits of each sample.
public enum Objective: String, CaseIterable, Sendable {
    /// BNN: −(1/B) Σ_b (1/S) Σ_s log f_{y_b}(x_b, θ_s) + KL/N
    case elbo
    /// Infinite mixture: −(1/B) Σ_b log((1/S) Σ_s f_{y_b}(x_b, θ_s)) + KL/N
    case im

    /// `logp[s]` holds log-softmax rows (B×k) of sample s; writes ∂loss/∂z into `gz[s]` and returns
    /// the data term of the loss (without KL). Rows are B, classes k.
    public func dataLoss(
        logp: [UnsafeMutablePointer<Float>], labels: UnsafePointer<UInt8>, batch B: Int, classes k: Int,
        gz: [UnsafeMutablePointer<Float>]
    ) -> Double {
        let S = logp.count
        var loss = 0.0
        for b in 0..<B {
            let y = Int(labels[b])
            // weight of sample s in the gradient of image b
            var weights = (0..<S).map { _ in Float(0) }
            switch self {
            case .elbo:
                for s in 0..<S { weights[s] = 1 / Float(S * B); loss -= Double(logp[s][b * k + y]) / Double(S * B) }
            case .im:
                // log (1/S) Σ_s p_s = logsumexp_s(log p_s) − log S; w_s = softmax_s(log p_s)
                var mx = -Float.infinity
                for s in 0..<S { mx = max(mx, logp[s][b * k + y]) }
                var sum: Float = 0
                for s in 0..<S { let e = Foundation.exp(logp[s][b * k + y] - mx); weights[s] = e; sum += e }
                for s in 0..<S { weights[s] = weights[s] / sum / Float(B) }
                loss -= (Double(mx) + Foundation.log(Double(sum)) - Foundation.log(Double(S))) / Double(B)
            }
            // ∂(−log p_y)/∂z = p − e_y, scaled by the weight
            for s in 0..<S {
                let lp = logp[s] + b * k, g = gz[s] + b * k
                for c in 0..<k { g[c] = weights[s] * (Foundation.exp(lp[c]) - (c == y ? 1 : 0)) }
            }
        }
        return loss
    }
}
