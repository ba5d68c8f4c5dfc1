import ArgumentParser
import Foundation

@main
struct SNN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snn",
        abstract: "Measure how sampling changes the adversarial robustness of stochastic neural networks.",
        discussion: "The method and its formulas: docs/METHOD.md; commands, output fields and errors: README.md.",
        version: SNNVersion.string,
        subcommands: [Evaluate.self, Summarize.self, Train.self, Info.self, Card.self])

    /// ArgumentParser's usage errors exit with 64 (EX_USAGE); this tool's contract is 2 for usage
    /// and 1 for data errors (README, error catalogue).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write((fullMessage(for: error) + "\n").data(using: .utf8)!)
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Exit statuses: 2 for usage errors (ArgumentParser's ValidationError), 1 for data errors.
struct DataFailure: Error, CustomStringConvertible {
    let description: String
    init(_ error: Error) { description = "\(error)" }
    init(message: String) { description = message }
}

func fail(_ error: Error) -> Never {
    FileHandle.standardError.write(("snn: error: " + "\(error)" + "\n").data(using: .utf8)!)
    exit(1)
}

func runOrExit(_ body: () throws -> Void) {
    do { try body() } catch let e as ValidationError {
        FileHandle.standardError.write(("Error: " + e.message + "\n").data(using: .utf8)!)
        exit(2)
    } catch { fail(error) }
}
