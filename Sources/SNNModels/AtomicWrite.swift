#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes `data` to `path` through `path.tmp` and a rename, so a reader never sees half a file.
/// - Throws: `ModelError.io(path, …)` saying which step failed, on which file, with the errno text
///   (e.g. "cannot create /dev/full/x.tmp: Not a directory").
public func writeFileAtomically(_ data: Data, to path: String) throws {
    let tmp = path + ".tmp"
    func failure(_ what: String) -> ModelError { .io(path, "\(what): \(String(cString: strerror(errno)))") }
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw failure("cannot create \(tmp)") }
    var ok = false
    defer { if !ok { unlink(tmp) } }
    let written: Bool = data.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
            let r = write(fd, raw.baseAddress! + done, raw.count - done)
            if r < 0 { if errno == EINTR { continue }; return false }
            done += r
        }
        return true
    }
    guard written else { let e = failure("cannot write \(tmp)"); close(fd); throw e }
    guard close(fd) == 0 else { throw failure("cannot write \(tmp)") }
    guard rename(tmp, path) == 0 else { throw failure("cannot rename \(tmp) to \(path)") }
    ok = true
}
