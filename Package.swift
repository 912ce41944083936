// swift-tools-version: 6.0
import PackageDescription

/// Numeric code is only fast with AVX-512 code generation and real FMAs (see docs/benchmarks.md).
let nativeCPU: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "znver4"])]

let package = Package(
    name: "ConvNeXtKit",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "ConvNeXtKit", targets: ["ConvNeXtKit"]),
        .executable(name: "convnext", targets: ["convnext"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        /// Int8 micro-kernels (AVX-512 VNNI with a portable fallback, chosen at run time).
        .target(
            name: "CConvNeXtInt8",
            cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off", "-fno-math-errno"])]
        ),
        .target(
            name: "ConvNeXtKit",
            dependencies: ["CConvNeXtInt8", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: nativeCPU
        ),
        .executableTarget(
            name: "convnext",
            dependencies: [
                "ConvNeXtKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        /// Int8 engine latency benchmark (release builds only).
        .executableTarget(
            name: "int8-bench",
            dependencies: ["ConvNeXtKit"],
            swiftSettings: nativeCPU
        ),
        .testTarget(
            name: "ConvNeXtKitTests",
            dependencies: ["ConvNeXtKit", "CConvNeXtInt8"],
            swiftSettings: nativeCPU
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["ConvNeXtKit"]
        ),
    ]
)
