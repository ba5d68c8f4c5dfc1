import Foundation
import SNNRuntime

/// The wide ResNet with MC dropout (docs/METHOD.md §Wide ResNet), in the layout of the paper's code base
/// (github.com/meliketoy/wide-resnet.pytorch, `networks/wide_resnet.py`):
///
///     pixels [0,1] → zero-pad to paddedHeight×paddedWidth (optional, FashionMNIST 28→32)
///            → per-channel (x − mean)/std → conv3×3 (in → 16, bias)
///            → 3 groups × n = (depth − 4)/6 pre-activation blocks, widths 16k, 32k, 64k, strides 1, 2, 2
///            → BN → ReLU → global average pool → linear
///     block: BN → ReLU → conv3×3 (bias) → dropout(p) → BN → ReLU → conv3×3 (bias, stride)
///            + shortcut (1×1 conv with bias and stride when the stride or the width changes, else identity)
///
/// Padding comes first: padded pixels are 0 in pixel space and so (0 − mean)/std after the
/// normalisation (as `transforms.Pad` before `Normalize` in a torchvision pipeline). The head pools
/// over the whole final map (8×8 for 32×32 inputs, where it equals the code base's `avg_pool2d(·, 8)`).
///
/// Batch norm uses running statistics (evaluation mode, ε = 1e-5); dropout stays on: a realization
/// is the set of dropout masks, block b's mask being tensor b of the sample's `RandomAddress`
/// (`Dropout.fillMask`, kept iff u ≥ p, scaled by 1/(1 − p)).
///
/// Parameters live in one `ParameterBlock` as PyTorch tensors under their `state_dict` names
/// (`conv1.weight`, `layer1.0.bn1.running_mean`, `layer2.0.shortcut.0.weight`, `bn1.weight`,
/// `linear.bias`, …), in `state_dict` order; `num_batches_tracked` is not stored.
public final class WideResNet {
    public static let kind = "wide-resnet"
    /// CIFAR-10 normalisation of the code base's `config.py`.
    public static let cifar10Mean: [Float] = [0.4914, 0.4822, 0.4465]
    public static let cifar10Std: [Float] = [0.2023, 0.1994, 0.2010]

    public struct Configuration: Equatable, Sendable {
        public var depth: Int
        public var widen: Int
        /// Dropout probability p ∈ [0, 1).
        public var dropout: Float
        public var inputChannels: Int
        public var classes: Int
        /// Size of the input in pixel space (what `inputSize` counts).
        public var inputHeight: Int, inputWidth: Int
        /// Size after zero padding (equal to the input size when there is none).
        public var paddedHeight: Int, paddedWidth: Int
        /// Per-channel normalisation (x − mean)/std, the model's first layer after padding.
        public var mean: [Float], std: [Float]

        public init(depth: Int, widen: Int, dropout: Float, inputChannels: Int = 3, classes: Int = 10,
                    inputHeight: Int = 32, inputWidth: Int = 32, padTo: (height: Int, width: Int)? = nil,
                    mean: [Float]? = nil, std: [Float]? = nil) {
            self.depth = depth; self.widen = widen; self.dropout = dropout
            self.inputChannels = inputChannels; self.classes = classes
            self.inputHeight = inputHeight; self.inputWidth = inputWidth
            self.paddedHeight = padTo?.height ?? inputHeight; self.paddedWidth = padTo?.width ?? inputWidth
            self.mean = mean ?? [Float](repeating: 0, count: inputChannels)
            self.std = std ?? [Float](repeating: 1, count: inputChannels)
        }

        /// The CIFAR-10 model: 3×32×32, 10 classes, the code base's normalisation.
        public static func cifar10(depth: Int, widen: Int, dropout: Float) -> Configuration {
            Configuration(depth: depth, widen: widen, dropout: dropout, mean: WideResNet.cifar10Mean, std: WideResNet.cifar10Std)
        }

        /// Blocks per group, n = (depth − 4)/6.
        public var blocksPerGroup: Int { (depth - 4) / 6 }

        /// Why this configuration cannot be built, or nil.
        public var problem: String? {
            if depth < 10 || (depth - 4) % 6 != 0 { return "depth must be 6n + 4 with n ≥ 1, got \(depth)" }
            if depth > ModelLimits.maxDepth { return "depth must be at most \(ModelLimits.maxDepth), got \(depth)" }
            if widen < 1 || widen > ModelLimits.maxWiden { return "widen factor must be between 1 and \(ModelLimits.maxWiden), got \(widen)" }
            if !(dropout >= 0 && dropout < 1) { return "dropout probability must be in [0, 1), got \(dropout)" }
            if inputChannels < 1 || classes < 1 { return "need at least one input channel and one class" }
            if inputChannels > ModelLimits.maxChannels || classes > ModelLimits.maxClasses {
                return "at most \(ModelLimits.maxChannels) input channels and \(ModelLimits.maxClasses) classes"
            }
            if inputHeight < 1 || inputWidth < 1 { return "input size must be positive" }
            if paddedHeight > ModelLimits.maxImageSide || paddedWidth > ModelLimits.maxImageSide {
                return "image side must be at most \(ModelLimits.maxImageSide) pixels, got \(paddedHeight)×\(paddedWidth)"
            }
            if paddedHeight < inputHeight || paddedWidth < inputWidth { return "padding cannot shrink the input" }
            if mean.count != inputChannels || std.count != inputChannels { return "mean/std need one value per input channel" }
            if !std.allSatisfy({ $0 > 0 && $0.isFinite }) || !mean.allSatisfy({ $0.isFinite }) { return "std must be positive and finite" }
            return nil
        }
    }

    /// One named PyTorch tensor in the parameter block.
    public struct TensorEntry: Sendable {
        public let name: String
        public let shape: [Int]
        /// Offset in floats within `parameters`.
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
        /// Running statistics are stored but not trained.
        public var isTrainable: Bool { !name.hasSuffix("running_mean") && !name.hasSuffix("running_var") }
    }

    package struct ConvLayer {
        package let conv: Conv2D
        package let weight: UnsafeMutablePointer<Float>
        package let bias: UnsafeMutablePointer<Float>
    }

    package struct NormLayer {
        package let channels: Int
        package let gamma, beta, runningMean, runningVar: UnsafeMutablePointer<Float>
        /// Derived: scale = γ/√(σ² + ε), shift = β − scale·μ.
        package let scale, shift: UnsafeMutablePointer<Float>
    }

    /// One pre-activation block. H×W is the block's input size; the output is outHeight×outWidth.
    package struct Block {
        package let name: String
        package let inPlanes: Int, planes: Int, stride: Int
        package let height: Int, width: Int, outHeight: Int, outWidth: Int
        package let bn1: NormLayer, conv1: ConvLayer, bn2: NormLayer, conv2: ConvLayer
        package let shortcut: ConvLayer?
        /// Elements of the dropout mask (planes·H·W).
        package var maskCount: Int { planes * height * width }
    }

    public let configuration: Configuration
    public let name: String
    /// Every tensor, `state_dict` order.
    public let tensors: [TensorEntry]
    public let parameters: ParameterBlock
    let derived: ParameterBlock
    package let stem: ConvLayer
    package let blocks: [Block]
    package let head: NormLayer
    package let linearWeight: UnsafeMutablePointer<Float>   // classes × channels (PyTorch layout)
    package let linearBias: UnsafeMutablePointer<Float>
    package let headChannels: Int, headHeight: Int, headWidth: Int
    private let index: [String: Int]

    public var inputSize: Int { configuration.inputChannels * configuration.inputHeight * configuration.inputWidth }
    public var classCount: Int { configuration.classes }
    /// Trainable parameters (conv and linear weights and biases, BN γ and β).
    public let parameterCount: Int
    /// Multiply-adds of one forward pass of one image (convolutions and the linear layer).
    public let multiplyAdds: Int
    /// Dropout layers (one per block) and their element counts: block b's mask is tensor b.
    public var dropoutMaskCounts: [Int] { blocks.map(\.maskCount) }
    /// Block names in `state_dict` form ("layer1.0", …), in order (= dropout tensor indices).
    public var blockNames: [String] { blocks.map(\.name) }

    public init(_ configuration: Configuration, name: String = "wide-resnet") {
        if let problem = configuration.problem { preconditionFailure("WideResNet: \(problem)") }
        self.configuration = configuration
        self.name = name
        let layout = Self.layout(configuration)
        var entries: [TensorEntry] = [], offset = 0
        for (n, shape) in layout.tensors {
            let e = TensorEntry(name: n, shape: shape, offset: offset)
            entries.append(e); offset += e.count
        }
        tensors = entries
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.name] = i }
        self.index = index
        parameters = ParameterBlock(count: offset)
        parameterCount = entries.filter(\.isTrainable).reduce(0) { $0 + $1.count }
        let bnChannels = layout.norms.reduce(0) { $0 + $1.channels }
        derived = ParameterBlock(count: 2 * bnChannels)

        let base = parameters.data
        func p(_ n: String) -> UnsafeMutablePointer<Float> { base + entries[index[n]!].offset }
        var d = derived.data
        func norm(_ prefix: String, _ channels: Int) -> NormLayer {
            defer { d += 2 * channels }
            return NormLayer(channels: channels, gamma: p(prefix + ".weight"), beta: p(prefix + ".bias"),
                             runningMean: p(prefix + ".running_mean"), runningVar: p(prefix + ".running_var"),
                             scale: d, shift: d + channels)
        }
        func conv(_ prefix: String, _ cin: Int, _ cout: Int, _ k: Int, _ s: Int) -> ConvLayer {
            ConvLayer(conv: Conv2D(inChannels: cin, outChannels: cout, kernel: k, stride: s),
                      weight: p(prefix + ".weight"), bias: p(prefix + ".bias"))
        }
        stem = conv("conv1", configuration.inputChannels, 16, 3, 1)
        var blocks: [Block] = []
        var macs = 16 * configuration.inputChannels * 9 * configuration.paddedHeight * configuration.paddedWidth
        for b in layout.blocks {
            let bn1 = norm(b.name + ".bn1", b.inPlanes)
            let c1 = conv(b.name + ".conv1", b.inPlanes, b.planes, 3, 1)
            let bn2 = norm(b.name + ".bn2", b.planes)
            let c2 = conv(b.name + ".conv2", b.planes, b.planes, 3, b.stride)
            let sc = b.hasShortcut ? conv(b.name + ".shortcut.0", b.inPlanes, b.planes, 1, b.stride) : nil
            let (ho, wo) = c2.conv.outputSize(height: b.height, width: b.width)
            blocks.append(Block(name: b.name, inPlanes: b.inPlanes, planes: b.planes, stride: b.stride,
                                height: b.height, width: b.width, outHeight: ho, outWidth: wo,
                                bn1: bn1, conv1: c1, bn2: bn2, conv2: c2, shortcut: sc))
            macs += b.planes * b.inPlanes * 9 * b.height * b.width + b.planes * b.planes * 9 * ho * wo
            if b.hasShortcut { macs += b.planes * b.inPlanes * ho * wo }
        }
        self.blocks = blocks
        let last = blocks[blocks.count - 1]
        headChannels = last.planes; headHeight = last.outHeight; headWidth = last.outWidth
        head = norm("bn1", headChannels)
        linearWeight = p("linear.weight"); linearBias = p("linear.bias")
        macs += configuration.classes * headChannels
        multiplyAdds = macs
        // BN defaults of a fresh PyTorch module: γ = 1, β = 0, μ = 0, σ² = 1.
        for n in [head] + blocks.flatMap({ [$0.bn1, $0.bn2] }) {
            n.gamma.update(repeating: 1, count: n.channels)
            n.runningVar.update(repeating: 1, count: n.channels)
        }
        refreshDerived()
    }

    struct BlockLayout { let name: String; let inPlanes, planes, stride, height, width: Int; let hasShortcut: Bool }

    /// Tensor names and shapes in `state_dict` order, the blocks, and the BN layers.
    static func layout(_ c: Configuration) -> (tensors: [(String, [Int])], blocks: [BlockLayout], norms: [(name: String, channels: Int)]) {
        var t: [(String, [Int])] = [], norms: [(name: String, channels: Int)] = []
        func conv(_ n: String, _ cin: Int, _ cout: Int, _ k: Int) { t.append((n + ".weight", [cout, cin, k, k])); t.append((n + ".bias", [cout])) }
        func bn(_ n: String, _ ch: Int) {
            for s in ["weight", "bias", "running_mean", "running_var"] { t.append((n + "." + s, [ch])) }
            norms.append((n, ch))
        }
        conv("conv1", c.inputChannels, 16, 3)
        var blocks: [BlockLayout] = []
        var inPlanes = 16, h = c.paddedHeight, w = c.paddedWidth
        for (g, (width, stride)) in [(16, 1), (32, 2), (64, 2)].enumerated() {
            let planes = width * c.widen
            for i in 0..<c.blocksPerGroup {
                let s = i == 0 ? stride : 1
                let name = "layer\(g + 1).\(i)"
                let shortcut = s != 1 || inPlanes != planes
                bn(name + ".bn1", inPlanes)
                conv(name + ".conv1", inPlanes, planes, 3)
                bn(name + ".bn2", planes)
                conv(name + ".conv2", planes, planes, 3)
                if shortcut { conv(name + ".shortcut.0", inPlanes, planes, 1) }
                blocks.append(BlockLayout(name: name, inPlanes: inPlanes, planes: planes, stride: s, height: h, width: w, hasShortcut: shortcut))
                inPlanes = planes
                h = (h - 1) / s + 1; w = (w - 1) / s + 1
            }
        }
        bn("bn1", inPlanes)
        t.append(("linear.weight", [c.classes, inPlanes]))
        t.append(("linear.bias", [c.classes]))
        return (t, blocks, norms)
    }

    /// The storage of tensor `name` (a `state_dict` name), or nil.
    public func tensor(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        guard let i = index[name] else { return nil }
        return UnsafeMutableBufferPointer(start: parameters.data + tensors[i].offset, count: tensors[i].count)
    }

    /// Recomputes the folded batch-norm scale and shift after parameters changed (load, training).
    public func refreshDerived() {
        for n in [head] + blocks.flatMap({ [$0.bn1, $0.bn2] }) {
            BatchNorm.fold(channels: n.channels, gamma: n.gamma, beta: n.beta, runningMean: n.runningMean,
                           runningVar: n.runningVar, scale: n.scale, shift: n.shift)
        }
    }

    /// He-normal convolution and linear weights (std √(2/fan-in)) drawn from the `train` stream of
    /// `seed`, zero biases, BN γ = 1, β = 0 and running statistics μ = 0, σ² = 1.
    public func initialise(seed: UInt64) {
        parameters.data.update(repeating: 0, count: parameters.count)
        for (i, e) in tensors.enumerated() {
            let p = parameters.data + e.offset
            if e.shape.count == 4 || e.name == "linear.weight" {
                let address = RandomAddress(seed: seed, role: .train, image: RandomReservations.sharedImage, sample: UInt32(i),
                                            step: RandomReservations.wideResNetInitStep)
                NormalStream.fill(p, count: e.count, address: address, tensor: 0)
                let fanIn = e.shape.dropFirst().reduce(1, *)
                let s = (2 / Float(fanIn)).squareRoot()
                for j in 0..<e.count { p[j] *= s }
            } else if e.name.hasSuffix(".weight") || e.name.hasSuffix("running_var") {
                p.update(repeating: 1, count: e.count)
            }
        }
        refreshDerived()
    }

    // MARK: files

    /// Copies every tensor from `file` (shapes must match; other tensors such as
    /// `num_batches_tracked` are ignored) and refreshes the derived constants.
    public func load(from file: SafetensorsFile) throws {
        for e in tensors {
            let src = try file.floatArray(e.name, shape: e.shape)
            if let i = src.firstIndex(where: { !$0.isFinite }) {
                throw ModelError.badWeights(file.path, "tensor \"\(e.name)\" has the non-finite value \(src[i]) at element \(i)")
            }
            if e.name.hasSuffix("running_var"), let i = src.firstIndex(where: { $0 < 0 }) {
                throw ModelError.badWeights(file.path, "tensor \"\(e.name)\" has the negative running variance \(src[i]) at element \(i) (a variance is ≥ 0)")
            }
            (parameters.data + e.offset).update(from: src, count: e.count)
        }
        refreshDerived()
    }

    /// Metadata keys in `weights.safetensors` that carry what the model card does not:
    /// depth, widen, dropout, mean, std (comma-separated), padded_height, padded_width.
    public func metadata() -> [String: String] {
        let c = configuration
        func list(_ v: [Float]) -> String { v.map { "\($0)" }.joined(separator: ",") }
        return ["format": "snn-model/1", "kind": Self.kind, "depth": "\(c.depth)", "widen": "\(c.widen)",
                "dropout": "\(c.dropout)", "mean": list(c.mean), "std": list(c.std),
                "padded_height": "\(c.paddedHeight)", "padded_width": "\(c.paddedWidth)"]
    }

    /// The configuration stored in a weights file's metadata, with input size and classes from the card.
    public static func configuration(metadata m: [String: String], card: ModelCard, path: String) throws -> Configuration {
        // every integer is bounded (ModelLimits) before the layout multiplies it
        let limits: [String: (Int, Int)] = ["depth": (10, ModelLimits.maxDepth), "widen": (1, ModelLimits.maxWiden),
                                            "padded_height": (card.input.height, ModelLimits.maxImageSide),
                                            "padded_width": (card.input.width, ModelLimits.maxImageSide)]
        func int(_ k: String) throws -> Int {
            guard let s = m[k], let v = Int(s) else { throw ModelError.badCard(path, "metadata \"\(k)\" missing or not an integer") }
            if let r = limits[k], !(r.0...r.1).contains(v) {
                throw ModelError.badCard(path, "metadata \"\(k)\" is \(v), outside the limit \(r.0)…\(r.1)")
            }
            return v
        }
        func floats(_ k: String) throws -> [Float] {
            guard let s = m[k] else { throw ModelError.badCard(path, "metadata \"\(k)\" missing") }
            let v = s.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard v.count == card.input.channels else { throw ModelError.badCard(path, "metadata \"\(k)\" needs \(card.input.channels) numbers") }
            return v
        }
        guard let ps = m["dropout"], let p = Float(ps) else { throw ModelError.badCard(path, "metadata \"dropout\" missing or not a number") }
        let c = Configuration(depth: try int("depth"), widen: try int("widen"), dropout: p, inputChannels: card.input.channels,
                              classes: card.classes, inputHeight: card.input.height, inputWidth: card.input.width,
                              padTo: (try int("padded_height"), try int("padded_width")),
                              mean: try floats("mean"), std: try floats("std"))
        if let problem = c.problem { throw ModelError.badCard(path, problem) }
        return c
    }

    /// Loads `dir/weights.safetensors` described by `card` (kind "wide-resnet").
    public static func load(_ dir: String, card: ModelCard) throws -> WideResNet {
        let file = try SafetensorsFile(path: ModelStore.weightsPath(dir))
        try ModelStore.checkWeightsMetadata(file, kind: kind)
        let configuration = try configuration(metadata: file.metadata, card: card, path: file.path)
        try ModelStore.checkCardAgrees(card, with: configuration, cardPath: ModelStore.cardPath(dir), weightsPath: file.path)
        // every tensor's shape is checked before the parameters are allocated (their size is then
        // bounded by the mapped file's)
        for (name, shape) in layout(configuration).tensors { try file.requireShape(name, shape) }
        let model = WideResNet(configuration, name: card.name)
        try model.load(from: file)
        return model
    }

    /// Writes `dir/weights.safetensors` (with the configuration in its metadata) and `dir/model.json`.
    public func save(card: ModelCard, to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let list = tensors.map { e in
            (name: e.name, shape: e.shape, data: Array(UnsafeBufferPointer(start: parameters.data + e.offset, count: e.count)))
        }
        try SafetensorsWriter.write(path: ModelStore.weightsPath(dir), tensors: list, metadata: metadata())
        try card.write(path: ModelStore.cardPath(dir))
    }
}

extension WideResNet: StochasticClassifier {
    public var smoothness: Float? { nil }
    public func makeWorkspace(arena: Arena, rows: Int, cotangents: Int) throws -> any ClassifierWorkspace {
        try WideResNetWorkspace(model: self, arena: arena, rows: rows, cotangents: cotangents)
    }
}
