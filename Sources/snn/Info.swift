import ArgumentParser
import Foundation
import SNNModels
import SNNRuntime

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a model: architecture, parameters, cost per pass and memory plan.")
    @Option(help: "Model directory, or a bare name looked up like evaluate's --model.") var model: String
    @Option(help: "Worker threads the memory plan is for.") var threads = 1

    func run() throws {
        runOrExit {
            let (m, card) = try ModelStore.load(ModelLocator.resolve(model))
            print(describe(m, card: card, threads: threads))
        }
    }
}
