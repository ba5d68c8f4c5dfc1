import ArgumentParser
struct Evaluate: ParsableCommand { func run() throws {} }
