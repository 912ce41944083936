/// Every layer of a ConvNeXt architecture in forward order, and names back to `LayerID`s.
public enum LayerCatalog {
    /// All layers of `config` in the order the forward pass runs them (layer scales included).
    public static func layers(of config: ConvNeXtConfig) -> [LayerID] {
        var ids: [LayerID] = [.stemConv, .stemNorm]
        for (s, depth) in config.depths.enumerated() {
            if s > 0 { ids += [.downsampleNorm(stage: s), .downsampleConv(stage: s)] }
            for b in 0..<depth {
                ids += [.dwConv(stage: s, block: b), .norm(stage: s, block: b), .fc1(stage: s, block: b),
                        .gelu(stage: s, block: b), .fc2(stage: s, block: b), .layerScale(stage: s, block: b),
                        .residual(stage: s, block: b)]
            }
        }
        return ids + [.headPool, .headNorm, .headFC]
    }

    /// `LayerID.description` -> `LayerID` for the layers of `config`.
    public static func byName(_ config: ConvNeXtConfig) -> [String: LayerID] {
        Dictionary(layers(of: config).map { ($0.description, $0) }, uniquingKeysWith: { a, _ in a })
    }
}
