// swift-tools-version: 6.1
// Benchmarks for snn (a separate package so that package-benchmark stays out of the product's
// dependency graph). Run: cd bench && swift package --disable-sandbox benchmark --no-progress
import PackageDescription

let benchSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "native"]),
    .swiftLanguageMode(.v5),
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
    ]
)
