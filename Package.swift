// swift-tools-version: 6.0
import PackageDescription

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
        /// Every hot loop: float and int8 micro-kernels, one variant per ISA behind a portable one,
        /// chosen at run time from the CPU's features (per-function target attributes, no global flags).
        .target(name: "CConvNeXtKernels"),
        .target(
            name: "ConvNeXtKit",
            dependencies: [
                "CConvNeXtKernels",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                "CTurboJPEG",
                "CSPNG",
                .product(name: "Yams", package: "Yams"),
            ]
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
        .testTarget(
            name: "ConvNeXtKitTests",
            dependencies: ["ConvNeXtKit", "CConvNeXtKernels"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["ConvNeXtKit", "convnext"]
        ),
    ]
)
