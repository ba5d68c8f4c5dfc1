import ArgumentParser
import Foundation

/// `--progress`: when to report progress on stderr.
enum ProgressMode: String, CaseIterable, ExpressibleByArgument {
    /// a live line (\r) on a terminal, otherwise a line every `--progress-interval` seconds
    case auto
    /// as auto, plus a line after the first batch and one at the end (so every log has some)
    case always
    /// nothing
    case never
}

/// Progress of `snn evaluate` on stderr: images read so far, the total when known (`--limit` or
/// the IDX header's count), the rate and the time left. On a terminal one line rewritten in place
/// (at most 4 times a second); elsewhere (a log file, a pipe) a line every `interval` seconds.
///
///     progress: 1200/10000 images (12.0%), 35.2 images/s, 0:34 elapsed, 4:10 left
///     progress: 1200 images, 35.2 images/s, 0:34 elapsed
struct ProgressReporter {
    let mode: ProgressMode
    let live: Bool
    let interval: Double
    let total: Int?
    let fd: Int32
    let started: UInt64
    var lastReport: UInt64
    var reports = 0
    var lastDone = -1
    var lastWidth = 0

    init(mode: ProgressMode, interval: Double, total: Int?, fd: Int32 = 2, terminal: Bool? = nil) {
        self.mode = mode
        self.live = terminal ?? (isatty(fd) != 0)
        self.interval = live ? 0.25 : interval
        self.total = total
        self.fd = fd
        started = DispatchTime.now().uptimeNanoseconds
        lastReport = started
    }

    var enabled: Bool { mode != .never }

    /// After each batch: `done` images read so far.
    mutating func update(done: Int) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let due = Double(now - lastReport) / 1e9 >= interval
        guard due || (mode == .always && reports == 0) else { return }
        report(done: done, now: now)
    }

    /// At the end of the run: ends the live line, or (`always`) prints the last state.
    mutating func finish(done: Int) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        if live {
            guard reports > 0 || mode == .always else { return }
            if done != lastDone { report(done: done, now: now) }
            emit("\n")
        } else if mode == .always && done != lastDone {
            report(done: done, now: now)
        }
    }

    mutating func report(done: Int, now: UInt64) {
        lastReport = now
        lastDone = done
        reports += 1
        let line = Self.line(done: done, total: total, seconds: Double(now - started) / 1e9)
        if live {
            let pad = max(0, lastWidth - line.count)
            lastWidth = line.count
            emit("\r" + line + String(repeating: " ", count: pad))
        } else {
            emit(line + "\n")
        }
    }

    func emit(_ text: String) {
        var text = text
        text.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let r = write(fd, buf.baseAddress! + off, buf.count - off)
                if r < 0 { if errno == EINTR { continue }; return }   // progress is best effort
                off += r
            }
        }
    }

    /// The text of one report (no line end).
    static func line(done: Int, total: Int?, seconds: Double) -> String {
        let rate = seconds > 0 ? Double(done) / seconds : 0
        var s = "progress: "
        if let total {
            let pct = total > 0 ? 100 * Double(done) / Double(total) : 100
            s += "\(done)/\(total) images (\(String(format: "%.1f", pct))%)"
        } else {
            s += "\(done) images"
        }
        s += ", \(String(format: "%.1f", rate)) images/s, \(clock(seconds)) elapsed"
        if let total {
            s += rate > 0 ? ", \(clock(Double(max(total - done, 0)) / rate)) left" : ", ? left"
        }
        return s
    }

    /// m:ss or h:mm:ss.
    static func clock(_ seconds: Double) -> String {
        let t = Int(seconds.rounded())
        let h = t / 3600, m = (t % 3600) / 60, s = t % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }
}
