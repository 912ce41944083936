import Foundation

/// timm's evaluation transform, reproduced step by step as torchvision + Pillow run it:
/// resize (shorter side, Pillow filters), centre crop, scale to 0...1, normalise.
public enum Preprocessor {
    /// Decodes the file and returns the normalised NCHW tensor `[1, 3, size, size]`.
    public static func tensor(path: String, options: PreprocessOptions) throws -> Tensor {
        let image = try ImageDecoder.decode(path: path, applyExifOrientation: options.applyExifOrientation)
        return normalizedTensor(modelImage(image, options: options), mean: options.mean, std: options.std)
    }

    /// The 8-bit size x size image the model sees (before scaling and normalisation).
    public static func modelImage(_ image: RGBImage, options: PreprocessOptions) -> RGBImage {
        switch options.resizeMode {
        case .crop:
            switch options.cropMode {
            case .center: return resizedAndCropped(image, shorterSide: options.scaleSize, size: options.size, filter: options.interpolation)
            case .squash: return squashedAndCropped(image, side: options.scaleSize, size: options.size, filter: options.interpolation)
            case .border: return bordered(image, longerSide: options.scaleSize, size: options.size, filter: options.interpolation,
                                          fill: options.borderFill)
            }
        case .letterbox: return letterboxed(image, size: options.size, filter: options.interpolation)
        }
    }

    /// torchvision `Resize(int)`'s output size: the shorter side becomes `side`, the longer side
    /// `int(side * long / short)` (truncated).
    public static func shorterSideSize(width w: Int, height h: Int, side: Int) -> (width: Int, height: Int) {
        let (short, long) = w <= h ? (w, h) : (h, w)
        let newLong = max(1, Int(Double(side * long) / Double(short)))
        return w <= h ? (side, newLong) : (newLong, side)
    }

    /// torchvision `Resize(int)` with Pillow's filter.
    public static func resizedShorterSide(_ image: RGBImage, to side: Int, filter: Interpolation) -> RGBImage {
        let (w, h) = shorterSideSize(width: image.width, height: image.height, side: side)
        return image.resized(width: w, height: h, filter: filter)
    }

    /// `Resize(shorterSide)` then `CenterCrop(size)`, computing only the pixels the crop keeps
    /// (the same values; it also bounds memory for images with extreme aspect ratios).
    public static func resizedAndCropped(_ image: RGBImage, shorterSide: Int, size: Int, filter: Interpolation) -> RGBImage {
        let (w, h) = shorterSideSize(width: image.width, height: image.height, side: shorterSide)
        guard w >= size, h >= size else {
            return centerCropped(image.resized(width: w, height: h, filter: filter), size: size)
        }
        let (left, top) = centerCropOrigin(width: w, height: h, size: size)
        return image.resizedRegion(width: w, height: h, columns: left..<(left + size), rows: top..<(top + size), filter: filter)
    }

    /// timm's `squash` crop mode: `Resize((side, side))` (aspect not kept), then `CenterCrop(size)`,
    /// computing only the pixels the crop keeps.
    public static func squashedAndCropped(_ image: RGBImage, side: Int, size: Int, filter: Interpolation) -> RGBImage {
        guard side >= size else { return centerCropped(image.resized(width: side, height: side, filter: filter), size: size) }
        let (left, top) = centerCropOrigin(width: side, height: side, size: size)
        return image.resizedRegion(width: side, height: side, columns: left..<(left + size), rows: top..<(top + size), filter: filter)
    }

    /// timm's `ResizeKeepRatio(longest=1)` output size: both sides divided by
    /// max(h / side, w / side), each rounded half to even as Python's `round`, at least 1.
    public static func longerSideSize(width w: Int, height h: Int, side: Int) -> (width: Int, height: Int) {
        let ratio = max(Double(h) / Double(side), Double(w) / Double(side))
        func scaled(_ x: Int) -> Int { max(1, Int((Double(x) / ratio).rounded(.toNearestOrEven))) }
        return (scaled(w), scaled(h))
    }

    /// timm's `border` crop mode: `ResizeKeepRatio(side, longest=1)`, then `CenterCropOrPad(size,
    /// fill)`: a side shorter than `size` is padded (left/top get the floor half), a longer one is
    /// centre-cropped.
    public static func bordered(_ image: RGBImage, longerSide side: Int, size: Int, filter: Interpolation,
                                fill: (UInt8, UInt8, UInt8)) -> RGBImage {
        let (w, h) = longerSideSize(width: image.width, height: image.height, side: side)
        var resized = image.resized(width: w, height: h, filter: filter)
        if w < size || h < size {
            let padLeft = w < size ? (size - w) / 2 : 0, padTop = h < size ? (size - h) / 2 : 0
            let padRight = w < size ? (size - w + 1) / 2 : 0, padBottom = h < size ? (size - h + 1) / 2 : 0
            resized = resized.placed(onCanvasWidth: w + padLeft + padRight, height: h + padTop + padBottom,
                                     left: padLeft, top: padTop, fill: fill)
            if resized.width == size && resized.height == size { return resized }
        }
        let (left, top) = centerCropOrigin(width: resized.width, height: resized.height, size: size)
        return resized.cropped(left: left, top: top, width: size, height: size)
    }

    /// torchvision `CenterCrop`'s offsets: `int(round((h - size) / 2.0))`, Python rounding (half to even).
    static func centerCropOrigin(width: Int, height: Int, size: Int) -> (left: Int, top: Int) {
        (Int((Double(width - size) / 2).rounded(.toNearestOrEven)), Int((Double(height - size) / 2).rounded(.toNearestOrEven)))
    }

    /// torchvision `CenterCrop(size)`: offsets `int(round((h - size) / 2))` with Python's
    /// round-half-to-even; an image smaller than the crop is first padded with zeros, as torchvision does.
    public static func centerCropped(_ image: RGBImage, size: Int) -> RGBImage {
        var image = image
        if image.width < size || image.height < size {
            let padLeft = max(size - image.width, 0) / 2, padTop = max(size - image.height, 0) / 2
            image = image.placed(onCanvasWidth: max(image.width, size), height: max(image.height, size),
                                 left: padLeft, top: padTop, fill: (0, 0, 0))
        }
        let (left, top) = centerCropOrigin(width: image.width, height: image.height, size: size)
        return image.cropped(left: left, top: top, width: size, height: size)
    }

    /// Fits the whole image inside size x size (aspect kept) and pads the rest with grey 127,
    /// the image centred (extra padding pixel right / bottom).
    public static func letterboxed(_ image: RGBImage, size: Int, filter: Interpolation) -> RGBImage {
        let scale = min(Double(size) / Double(image.width), Double(size) / Double(image.height))
        let newW = min(size, max(1, Int((Double(image.width) * scale).rounded())))
        let newH = min(size, max(1, Int((Double(image.height) * scale).rounded())))
        let resized = image.resized(width: newW, height: newH, filter: filter)
        let g = PreprocessOptions.letterboxFill
        return resized.placed(onCanvasWidth: size, height: size, left: (size - newW) / 2, top: (size - newH) / 2, fill: (g, g, g))
    }

    /// `ToTensor` + `Normalize`: (pixel / 255 - mean) / std in float32, NCHW `[1, 3, H, W]`,
    /// the same float operations torchvision performs.
    public static func normalizedTensor(_ image: RGBImage, mean: [Float], std: [Float]) -> Tensor {
        let plane = image.width * image.height
        var data = [Float](repeating: 0, count: 3 * plane)
        image.pixels.withUnsafeBufferPointer { px in
            data.withUnsafeMutableBufferPointer { out in
                for c in 0..<3 {
                    let m = mean[c], s = std[c]
                    for i in 0..<plane {
                        out[c * plane + i] = (Float(px[3 * i + c]) / 255 - m) / s
                    }
                }
            }
        }
        return Tensor(shape: [1, 3, image.height, image.width], data: data)
    }
}
