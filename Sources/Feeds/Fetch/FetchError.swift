/// Why a fetch or a listing failed.
///
/// `description` names the scheme, host, port and path of the URL only: never the user, a password, a token,
/// the query string or a credentials file's content. `debugDescription` adds libcurl's own error text, which
/// libcurl composes from host names, paths and status lines (it never includes credentials), again with the
/// query string removed.
public struct FetchError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// A category that callers can switch on. A struct rather than an enum so that new codes are not a breaking
    /// change.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unsupportedURL, tlsVerification, hostKey, authentication, httpStatus, timeout, connection, io,
                credentials, remoteFileNotFound, upload
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Not an `https://` or `sftp://` URL, an unparsable URL, a redirect to another protocol, or the wrong
        /// kind of URL for the call (a directory for `fetch`, a file for `list`).
        public static let unsupportedURL = Code(.unsupportedURL)
        /// The HTTPS server's certificate chain or name did not verify, or the CA file could not be used.
        public static let tlsVerification = Code(.tlsVerification)
        /// The SFTP server's host key is not in the known_hosts file, does not match it, or no known_hosts file
        /// was configured.
        public static let hostKey = Code(.hostKey)
        /// The server refused the credentials (HTTP 401/403/407, SSH login denied, SFTP permission denied).
        public static let authentication = Code(.authentication)
        /// Any other unsuccessful HTTP status; see ``FetchError/httpStatus``.
        public static let httpStatus = Code(.httpStatus)
        /// The connect or total time limit was reached.
        public static let timeout = Code(.timeout)
        /// Name resolution, connection, or transfer failure below HTTP/SFTP.
        public static let connection = Code(.connection)
        /// Writing the local file failed (or the destination folder is missing).
        public static let io = Code(.io)
        /// A credentials, key, certificate or known_hosts file is missing, unreadable or malformed, or a
        /// `credential:` reference cannot be resolved.
        public static let credentials = Code(.credentials)
        /// SFTP: the remote file or folder does not exist. (HTTPS 404 is reported as ``httpStatus``.)
        public static let remoteFileNotFound = Code(.remoteFileNotFound)

        /// Uploading: the server did not take the whole file, or (SFTP) the uploaded file could not be
        /// renamed from its temporary name into place (for example because a file of that name exists).
        public static let upload = Code(.upload)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The last HTTP status seen, when the failure is an HTTP status.
    public let httpStatus: Int?
    /// The libcurl result code (`CURLcode`) of the last attempt, when libcurl reported one.
    public let curlCode: Int?
    /// How many attempts were made (0 when the source was rejected before any connection).
    public internal(set) var attempts: Int
    /// `true` when retrying cannot help (4xx other than 408/429, TLS or host-key verification, bad URL,
    /// credentials or configuration problems); `false` for failures worth retrying later.
    public let isPermanent: Bool
    /// `scheme://host[:port]/path` of the source, without user, password, query or fragment.
    public let target: String
    /// A short fixed explanation written by this module (no remote data, no secrets).
    public let reason: String
    /// libcurl's error text for the last attempt, query strings removed. Only in `debugDescription`.
    let curlMessage: String?
    /// A server's `Retry-After`, honoured (up to the backoff cap) before the next attempt.
    var retryAfterSeconds: Double? = nil
    /// What was being done, first word of `description`: `fetch`, or `deliver` for an upload.
    public internal(set) var operation = "fetch"

    init(
        _ code: Code, target: String, reason: String, isPermanent: Bool, httpStatus: Int? = nil,
        curlCode: Int? = nil, attempts: Int = 0, curlMessage: String? = nil
    ) {
        self.code = code
        self.target = target
        self.reason = reason
        self.isPermanent = isPermanent
        self.httpStatus = httpStatus
        self.curlCode = curlCode
        self.attempts = attempts
        self.curlMessage = curlMessage
    }

    func withAttempts(_ attempts: Int) -> FetchError {
        var copy = self
        copy.attempts = attempts
        return copy
    }

    public var description: String {
        var text = "\(operation) \(target) failed (\(code)): \(reason)"
        var facts: [String] = []
        if let httpStatus { facts.append("HTTP \(httpStatus)") }
        if let curlCode { facts.append("curl \(curlCode)") }
        facts.append(attempts == 1 ? "1 attempt" : "\(attempts) attempts")
        facts.append(isPermanent ? "permanent" : "transient")
        text += " [" + facts.joined(separator: ", ") + "]"
        return text
    }

    public var debugDescription: String {
        guard let curlMessage, !curlMessage.isEmpty else { return description }
        return description + " — libcurl: " + curlMessage
    }
}
