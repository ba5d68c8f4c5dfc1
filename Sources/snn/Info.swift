import ArgumentParser
import Foundation
import SNNModels
import SNNRuntime

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a model: architecture, parameters, cost per pass and memory plan.")
    @Option(help: "Model directory, or a bare name looked up like evaluate's --model.") var model: String
    @Option(help: "Worker threads the memory plan is for.") var threads = 1
    @Option(help: "Matrix-Gaussian MLPs: the sampler the plan is for (as evaluate's --sampler).") var sampler: SamplerChoice = .auto

    func run() throws {
        runOrExit {
            let (m, card) = try ModelStore.load(ModelLocator.resolve(model))
            m.matrixGaussianMLP?.sampler = sampler.resolved(smoothed: m is SmoothedClassifier, shared: false)
            print(describe(m, card: card, threads: threads))
        }
    }
}
