/// Parameter and multiply-accumulate counts, per stage and in total.
public struct StageStatistics: Sendable, Codable {
    public var stage: Int
    public var height: Int
    public var width: Int
    public var channels: Int
    public var blocks: Int
    public var params: Int
    public var macs: Int
}

extension ConvNeXtModel {
    /// Every weight of the model: the state_dict element count, as the zoo counts ONNX initializers.
    public var parameterCount: Int {
        stem.parameterCount + stages.reduce(0) { $0 + $1.parameterCount } + head.parameterCount
    }

    /// Multiply-accumulates of convolutions and linear layers for one image.
    public var macCount: Int {
        stemMACs + stageStatistics.reduce(0) { $0 + $1.macs } + head.fc.inFeatures * head.fc.outFeatures
    }

    private var stemMACs: Int {
        let h = config.inputHeight / 4, w = config.inputWidth / 4
        return h * w * stem.conv.outChannels * stem.conv.inChannels * 16
    }

    /// Resolution, channels, blocks, params and MACs of each stage.
    public var stageStatistics: [StageStatistics] {
        var h = config.inputHeight / 4, w = config.inputWidth / 4
        var result: [StageStatistics] = []
        for (s, stage) in stages.enumerated() {
            var macs = 0
            if let down = stage.downsample {
                h /= 2
                w /= 2
                macs += h * w * down.conv.outChannels * down.conv.inChannels * 4
            }
            for block in stage.blocks {
                let c = block.dwConv.outChannels
                macs += h * w * c * 49
                macs += h * w * (block.fc1.inFeatures * block.fc1.outFeatures + block.fc2.inFeatures * block.fc2.outFeatures)
            }
            result.append(StageStatistics(stage: s, height: h, width: w, channels: config.dims[s],
                                          blocks: stage.blocks.count, params: stage.parameterCount, macs: macs))
        }
        return result
    }
}
