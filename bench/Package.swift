// swift-tools-version: 6.1
// Benchmarks for snn (a separate package so that package-benchmark stays out of the product's
// dependency graph). Run: cd bench && swift package --disable-sandbox benchmark --no-progress
import PackageDescription

let benchSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "native"]),
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "snn-bench",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "snn", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "GEMMBench",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "SNNRuntime", package: "snn"),
            ],
            path: "Benchmarks/GEMMBench",
            swiftSettings: benchSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
        .executableTarget(
            name: "NormalsBench",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "SNNRuntime", package: "snn"),
            ],
            path: "Benchmarks/NormalsBench",
            swiftSettings: benchSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
        .executableTarget(
            name: "EvaluateBench",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "SNNRuntime", package: "snn"),
                .product(name: "SNNModels", package: "snn"),
                .product(name: "SNNRobustness", package: "snn"),
            ],
            path: "Benchmarks/EvaluateBench",
            swiftSettings: benchSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
        // Wide ResNet per-sample speed and the convolution-algorithm comparison (bench/WRN-RESULTS.md).
        .target(
            name: "WRNBenchSupport",
            dependencies: [
                .product(name: "SNNRuntime", package: "snn"),
                .product(name: "SNNModels", package: "snn"),
            ],
            path: "Support/WRNBenchSupport",
            swiftSettings: benchSettings),
        .executableTarget(
            name: "WRNBench",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "SNNRuntime", package: "snn"),
                .product(name: "SNNModels", package: "snn"),
                "WRNBenchSupport",
            ],
            path: "Benchmarks/WRNBench",
            swiftSettings: benchSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
        .executableTarget(
            name: "ConvBench",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "SNNRuntime", package: "snn"),
                "WRNBenchSupport",
            ],
            path: "Benchmarks/ConvBench",
            swiftSettings: benchSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
        // Plain release executable for scripts/bench-wrn.sh (outside Benchmarks/, so the
        // benchmark plugin does not take it for a benchmark target).
        .executableTarget(
            name: "wrn-speed",
            dependencies: [
                .product(name: "SNNRuntime", package: "snn"),
                .product(name: "SNNModels", package: "snn"),
                "WRNBenchSupport",
            ],
            path: "Tools/wrn-speed",
            swiftSettings: benchSettings),
    ]
)
