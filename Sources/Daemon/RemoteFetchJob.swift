import Feeds
import Foundation
import Synchronization

/// Downloads one remote feed into its staging folder, on its own thread, so a slow or unreachable
/// partner server holds up nobody but itself. The worker then loads the staged files like a drop
/// folder and, once they are in, saves the conditional-GET state (`feed_fetch_state`).
struct RemoteFetchJob: Sendable {
    struct Download: Sendable {
        /// `feed_fetch_state.feed`: the feed name, or `feed/file` for each file of an SFTP folder.
        var stateKey: String
        var conditional: ConditionalState
    }

    enum Result: Sendable {
        case fetched(downloads: [Download], unchanged: Int)
        case failed(reason: String)
    }

    let feed: String
    let settings: RemoteSourceSettings
    let stagingFolder: String
    /// Saved validators by state key.
    let conditional: [String: ConditionalState]

    var source: RemoteSource { settings.source }

    /// The URL without user, password, query or fragment: safe for logs.
    static func safeTarget(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<unparsable URL>" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return components.string ?? "<unparsable URL>"
    }

    /// A file name safe to use in the staging folder.
    static func stagingName(_ remoteName: String, stamp: String) -> String {
        var safe = ""
        for scalar in remoteName.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": safe.unicodeScalars.append(scalar)
            default: safe += "_"
            }
        }
        while safe.hasPrefix(".") { safe.removeFirst() }
        if safe.isEmpty { safe = "download" }
        return "\(stamp)-\(safe)"
    }

    static func stamp(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    func run() -> Result {
        let fetcher = RemoteFetcher()
        let source = source
        do {
            try FileManager.default.createDirectory(atPath: stagingFolder, withIntermediateDirectories: true)
        } catch {
            return .failed(reason: "cannot create the staging folder \(stagingFolder)")
        }
        let stamp = Self.stamp()
        var downloads: [Download] = []
        var unchanged = 0
        do {
            if settings.url.hasSuffix("/") {
                for name in try fetcher.list(source) {
                    var one = source
                    one.url =
                        settings.url + (name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name)
                    let key = "\(feed)/\(name)"
                    let destination = (stagingFolder as NSString).appendingPathComponent(
                        Self.stagingName(name, stamp: stamp))
                    switch try fetcher.fetch(one, to: destination, conditional: conditional[key]) {
                    case .notModified: unchanged += 1
                    case .downloaded(_, _, let state): downloads.append(Download(stateKey: key, conditional: state))
                    }
                }
            } else {
                let remoteName = (URLComponents(string: settings.url)?.path as NSString?)?.lastPathComponent ?? feed
                let destination = (stagingFolder as NSString).appendingPathComponent(
                    Self.stagingName(remoteName, stamp: stamp))
                switch try fetcher.fetch(source, to: destination, conditional: conditional[feed]) {
                case .notModified: unchanged += 1
                case .downloaded(_, _, let state): downloads.append(Download(stateKey: feed, conditional: state))
                }
            }
        } catch {
            return .failed(reason: ErrorText.describe(error))
        }
        return .fetched(downloads: downloads, unchanged: unchanged)
    }
}

/// Where fetch threads leave their results for the worker.
final class FetchMailbox: Sendable {
    private let results = Mutex<[(feed: String, result: RemoteFetchJob.Result)]>([])

    func post(_ feed: String, _ result: RemoteFetchJob.Result) {
        results.withLock { $0.append((feed, result)) }
    }

    func takeAll() -> [(feed: String, result: RemoteFetchJob.Result)] {
        results.withLock { items in
            let out = items
            items.removeAll()
            return out
        }
    }
}
