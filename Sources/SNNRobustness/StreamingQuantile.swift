/// The P² algorithm (Jain & Chlamtac 1985): a running estimate of one quantile in O(1) memory,
/// so summaries stay flat however long the stream. Exact for the first five values; `snn
/// summarize` (from the JSON lines) is the exact alternative.
public struct StreamingQuantile {
    public let p: Double
    var heights = [Double](repeating: 0, count: 5)
    var positions = [Double](repeating: 0, count: 5)
    var desired = [Double](repeating: 0, count: 5)
    var increments = [Double](repeating: 0, count: 5)
    public private(set) var count = 0

    public init(_ p: Double) {
        self.p = p
        positions = [1, 2, 3, 4, 5]
        desired = [1, 1 + 2 * p, 1 + 4 * p, 3 + 2 * p, 5]
        increments = [0, p / 2, p, (1 + p) / 2, 1]
    }

    public mutating func add(_ x: Double) {
        guard x.isFinite else { return }
        if count < 5 {
            heights[count] = x
            count += 1
            if count == 5 { heights.sort() }
            return
        }
        count += 1
        var k: Int
        if x < heights[0] { heights[0] = x; k = 0 }
        else if x >= heights[4] { heights[4] = max(heights[4], x); k = 3 }
        else { k = 0; while k < 3 && x >= heights[k + 1] { k += 1 } }
        for i in (k + 1)..<5 { positions[i] += 1 }
        for i in 0..<5 { desired[i] += increments[i] }
        for i in 1...3 {
            let d = desired[i] - positions[i]
            if (d >= 1 && positions[i + 1] - positions[i] > 1) || (d <= -1 && positions[i - 1] - positions[i] < -1) {
                let s: Double = d >= 0 ? 1 : -1
                let q = parabolic(i, s)
                heights[i] = (heights[i - 1] < q && q < heights[i + 1]) ? q : linear(i, s)
                positions[i] += s
            }
        }
    }

    func parabolic(_ i: Int, _ s: Double) -> Double {
        let n = positions, q = heights
        return q[i] + s / (n[i + 1] - n[i - 1]) * ((n[i] - n[i - 1] + s) * (q[i + 1] - q[i]) / (n[i + 1] - n[i])
            + (n[i + 1] - n[i] - s) * (q[i] - q[i - 1]) / (n[i] - n[i - 1]))
    }
    func linear(_ i: Int, _ s: Double) -> Double {
        let j = i + Int(s)
        return heights[i] + s * (heights[j] - heights[i]) / (positions[j] - positions[i])
    }

    /// The current estimate (nil before any value).
    public var value: Double? {
        if count == 0 { return nil }
        if count <= 5 {
            let sorted = heights[0..<count].sorted()
            let rank = p * Double(count - 1)
            let lo = Int(rank.rounded(.down)), hi = min(lo + 1, count - 1)
            return sorted[lo] + (rank - Double(lo)) * (sorted[hi] - sorted[lo])
        }
        return heights[2]
    }
}
