import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The environment variables downloads honour, read the way Python's `requests` and
/// `huggingface_hub` read them, so a machine set up for `timm.create_model(pretrained=True)` works
/// unchanged.
///
/// - `HTTPS_PROXY` / `https_proxy` for https URLs, `HTTP_PROXY` / `http_proxy` for http URLs, and
///   `ALL_PROXY` / `all_proxy` for both when those are unset; the lower-case name wins when both are
///   set. A value without a scheme means `http://`.
/// - `NO_PROXY` / `no_proxy`: comma-separated host names (matching the host and its subdomains; a
///   leading dot is ignored), `host:port`, IPv4 addresses or CIDR blocks, or `*` for every host.
/// - `HF_ENDPOINT` replaces `https://huggingface.co` in hub URLs; `HF_TOKEN` is sent as
///   `Authorization: Bearer` to that endpoint only (never to other hosts, nor after a redirect away).
public struct NetworkEnvironment: Sendable, Equatable {
    /// Proxy URL for http URLs, nil for direct connections.
    public var httpProxy: String?
    /// Proxy URL for https URLs, nil for direct connections.
    public var httpsProxy: String?
    /// `NO_PROXY` entries, trimmed and lower-cased.
    public var noProxy: [String]
    /// The model hub's base URL (`HF_ENDPOINT`), without a trailing slash.
    public var hubEndpoint: String
    /// The hub access token (`HF_TOKEN`), nil when unset or empty.
    public var hubToken: String?

    /// The hub's address when `HF_ENDPOINT` is unset.
    public static let defaultHubEndpoint = "https://huggingface.co"

    /// This process's environment.
    public static var current: NetworkEnvironment { NetworkEnvironment(environment: ProcessInfo.processInfo.environment) }

    /// Reads `environment` (a process environment).
    public init(environment: [String: String]) {
        func variable(_ name: String) -> String? {
            // Lower case first, as Python's urllib does; an empty value means unset.
            let value = environment[name.lowercased()] ?? environment[name.uppercased()]
            return value.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0.trimmingCharacters(in: .whitespaces) }
        }
        let all = variable("all_proxy")
        httpProxy = (variable("http_proxy") ?? all).map(Self.withScheme)
        httpsProxy = (variable("https_proxy") ?? all).map(Self.withScheme)
        noProxy = (variable("no_proxy") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
        var endpoint = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultHubEndpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        hubEndpoint = endpoint
        hubToken = environment["HF_TOKEN"].flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
    }

    /// The proxy `url` goes through, nil for a direct connection.
    public func proxy(for url: URL) -> URL? {
        guard let host = url.host?.lowercased(), !bypassesProxy(host: host, port: url.port) else { return nil }
        let proxy = url.scheme?.lowercased() == "https" ? httpsProxy : httpProxy
        return proxy.flatMap(URL.init(string:))
    }

    /// True when `NO_PROXY` names `host` (or `host:port`).
    public func bypassesProxy(host: String, port: Int?) -> Bool {
        let host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        for entry in noProxy {
            if entry == "*" { return true }
            var name = entry
            if let colon = name.lastIndex(of: ":"), !name.contains("]"), name.filter({ $0 == ":" }).count == 1 {
                // host:port matches that port only.
                guard let entryPort = Int(name[name.index(after: colon)...]), entryPort == port else { continue }
                name = String(name[..<colon])
            }
            while name.hasPrefix(".") { name.removeFirst() }
            if name.contains("/"), Self.ipv4(host) != nil {
                if Self.cidr(name, contains: host) { return true }
                continue
            }
            if host == name || host.hasSuffix("." + name) { return true }
        }
        return false
    }

    /// `url` with `https://huggingface.co` replaced by `HF_ENDPOINT`; other URLs unchanged.
    public func hubURL(_ url: String) -> String {
        let prefix = Self.defaultHubEndpoint + "/"
        guard hubEndpoint != Self.defaultHubEndpoint, url.hasPrefix(prefix) else { return url }
        return hubEndpoint + "/" + url.dropFirst(prefix.count)
    }

    /// The headers a request of `url` from the hub source carries: the token, for the hub's own origin only.
    public func hubHeaders(for url: URL) -> [String: String] {
        guard let hubToken, let endpoint = URL(string: hubEndpoint), HTTPFileFetcher.sameOrigin(url, endpoint) else { return [:] }
        return ["Authorization": "Bearer \(hubToken)"]
    }

    /// Points `configuration` at the proxy for `url`.
    func configureProxy(_ configuration: URLSessionConfiguration, for url: URL) {
        #if canImport(FoundationNetworking)
        // Linux: URLSession leaves proxies to libcurl, which reads http_proxy, https_proxy/HTTPS_PROXY,
        // all_proxy and no_proxy itself, with the same precedence, but not the upper-case HTTP_PROXY
        // (for CGI's sake). Python honours it, so it is copied to the lower-case name when that is unset.
        let environment = ProcessInfo.processInfo.environment
        if environment["http_proxy"] == nil, let upper = environment["HTTP_PROXY"], !upper.isEmpty {
            setenv("http_proxy", upper, 0)
        }
        #else
        guard let proxy = proxy(for: url), let host = proxy.host else {
            configuration.connectionProxyDictionary = [:]
            return
        }
        let port = proxy.port ?? (proxy.scheme?.lowercased() == "https" ? 443 : 80)
        if url.scheme?.lowercased() == "https" {
            configuration.connectionProxyDictionary = ["HTTPSEnable": 1, "HTTPSProxy": host, "HTTPSPort": port]
        } else {
            configuration.connectionProxyDictionary = ["HTTPEnable": 1, "HTTPProxy": host, "HTTPPort": port]
        }
        #endif
    }

    private static func withScheme(_ proxy: String) -> String {
        proxy.contains("://") ? proxy : "http://" + proxy
    }

    private static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard let byte = UInt8(part) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    private static func cidr(_ block: String, contains host: String) -> Bool {
        let parts = block.split(separator: "/")
        guard parts.count == 2, let network = ipv4(String(parts[0])), let bits = Int(parts[1]), (0...32).contains(bits),
              let address = ipv4(host) else { return false }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits)
        return network & mask == address & mask
    }
}
