/// The image formats `snn evaluate` reads on stdin, as its help names them. A new format adds a
/// line here (and a case to `InputFormat`); the help text follows.
enum StdinFormats {
    static let descriptions = [
        "IDX images (idx3-ubyte) with labels from an IDX or 1-D .npy file given by --labels",
        "NumPy .npy images (uint8 or float32 in [0, 1]; N×H×W, N×H×W×C or N×C×H×W, C order) with labels from --labels",
        "CIFAR-10 binary records (1 label byte + 3072 pixel bytes, channel-major)",
    ]

    /// The list as one help paragraph.
    static var help: String {
        "Images come on stdin: " + descriptions.joined(separator: "; or ")
            + "; each gzip'd or plain (--format auto, the default, tells them apart)."
    }
}
