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
            // /dev/stdout or a file stdout/stderr is redirected to: the array would mix with the text
            var st = stat(), out = stat()
            if stat(path, &st) == 0 {
                for (fd, name) in [(Int32(1), "stdout"), (2, "stderr")] where fstat(fd, &out) == 0 && out.st_dev == st.st_dev && out.st_ino == st.st_ino {
                    throw ValidationError("--adversarial-out \(path) is the same file as \(name); give another file")
                }
            }
        }
        guard progressInterval > 0 && progressInterval.isFinite else {
            throw ValidationError("--progress-interval must be a number of seconds > 0")
        }
    }
}
