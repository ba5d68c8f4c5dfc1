import ArgumentParser
import Foundation
import SNNRobustness

/// `snn summarize`: the summary JSON (docs/METHOD.md §Summaries) from the JSON lines of `snn evaluate` — one run's
/// file, or the shard files of a run split with --shard, in any order — with exact quartiles.
/// Every line is checked (fields, types, ranges) and the lines must form one complete run; the
/// first problem is an error naming the file, the line and the problem.
struct Summarize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarize JSON lines of snn evaluate (one file or the shards of one run) into the summary JSON.")

    @Argument(help: "JSON-lines files (default: stdin).") var files: [String] = []
    @Option(name: .shortAndLong, help: "Write the summary here (atomically: a temporary file, then rename). (default: stdout)") var output: String?
    @Option(help: "Also write the lines merged in image order (shards → the single run's file, byte for byte), atomically. (default: none)") var lines: String?
    @Flag(help: "Add each configuration's per-image outcomes (clean/adversarial correct, conditions) as bit vectors, for paired tests.")
    var outcomes = false

    func run() throws {
        runOrExit {
            var lines: [(line: ResultLine, place: String)] = []
            var texts: [Data.SubSequence] = []
            for name in files.isEmpty ? ["-"] : files {
                let data: Data
                if name == "-" { data = FileHandle.standardInput.readDataToEndOfFile() } else {
                    guard let d = FileManager.default.contents(atPath: name) else { throw DataFailure(message: "\(name): cannot open") }
                    data = d
                }
                let label = name == "-" ? "stdin" : name
                var number = 0
                for raw in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
                    number += 1
                    if raw.isEmpty || raw.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
                    let place = "\(label):\(number)"
                    guard let object = try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any] else {
                        throw DataFailure(message: "\(place): not a JSON object (truncated or corrupt line?)")
                    }
                    lines.append((try ResultLine(json: object, where: place), place))
                    if self.lines != nil { texts.append(raw) }
                }
            }
            let sums = try LineSummarizer.summarize(lines, outcomes: outcomes)
            if let path = self.lines {
                // image order; within an image the lines keep their order (the sweep's)
                let order = lines.indices.sorted { (lines[$0].line.result.index, $0) < (lines[$1].line.result.index, $1) }
                var out = Data()
                for i in order { out.append(contentsOf: texts[i]); out.append(0x0A) }
                try writeDataAtomically(out, to: path)
            }
            if let output { try writeJSONAtomically(Summary.file(sums), to: output) } else {
                var data = try JSONSerialization.data(withJSONObject: Summary.file(sums), options: [.prettyPrinted, .sortedKeys])
                data.append(0x0A)
                FileHandle.standardOutput.write(data)
            }
            for s in sums { FileHandle.standardError.write(s.text.data(using: .utf8)!) }
        }
    }
}
