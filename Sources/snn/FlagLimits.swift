import ArgumentParser

// Flag limits of `snn info` and `snn card` (README, "Limits"): usage errors, exit 2.

extension Info {
    func validate() throws {
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
    }
}

extension Card {
    func validate() throws {
        guard varianceSamples >= 0 && varianceSamples <= EvaluateLimits.maxSamples else {
            throw ValidationError("--variance-samples must be between 0 and \(EvaluateLimits.maxSamples), got \(varianceSamples)")
        }
    }
}
