import ArgumentParser
import Foundation
import SNNModels
import SNNRobustness
import SNNRuntime

/// The stated limits of `snn evaluate`'s work flags (README, "Limits"): beyond them a run would
/// take hours per image or an absurd arena, so they are usage errors (exit 2).
enum EvaluateLimits {
    /// Each value of --attack-samples / --inference-samples, and --variance-samples.
    static let maxSamples = 100_000
    /// --pgd-steps.
    static let maxPGDSteps = 10_000
    /// Configurations of one sweep: |--eta| × |--attack-samples| × |--inference-samples|.
    static let maxConfigurations = 10_000
    /// --share-chunk: images per chunk of the batched --share-samples evaluator (default and limit).
    static let defaultShareChunk = 100
    static let maxShareChunk = 10_000
    /// Set streams 1…255 (RandomReservations.step): the values one list may hold with --independent-sets.
    static let maxIndependentSets = 255

    /// Usage errors for work flags beyond the limits (called from `Evaluate.validate()`).
    static func check(_ e: Evaluate) throws {
        if let s = e.attackSamples.values.first(where: { $0 > maxSamples }) {
            throw ValidationError("--attack-samples \(s) is above the limit of \(maxSamples)")
        }
        if let s = e.inferenceSamples.values.first(where: { $0 > maxSamples }) {
            throw ValidationError("--inference-samples \(s) is above the limit of \(maxSamples)")
        }
        if e.varianceSamples > maxSamples {
            throw ValidationError("--variance-samples \(e.varianceSamples) is above the limit of \(maxSamples)")
        }
        if let t = e.pgdSteps, t > maxPGDSteps {
            throw ValidationError("--pgd-steps \(t) is above the limit of \(maxPGDSteps)")
        }
        let n = e.eta.values.count * e.attackSamples.values.count * e.inferenceSamples.values.count  // each list ≤ the argument's length
        if n > maxConfigurations {
            throw ValidationError("the sweep has \(n) configurations (--eta × --attack-samples × --inference-samples), above the limit of \(maxConfigurations)")
        }
        // --independent-sets: the i-th listed S draws from set stream i + 1, 8 bits of the step field
        if e.independentSets, let long = [("--attack-samples", e.attackSamples.values.count), ("--inference-samples", e.inferenceSamples.values.count)]
            .first(where: { $0.1 > maxIndependentSets }) {
            throw ValidationError("\(long.0) lists \(long.1) values; with --independent-sets at most \(maxIndependentSets) (one random stream each)")
        }
        if let c = e.shareChunk {
            guard e.shareSamples else { throw ValidationError("--share-chunk applies with --share-samples only") }
            guard c >= 1 && c <= maxShareChunk else { throw ValidationError("--share-chunk must be between 1 and \(maxShareChunk), got \(c)") }
        }
        if let b = e.memoryBudget, b.trimmingCharacters(in: .whitespaces).hasPrefix("-") {
            throw ValidationError("--memory-budget must be a size ≥ 0, got '\(b)' (examples: 64MiB, 200M, 1073741824)")
        }
    }

    /// `--dry-run`: the work of one image, as realizations and forward-equivalent passes (a VJP
    /// or JVP counted as one pass): an upper bound, since a sweep shares work between its
    /// configurations (README, "Sweeps").
    static func work(model m: any StochasticClassifier, configs: [EvaluationConfig]) -> String {
        let noise = (m as? SmoothedClassifier)?.noiseSamples ?? 1
        let plan = EvaluationPlan(configs: configs, model: m)
        var attackRealizations = 0, attackPasses = 0
        for c in plan.attacks {
            let steps = c.attack.method == .pgd ? c.attack.pgdSteps : 1
            let perSample = c.attack.loss == .ce ? 2 : 3          // forward + VJP (margin / CW: one more forward)
            attackRealizations += c.attackSamples * steps
            attackPasses += c.attackSamples * steps * perSample
        }
        let a = plan.attacks.count
        let inference = configs.map(\.inferenceSamples).max() ?? 0
        var inferencePasses = inference * (1 + (a > 0 ? 2 * a : 0))   // forward of 1 + A rows, a JVP per attack
        // the Jacobian (k VJPs), or a second forward + VJP: the evaluation plan's choice
        let fullJacobian = plan.strategy == .fullJacobian
        if a > 0 { inferencePasses += inference * (fullJacobian ? m.classCount : 2) }
        let fresh = configs.filter { $0.eta > 0 && $0.fresh }.reduce(0) { $0 + $1.inferenceSamples }
        let variance = configs.first?.varianceSamples ?? 0
        let realizations = attackRealizations + inference + fresh + variance
        let passes = (attackPasses + inferencePasses + fresh + variance) * noise
        var line = "work per image  at most \(realizations) realizations: attack \(attackRealizations) (\(a) distinct attack(s), S_A × steps), "
            + "inference \(inference), fresh \(fresh), variance \(variance); \(passes) forward-equivalent passes (a sweep shares some of this work)"
        if noise > 1 { line += " (× \(noise) noise draws of the smoothed model)" }
        return line
    }

    /// Refuses an arena total that the machine cannot hold, before anything is allocated.
    static func checkPhysicalMemory(_ bytes: Int, what: String) throws {
        if let physical = Arena.physicalMemory, bytes > physical {
            throw AllocationFailure(requested: bytes, what: what,
                                    reason: "more than the machine's physical memory, \(physical) bytes (\(ByteCount.format(physical)))")
        }
    }
}
