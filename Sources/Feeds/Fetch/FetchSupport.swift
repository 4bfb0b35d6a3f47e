import CCurl
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A source URL parsed by libcurl's own URL parser, so that what is checked here is exactly what libcurl will use.
struct FetchURL {
    enum Scheme: String {
        case https, sftp
    }

    let scheme: Scheme
    /// The URL as normalised by libcurl; this is what goes to `CURLOPT_URL`.
    let url: String
    /// SFTP login name (URL-decoded). Always `nil` for HTTPS.
    let user: String?
    /// `scheme://host[:port]/path`, safe for messages.
    let target: String
    /// The path ends in `/`.
    let isDirectory: Bool
    /// The path, URL-decoded (SFTP quote commands take it as it is on the server).
    var decodedPath: String = "/"

    static let unparsableTarget = "<unparsable URL>"

    static func parse(_ raw: String) throws(FetchError) -> FetchURL {
        func reject(_ target: String, _ reason: String, _ code: FetchError.Code = .unsupportedURL) -> FetchError {
            FetchError(code, target: target, reason: reason, isPermanent: true)
        }
        guard let handle = curl_url() else {
            throw reject(unparsableTarget, "libcurl could not allocate a URL handle", .io)
        }
        defer { curl_url_cleanup(handle) }
        // Parse with the most permissive scheme rule so that `file://` or `ftp://` get a precise message below.
        guard curl_url_set(handle, CURLUPART_URL, raw, fc_curlu_non_support_scheme()) == CURLUE_OK else {
            throw reject(unparsableTarget, "not a valid URL")
        }
        func part(_ which: CURLUPart, _ flags: UInt32 = 0) -> String? {
            var out: UnsafeMutablePointer<CChar>? = nil
            guard curl_url_get(handle, which, &out, flags) == CURLUE_OK, let out else { return nil }
            defer { curl_free(out) }
            return String(cString: out)
        }
        let schemeName = (part(CURLUPART_SCHEME) ?? "").lowercased()
        let host = part(CURLUPART_HOST) ?? ""
        let port = part(CURLUPART_PORT)
        let path = part(CURLUPART_PATH) ?? "/"
        let target = "\(schemeName)://\(host)\(port.map { ":\($0)" } ?? "")\(path)"

        guard let scheme = Scheme(rawValue: schemeName) else {
            throw reject(target, "only https:// and sftp:// URLs are supported, not \(schemeName)://")
        }
        guard !host.isEmpty else { throw reject(target, "the URL has no host") }
        guard part(CURLUPART_PASSWORD) == nil else {
            throw reject(target, "the URL contains a password; put it in credentialsFile instead", .credentials)
        }
        let user = part(CURLUPART_USER, UInt32(CURLU_URLDECODE))
        switch scheme {
        case .https:
            guard user == nil else {
                throw reject(target, "an https:// URL must not contain a user name; use credentialsFile", .credentials)
            }
        case .sftp:
            guard let user, !user.isEmpty else {
                throw reject(target, "an sftp:// URL must name the login user: sftp://user@host/path")
            }
            guard part(CURLUPART_QUERY) == nil else { throw reject(target, "an sftp:// URL cannot have a query") }
        }
        guard let normalized = part(CURLUPART_URL) else { throw reject(target, "not a valid URL") }
        return FetchURL(
            scheme: scheme, url: normalized, user: scheme == .sftp ? user : nil, target: target,
            isDirectory: path.hasSuffix("/"), decodedPath: part(CURLUPART_PATH, UInt32(CURLU_URLDECODE)) ?? path)
    }
}

/// Files named by a ``RemoteSource``: `credential:NAME` resolution, readability checks, secret parsing.
struct FetchFiles {
    /// Where `credential:NAME` points (`$CREDENTIALS_DIRECTORY`), if anywhere.
    let credentialsDirectory: String?
    /// For error messages.
    let target: String

    /// Resolves `credential:NAME` to `<credentialsDirectory>/NAME`; returns other values unchanged.
    func resolve(_ value: String, field: String) throws(FetchError) -> String {
        let prefix = "credential:"
        guard value.hasPrefix(prefix) else {
            guard !value.isEmpty else {
                throw FetchError(.credentials, target: target, reason: "\(field) is empty", isPermanent: true)
            }
            return value
        }
        let name = String(value.dropFirst(prefix.count))
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0") else {
            throw FetchError(
                .credentials, target: target, reason: "\(field): invalid credential name", isPermanent: true)
        }
        guard let directory = credentialsDirectory, !directory.isEmpty else {
            throw FetchError(
                .credentials, target: target,
                reason: "\(field) names credential '\(name)' but $CREDENTIALS_DIRECTORY is not set", isPermanent: true)
        }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Resolves and checks that a configured file is readable, so a typo gives a precise error rather than a
    /// generic libcurl one.
    func readablePath(
        _ value: String, field: String, code: FetchError.Code = .credentials
    ) throws(FetchError)
        -> String
    {
        let path = try resolve(value, field: field)
        guard access(path, R_OK) == 0 else {
            throw FetchError(
                code, target: target, reason: "\(field) \(path) is not readable: \(Self.errnoText(errno))",
                isPermanent: true)
        }
        return path
    }

    /// Reads a small secret file; the content never appears in an error.
    func readSecret(_ value: String, field: String) throws(FetchError) -> String {
        let path = try resolve(value, field: field)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw FetchError(
                .credentials, target: target, reason: "\(field) \(path) cannot be opened: \(Self.errnoText(errno))",
                isPermanent: true)
        }
        defer { close(fd) }
        let limit = 64 * 1024
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FetchError(
                    .credentials, target: target, reason: "\(field) \(path) cannot be read: \(Self.errnoText(errno))",
                    isPermanent: true)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            guard bytes.count <= limit else {
                throw FetchError(
                    .credentials, target: target, reason: "\(field) \(path) is too large for a secret",
                    isPermanent: true)
            }
        }
        // Strip the trailing line break(s), nothing else: passwords may end in spaces.
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        guard let text = String(validating: bytes, as: UTF8.self), !text.isEmpty,
            !bytes.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 })
        else {
            throw FetchError(
                .credentials, target: target, reason: "\(field) \(path) must hold exactly one non-empty line",
                isPermanent: true)
        }
        return text
    }

    enum HTTPCredentials {
        case basic(user: String, password: String)
        case bearer(String)
    }

    /// Parses an HTTPS credentials file: `user:password` or `bearer TOKEN`.
    func httpCredentials(_ value: String, field: String) throws(FetchError) -> HTTPCredentials {
        let line = try readSecret(value, field: field)
        if line.count > 7, line.prefix(7).lowercased() == "bearer " {
            let token = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            guard !token.isEmpty, !token.contains(" ") else {
                throw FetchError(
                    .credentials, target: target, reason: "\(field): malformed bearer token line",
                    isPermanent: true)
            }
            return .bearer(token)
        }
        guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
            throw FetchError(
                .credentials, target: target, reason: "\(field) must hold 'user:password' or 'bearer TOKEN'",
                isPermanent: true)
        }
        return .basic(user: String(line[..<colon]), password: String(line[line.index(after: colon)...]))
    }

    static func errnoText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// HTTP dates (RFC 9110 IMF-fixdate) without depending on the process locale.
enum FetchHTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

/// Removes query strings from a libcurl message, which may quote a URL.
func fetchRedactQueries(_ message: String) -> String {
    var out = ""
    var skipping = false
    for ch in message {
        if skipping {
            if ch == " " || ch == "'" || ch == "\"" || ch == ">" || ch == ")" {
                skipping = false
                out.append(ch)
            }
            continue
        }
        if ch == "?" {
            out += "?…"
            skipping = true
            continue
        }
        out.append(ch)
    }
    return out
}
