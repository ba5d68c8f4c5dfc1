import ArgumentParser
import Foundation
import SNNData

extension AdversarialWriter.Format: ExpressibleByArgument {}

extension Evaluate {
    /// Usage checks of --adversarial-out/--adversarial-format and --progress-interval.
    func validateWorkflow() throws {
        if adversarialFormat != nil && adversarialOut == nil {
            throw ValidationError("--adversarial-format applies with --adversarial-out only")
        }
        if let path = adversarialOut {
            if path == "-" || path.isEmpty {
                throw ValidationError("--adversarial-out needs a regular file: the array's header is rewritten with the image count at the end, so stdout cannot be used")
            }
            do { try AdversarialWriter.checkRegular(path) } catch { throw ValidationError("--adversarial-out \(error)") }
        }
        guard progressInterval > 0 && progressInterval.isFinite else {
            throw ValidationError("--progress-interval must be a number of seconds > 0")
        }
    }
}
