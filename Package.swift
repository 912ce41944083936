// swift-tools-version: 6.0
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
            dependencies: ["ConvNeXtKit", "convnext", "ConvNeXtKitCAPI", "CConvNeXtKitAPI"]
        ),
    ]
)
