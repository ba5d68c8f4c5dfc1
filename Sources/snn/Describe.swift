import SNNModels; import SNNRuntime
func describe(_ m: any StochasticClassifier, card: ModelCard, threads: Int) -> String { "\(card.name)" }
