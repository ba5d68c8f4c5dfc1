// swift-tools-version: 6.1
import PackageDescription

// Vector code needs a target CPU: without it SIMD16<Float> FMAs become scalar fmaf calls
// (measured: a GEMM fell to ~1.5 GFLOP/s). The package is built where it runs, so `native` is right here.
// Set SNN_PORTABLE=1 to build without CPU-specific flags (e.g. to use snn as a versioned dependency).
let portable = Context.environment["SNN_PORTABLE"] != nil
let fast: [SwiftSetting] = portable ? [] : [
    .unsafeFlags(["-target-cpu", "native"], .when(configuration: .release)),
    .unsafeFlags(["-target-cpu", "native"], .when(configuration: .debug)),
]
let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]   // complete concurrency checking

let package = Package(
    name: "snn",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "snn", targets: ["snn"]),
        .library(name: "SNNRuntime", targets: ["SNNRuntime"]),
        .library(name: "SNNData", targets: ["SNNData"]),
        .library(name: "SNNModels", targets: ["SNNModels"]),
        .library(name: "SNNTraining", targets: ["SNNTraining"]),
        .library(name: "SNNRobustness", targets: ["SNNRobustness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CJemalloc", path: "Sources/CJemalloc"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "CVectorShims"),
        .target(name: "SNNRuntime", dependencies: ["CJemalloc", "CVectorShims"], swiftSettings: fast + swift6),
        .target(name: "SNNData", dependencies: ["CZlib"], swiftSettings: fast + swift6),
        .target(name: "SNNModels", dependencies: ["SNNRuntime"], swiftSettings: fast + swift6),
        .target(name: "SNNTraining", dependencies: ["SNNRuntime", "SNNModels"], swiftSettings: fast + swift6),
        .target(name: "SNNRobustness", dependencies: ["SNNRuntime", "SNNModels"], swiftSettings: fast + swift6),
        .executableTarget(
            name: "snn",
            dependencies: [
                "SNNRuntime", "SNNData", "SNNModels", "SNNTraining", "SNNRobustness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast + swift6),
        .testTarget(name: "SNNRuntimeTests", dependencies: ["SNNRuntime"], swiftSettings: fast + swift6),
        .testTarget(name: "SNNDataTests", dependencies: ["SNNData"], swiftSettings: fast + swift6),
        .testTarget(
            name: "SNNModelsTests", dependencies: ["SNNModels", "SNNTraining"],
            exclude: ["Fixtures"],  // read through #filePath (PyTorch fixtures, scripts/pytorch)
            swiftSettings: fast + swift6),
        .testTarget(
            name: "SNNRobustnessTests",
            dependencies: ["SNNRobustness", "SNNModels", "SNNData", "SNNRuntime"],
            swiftSettings: fast + swift6),
    ]
)

// Fuzz targets (scripts/fuzz, Tests/Fuzz): only when SNN_FUZZ is set. Our modules are compiled with
// libFuzzer's coverage instrumentation (-sanitize=fuzzer, at compile time only); `snn-fuzz` links
// libFuzzer without its main (scripts/fuzz passes the archive) and starts it from SNNFuzz_main.
// The CLI's module becomes a plain module whose @main entry point is renamed: its flag parsing is a target.
if Context.environment["SNN_FUZZ"] != nil {
    let instrument: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer"])]
    for t in package.targets where t.type == .regular {
        t.swiftSettings = (t.swiftSettings ?? []) + instrument
    }
    package.products.removeAll { $0.name == "snn" }
    package.targets.removeAll { $0.name == "snn" }
    package.products.append(.executable(name: "snn-fuzz", targets: ["SNNFuzz"]))
    package.targets += [
        .target(
            name: "snn",
            dependencies: [
                "SNNRuntime", "SNNData", "SNNModels", "SNNTraining", "SNNRobustness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast + swift6 + instrument + [.unsafeFlags(["-Xfrontend", "-entry-point-function-name", "-Xfrontend", "snn_main"])]),
        .target(name: "CFuzzMain", path: "Tests/Fuzz/CFuzzMain"),
        .executableTarget(
            name: "SNNFuzz",
            dependencies: [
                "snn", "SNNData", "SNNModels", "SNNRobustness", "CFuzzMain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tests/Fuzz/SNNFuzz",
            swiftSettings: swift6 + [.unsafeFlags(["-parse-as-library"])]),
    ]
}
