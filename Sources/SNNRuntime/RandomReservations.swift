/// Every reservation in the Philox counter space (docs/METHOD.md §Addresses, §Roles), in one
/// table: which image, sample, step and tensor values mean what. Code that builds a `RandomAddress`
/// or picks a tensor takes its numbers from here, so two uses cannot collide unnoticed
/// (RandomReservationTests checks that the tensor ranges are disjoint).
///
///   field    value                  meaning
///   image    0 ..< 2^32 − 2         the image's index in the input stream
///            0xFFFF_FFFF            shared realizations (--share-samples) and initialisation
///            0xFFFF_FFFE            the wide-ResNet trainer's dropout masks
///   sample   0 ..< 2^32 − 1         realization s of a role
///            0xFFFF_FFFF            the PGD random start (attack role)
///   step     bits 0–15              the PGD step t
///            bits 16–23             the attack or inference set stream (0: nested sets)
///            0xFF_FFFF / 0xFF_FFFE  MLP / wide-ResNet initialisation (train role)
///   tensor   0 ..< 64               explicit MLP weight noise of layer ℓ (tensor ℓ), wide-ResNet
///                                   dropout mask of block b (tensor b), the random start (0, 1)
///            64·role + j            smoothing noise draw j (j < 64) of a realization of `role`
///            512 + ℓ                the lazy sampler's revealed products of layer ℓ
///            768 + ℓ                the lazy sampler's materialized rest of layer ℓ
public enum RandomReservations {
    /// The image field of realizations shared by every image (and of initialisation draws).
    public static let sharedImage: UInt32 = 0xFFFF_FFFF
    /// The image field of the wide-ResNet trainer's dropout masks.
    public static let trainerImage: UInt32 = 0xFFFF_FFFE
    /// The sample field of the PGD random start.
    public static let randomStartSample: UInt32 = 0xFFFF_FFFF

    /// The step field: PGD step `t` (< 2^16) of set stream `stream` (< 2^8).
    @inlinable public static func step(_ t: Int, stream: UInt32) -> UInt32 {
        precondition(t >= 0 && t < 1 << 16 && stream < 1 << 8, "PGD step or set stream out of range")
        return UInt32(t) | stream << 16
    }
    /// Step fields of the initialisation draws (role train, image `sharedImage`, sample = tensor index).
    public static let mlpInitStep: UInt32 = 0xFF_FFFF
    public static let wideResNetInitStep: UInt32 = 0xFF_FFFE

    /// Tensors below this number belong to layers, blocks and the random start (one per index).
    public static let layerTensors = 64
    /// The most noise draws of a smoothed realization (one tensor each, per role).
    public static let noiseDrawsPerRole = 64
    /// The smoothing noise of draw `j` of a realization of `role`.
    @inlinable public static func smoothingNoise(role: RandomRole, draw j: Int) -> Int {
        precondition(j >= 0 && j < noiseDrawsPerRole)
        return Int(role.rawValue) * noiseDrawsPerRole + j
    }
    /// The lazy sampler's draws for layer ℓ's revealed products, and its materialized rest.
    @inlinable public static func lazyProducts(layer l: Int) -> Int { precondition(l < layerTensors); return 512 + l }
    @inlinable public static func lazyRest(layer l: Int) -> Int { precondition(l < layerTensors); return 768 + l }
}
