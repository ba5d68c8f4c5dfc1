/// The version `snn --version` prints: the one place it is written.
enum SNNVersion {
    static let string = "0.5.0"
}
