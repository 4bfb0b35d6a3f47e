/// Where a partner feed lives and how to reach it.
///
/// Only `https://` and `sftp://` URLs are accepted; anything else fails with ``FetchError/Code/unsupportedURL``.
/// TLS peer and host-name verification is always on, and an SFTP server's host key is always checked against
/// ``sshKnownHostsFile``: there is deliberately no option to turn either off.
///
/// Every file-path property accepts `credential:NAME`, meaning `$CREDENTIALS_DIRECTORY/NAME` (systemd
/// `LoadCredential=`), so secrets never need to sit in a world-readable configuration directory.
///
/// Secrets are read from files at each fetch, never from the URL: a URL that embeds a password is refused.
public struct RemoteSource: Sendable, Equatable {
    /// `https://host[:port]/path[?query]` or `sftp://user@host[:port]/absolute/path`.
    /// For ``RemoteFetcher/list(_:)``, an `sftp://` URL ending in `/`.
    public var url: String

    /// HTTPS: a file holding one line, either `user:password` (HTTP basic auth) or `bearer TOKEN`.
    /// SFTP: a file holding the password (optional when ``sshPrivateKeyFile`` is set).
    public var credentialsFile: String?

    /// SFTP: private key for public-key authentication. If `<file>.pub` exists it is passed along too.
    public var sshPrivateKeyFile: String?

    /// SFTP: OpenSSH `known_hosts` file the server's host key must match (for a non-default port the entry reads
    /// `[host]:port keytype key`). Required for every SFTP source.
    public var sshKnownHostsFile: String?

    /// HTTPS: an extra PEM CA bundle trusted in addition to the system's CA certificates.
    public var caFile: String?

    /// HTTPS: PEM client certificate for mutual TLS.
    public var clientCertificateFile: String?

    /// HTTPS: PEM private key for ``clientCertificateFile``.
    public var clientKeyFile: String?

    /// Limit for establishing the connection (TCP plus TLS/SSH handshake), per attempt.
    public var connectTimeoutSeconds: Int

    /// Limit for one whole attempt, including the transfer.
    public var totalTimeoutSeconds: Int

    /// Retries after the first attempt for transient failures (so at most `retries + 1` attempts).
    public var retries: Int

    /// Delay before the first retry; it doubles for each further retry, capped at
    /// ``RemoteFetcher/maximumBackoffSeconds``.
    public var initialBackoffSeconds: Double

    public init(
        url: String,
        credentialsFile: String? = nil,
        sshPrivateKeyFile: String? = nil,
        sshKnownHostsFile: String? = nil,
        caFile: String? = nil,
        clientCertificateFile: String? = nil,
        clientKeyFile: String? = nil,
        connectTimeoutSeconds: Int = 30,
        totalTimeoutSeconds: Int = 600,
        retries: Int = 3,
        initialBackoffSeconds: Double = 2
    ) {
        self.url = url
        self.credentialsFile = credentialsFile
        self.sshPrivateKeyFile = sshPrivateKeyFile
        self.sshKnownHostsFile = sshKnownHostsFile
        self.caFile = caFile
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.totalTimeoutSeconds = totalTimeoutSeconds
        self.retries = retries
        self.initialBackoffSeconds = initialBackoffSeconds
    }
}

extension RemoteSource {
    /// `scheme://host[:port]/path` of a URL, without user, password, query or fragment: safe for logs
    /// and the database. `<unparsable URL>` when libcurl cannot parse it.
    public static func safeTarget(_ url: String) -> String {
        do throws(FetchError) {
            return try FetchURL.parse(url).target
        } catch {
            return error.target
        }
    }
}

/// Validators saved from the last successful download, sent back to make the next fetch conditional.
///
/// HTTPS: `etag` and `lastModified` are the server's `ETag` and `Last-Modified` headers, sent back verbatim as
/// `If-None-Match` and `If-Modified-Since`.
/// SFTP: `lastModified` is the remote file's modification time as an HTTP date; when it is unchanged the
/// transfer stops early and the fetch reports ``FetchOutcome/notModified``.
public struct ConditionalState: Sendable, Codable, Equatable {
    public var etag: String?
    public var lastModified: String?

    public init(etag: String? = nil, lastModified: String? = nil) {
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// What a fetch did.
public enum FetchOutcome: Sendable, Equatable {
    /// The server said the file is unchanged; nothing was written.
    case notModified
    /// The file is now complete at `path` (written as `path + ".part"` and renamed into place).
    case downloaded(path: String, bytes: Int, conditional: ConditionalState)
}
