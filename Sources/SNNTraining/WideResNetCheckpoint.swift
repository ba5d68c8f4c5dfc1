import Foundation
import SNNModels
import SNNRuntime

/// Per-epoch training state of a wide ResNet: every model tensor, the SGD momentum of every
/// trainable tensor ("velocity/<name>"), and in the metadata the epochs done, seconds spent and
/// the settings that must match on resume. Written atomically (`SafetensorsWriter`), so a run
/// stopped mid-write leaves the previous checkpoint intact.
public enum WideResNetCheckpoint {
    public static let fileName = "checkpoint.safetensors"

    public struct State: Equatable {
        public var epochsDone: Int; public var seconds: Double
        /// Schedule changes made with `allowEpochChange` ("15→8 after epoch 2; …"), for the card.
        public var scheduleNotes: String = ""
        public init(epochsDone: Int, seconds: Double, scheduleNotes: String = "") {
            self.epochsDone = epochsDone; self.seconds = seconds; self.scheduleNotes = scheduleNotes
        }
    }

    /// The settings a resumed run must share with the run that wrote the checkpoint.
    static func settings(_ t: WideResNetTrainer) -> [String: String] {
        let c = t.config, m = t.model.configuration
        return ["depth": "\(m.depth)", "widen": "\(m.widen)", "dropout": "\(m.dropout)",
                "epochs": "\(c.epochs)", "batch_size": "\(c.batchSize)", "learning_rate": "\(c.learningRate)",
                "momentum": "\(c.momentum)", "weight_decay": "\(c.weightDecay)", "seed": "\(c.seed)",
                "augment": "\(c.augment)", "milestones": c.milestones.map { "\($0)" }.joined(separator: ","),
                "decay": "\(c.decay)"]
    }

    public static func save(_ t: WideResNetTrainer, state: State, to path: String) throws {
        var list: [(name: String, shape: [Int], data: [Float])] = []
        for e in t.model.tensors {
            list.append((e.name, e.shape, Array(UnsafeBufferPointer(start: t.model.parameters.data + e.offset, count: e.count))))
        }
        for e in t.model.tensors where e.isTrainable {
            list.append(("velocity/" + e.name, e.shape, Array(UnsafeBufferPointer(start: t.velocity.data + e.offset, count: e.count))))
        }
        var meta = settings(t)
        meta["epochs_done"] = "\(state.epochsDone)"
        meta["seconds"] = String(format: "%.1f", state.seconds)
        meta["schedule_notes"] = state.scheduleNotes
        try SafetensorsWriter.write(path: path, tensors: list, metadata: meta)
    }

    /// Restores parameters and momentum into `t`; fails with a one-line reason when the file was
    /// written with other settings or lacks a tensor.
    /// With `allowEpochChange`, a different epoch count is accepted: the learning-rate schedule
    /// follows the new count from the next epoch on, and the change is recorded in `scheduleNotes`.
    public static func load(into t: WideResNetTrainer, from path: String, allowEpochChange: Bool = false) throws -> State {
        let file = try SafetensorsFile(path: path)
        for (k, v) in settings(t) where file.metadata[k] != v && !(allowEpochChange && k == "epochs") {
            throw ModelError.badCard(path, "checkpoint was written with \(k) = \(file.metadata[k] ?? "none"), this run has \(v); "
                                     + "resume with the same settings or start a new output directory")
        }
        guard let doneText = file.metadata["epochs_done"], let done = Int(doneText),
              let secondsText = file.metadata["seconds"], let seconds = Double(secondsText) else {
            throw ModelError.badCard(path, "checkpoint metadata lacks epochs_done / seconds")
        }
        try t.model.load(from: file)
        for e in t.model.tensors where e.isTrainable {
            let v = try file.floatArray("velocity/" + e.name, shape: e.shape)
            (t.velocity.data + e.offset).update(from: v, count: e.count)
        }
        var notes = file.metadata["schedule_notes"] ?? ""
        if let old = file.metadata["epochs"], old != "\(t.config.epochs)" {
            notes += (notes.isEmpty ? "" : "; ") + "epochs changed from \(old) to \(t.config.epochs) after epoch \(done)"
        }
        return State(epochsDone: done, seconds: seconds, scheduleNotes: notes)
    }
}
