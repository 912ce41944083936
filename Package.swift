// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "ConvNeXtKit",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "ConvNeXtKit", targets: ["ConvNeXtKit"]),
        /// The C API as a shared library, `libconvnextkit.so` (header: Sources/CConvNeXtKitAPI/include/convnextkit.h),
        /// for C, C++, Python (ctypes) and any language with a C foreign-function interface.
        .library(name: "convnextkit", type: .dynamic, targets: ["ConvNeXtKitCAPI"]),
        .executable(name: "convnext", targets: ["convnext"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // The service (`convnext serve`) only: the ConvNeXtKit library product does not depend on these.
        // Hummingbird's swift-configuration support is not needed (options come from the command line).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
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
        /// The public C header `convnextkit.h` (its types are shared with the Swift exports, so the
        /// layout the header promises is the one the library uses) and the parts of the API written in C.
        .target(name: "CConvNeXtKitAPI"),
        /// The C API: `@_cdecl` functions over `ImageClassifier`, every error a status code plus a message.
        .target(name: "ConvNeXtKitCAPI", dependencies: ["ConvNeXtKit", "CConvNeXtKitAPI"]),
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
        /// The inference service: Open Inference Protocol v2 and /v1/classify over HTTP (Hummingbird),
        /// a fixed pool of inference threads behind a bounded queue, Prometheus metrics, a web page.
        .target(
            name: "ConvNeXtServer",
            dependencies: [
                "ConvNeXtKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "convnext",
            dependencies: [
                "ConvNeXtKit",
                "ConvNeXtServer",
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
            dependencies: ["ConvNeXtKit", "convnext", "ConvNeXtKitCAPI", "CConvNeXtKitAPI"]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: ["ConvNeXtKit", "ConvNeXtServer", "convnext"]
        ),
    ]
)
