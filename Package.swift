// swift-tools-version: 6.0
import PackageDescription

/// Numeric code is only fast with AVX-512 code generation and real FMAs (see docs/benchmarks.md).
let nativeCPU: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "cascadelake"])]

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
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        /// Int8 micro-kernels (AVX-512 VNNI with a portable fallback, chosen at run time).
        .target(
            name: "CConvNeXtInt8",
            cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off", "-fno-math-errno"])]
        ),
        .target(
            name: "ConvNeXtKit",
            dependencies: [
                "CConvNeXtInt8",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                "CTurboJPEG",
                "CSPNG",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: nativeCPU
        ),
        .systemLibrary(
            name: "CTurboJPEG",
            pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"]), .brew(["jpeg-turbo"])]
        ),
        .systemLibrary(
            name: "CSPNG",
            pkgConfig: "spng",
            providers: [.apt(["libspng-dev"]), .brew(["libspng"])]
        ),
        .executableTarget(
            name: "convnext",
            dependencies: [
                "ConvNeXtKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Resources/demo")]
        ),
        .executableTarget(
            name: "FuzzTargets",
            dependencies: ["ConvNeXtKit"]
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
            dependencies: ["ConvNeXtKit", "convnext"]
        ),
    ]
)
