/// Channel layout of one NHWC pixel: `channels` real values padded with zeros to
/// `paddedChannels` (a multiple of 16). Pad lanes must stay zero through every kernel.
public struct ChannelLayout: Sendable, Equatable {
    public let channels: Int
    public let paddedChannels: Int

    public init(channels: Int) {
        self.channels = channels
        self.paddedChannels = roundUp16(channels)
    }
}

/// Rounds `n` up to a multiple of 16 (the channel padding every kernel assumes).
@inline(__always)
public func roundUp16(_ n: Int) -> Int { (n + 15) & ~15 }
