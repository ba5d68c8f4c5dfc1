#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// True when reading stdin would not block: data, end of file or an error is pending (poll with a
/// zero timeout). Regular files are always ready, so only pipes and terminals ever say no.
func stdinReady() -> Bool {
    var p = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
    return poll(&p, 1, 0) != 0
}
