import CCurl
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Downloads partner feed files over HTTPS or SFTP with libcurl.
///
/// **Threading.** A fetcher owns one libcurl easy handle and is deliberately not `Sendable`: use each instance
/// from one thread at a time (libcurl forbids sharing an easy handle), and create one fetcher per concurrent
/// worker. Every call blocks its thread for the whole transfer, retries and backoff included, so run it on a
/// dedicated thread or `DispatchQueue`, not on the Swift concurrency cooperative pool.
///
/// **Safety rules that have no off switch:** TLS peer and host-name verification, SFTP host-key verification
/// against a known_hosts file, protocols limited to `https` (redirects included) and `sftp`, TLS 1.2 or newer,
/// downloads written to `destination.part` and renamed only when complete (the `.part` file is removed after any
/// failure), and errors that never contain credentials or query strings.
///
/// Connections are kept open between calls for the same host and the same security settings (CA file, client
/// certificate, known_hosts, key, credentials file); a call with different settings starts from a fresh handle, so
/// a connection verified or authenticated under one source's settings is never reused by another's.
public final class RemoteFetcher {
    /// Upper bound for the delay between two attempts.
    public static let maximumBackoffSeconds: Double = 60

    /// Largest directory listing ``list(_:)`` accepts.
    public static let maximumListingBytes = 16 << 20

    private static let globalInitResult: UInt32 = fc_curl_global_init_default().rawValue

    /// Runs `curl_global_init` exactly once per process. Idempotent and thread-safe (a Swift `static let` is
    /// initialised once under a lock); ``init(sleep:)`` calls it too, but calling it early from `main`, before
    /// other threads start, is still best.
    public static func globalInit() {
        _ = globalInitResult
    }

    /// `$CREDENTIALS_DIRECTORY`, or nil when unset or empty.
    public static func environmentCredentialsDirectory() -> String? {
        guard let value = getenv("CREDENTIALS_DIRECTORY") else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// The default sleeper used between attempts.
    public static func sleepSeconds(_ seconds: Double) {
        if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
    }

    private var handle: UnsafeMutableRawPointer?
    private var handleIdentity: [String?] = []
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let sleep: (Double) -> Void
    private let credentialsDirectory: String?

    /// - Parameters:
    ///   - sleep: called with the delay in seconds before each retry; tests inject a recorder.
    ///   - credentialsDirectory: where `credential:NAME` paths point; by default `$CREDENTIALS_DIRECTORY` as set
    ///     by systemd's `LoadCredential=`, read once here.
    public init(
        sleep: @escaping (Double) -> Void = RemoteFetcher.sleepSeconds,
        credentialsDirectory: String? = RemoteFetcher.environmentCredentialsDirectory()
    ) {
        Self.globalInit()
        self.sleep = sleep
        self.credentialsDirectory = credentialsDirectory
        let size = Int(fc_curl_error_size())
        errorBuffer = .allocate(capacity: size)
        errorBuffer.initialize(repeating: 0, count: size)
    }

    deinit {
        if let handle { curl_easy_cleanup(handle) }
        errorBuffer.deallocate()
    }

    /// The delay before retry number `retry` (1-based): `initial × 2^(retry-1)`, capped at
    /// ``maximumBackoffSeconds``.
    public static func backoffDelay(retry: Int, initialSeconds: Double) -> Double {
        guard initialSeconds.isFinite, initialSeconds > 0, retry >= 1 else { return 0 }
        let exponent = Double(min(retry - 1, 62))
        return min(maximumBackoffSeconds, initialSeconds * pow(2, exponent))
    }

    // MARK: - fetch

    /// Downloads `source` to `destinationPath`.
    ///
    /// The file is written to `destinationPath + ".part"` (mode 0600) and renamed over `destinationPath` only when
    /// the transfer is complete and flushed to disk, so a watcher of the destination folder never sees half a
    /// file. After any failure, and after `notModified`, no `.part` file remains.
    ///
    /// HTTPS: `conditional` is sent as `If-None-Match` / `If-Modified-Since`; a 304 answer gives
    /// ``FetchOutcome/notModified``. Redirects are followed (at most 5, https only; credentials are not sent to
    /// another host).
    /// SFTP: when `conditional?.lastModified` equals the remote file's modification time, the transfer stops
    /// before any data is written and the result is ``FetchOutcome/notModified``.
    ///
    /// Transient failures are retried `source.retries` times with exponential backoff; permanent ones
    /// (see ``FetchError/isPermanent``) are thrown at once.
    public func fetch(
        _ source: RemoteSource, to destinationPath: String, conditional: ConditionalState?
    )
        throws(FetchError) -> FetchOutcome
    {
        let url = try FetchURL.parse(source.url)
        guard !url.isDirectory else {
            throw FetchError(
                .unsupportedURL, target: url.target, reason: "the URL names a folder; use list(_:) for folders",
                isPermanent: true)
        }
        let prepared = try PreparedSource(source, url: url, credentialsDirectory: credentialsDirectory)
        let partPath = destinationPath + ".part"
        try checkDestination(destinationPath, target: url.target)
        unlink(partPath)  // a leftover from a crash

        return try withRetries(source, target: url.target) { () throws(FetchError) -> FetchOutcome in
            let handle = try self.readyHandle(for: prepared)
            let sink = FetchSink(handle: handle, checksHTTPStatus: url.scheme == .https, partPath: partPath)
            defer { sink.discard() }  // no-op once the file has been renamed into place
            var sentConditional = false
            if url.scheme == .sftp, let lastModified = conditional?.lastModified {
                sink.stopIfRemoteModified = lastModified
            }
            let headers = try self.configure(
                handle, prepared, sink: sink, conditional: conditional, sentConditional: &sentConditional,
                listOnly: false)
            defer { if let headers { curl_slist_free_all(headers) } }
            defer { Self.clearOptions(handle) }  // runs first: the handle stops pointing at headers and sink

            let rc = withExtendedLifetime(sink) { curl_easy_perform(handle) }
            if sink.stoppedUnchanged { return .notModified }
            if let ioError = sink.ioError {
                throw FetchError(
                    .io, target: url.target, reason: "writing \(partPath) failed: \(ioError)", isPermanent: true,
                    curlCode: Int(rc.rawValue))
            }
            guard rc == CURLE_OK else { throw self.classify(rc, url: url, handle: handle) }

            var conditionalOut = ConditionalState()
            switch url.scheme {
            case .https:
                var status = 0
                _ = fc_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
                if status == 304 && sentConditional { return .notModified }
                guard (200..<300).contains(status) else {
                    throw self.statusError(status, url: url, handle: handle)
                }
                conditionalOut.etag = Self.responseHeader("ETag", handle)
                conditionalOut.lastModified = Self.responseHeader("Last-Modified", handle)
            case .sftp:
                var fileTime = -1
                _ = fc_curl_getinfo_long(handle, CURLINFO_FILETIME, &fileTime)
                if fileTime >= 0 {
                    let remote = FetchHTTPDate.format(fileTime)
                    if remote == conditional?.lastModified { return .notModified }  // empty remote file
                    conditionalOut.lastModified = remote
                }
            }
            if let failure = sink.commit(to: destinationPath) {
                throw FetchError(.io, target: url.target, reason: failure, isPermanent: true)
            }
            return .downloaded(path: destinationPath, bytes: sink.bytes, conditional: conditionalOut)
        }
    }

    // MARK: - list

    /// Names of the regular files in an SFTP folder (`sftp://user@host/path/` — note the trailing `/`), sorted.
    ///
    /// Subfolders, symbolic links, `.` and `..` are left out, so each name can be fetched with the folder URL
    /// plus the name (percent-encode names that contain reserved characters). Names are matched with their type
    /// through the server's long listing; a name whose type cannot be determined is kept.
    public func list(_ source: RemoteSource) throws(FetchError) -> [String] {
        let url = try FetchURL.parse(source.url)
        guard url.scheme == .sftp, url.isDirectory else {
            throw FetchError(
                .unsupportedURL, target: url.target,
                reason: "listing needs an sftp:// folder URL ending in '/'", isPermanent: true)
        }
        let prepared = try PreparedSource(source, url: url, credentialsDirectory: credentialsDirectory)

        return try withRetries(source, target: url.target) { () throws(FetchError) -> [String] in
            let names = try self.listing(prepared, listOnly: true)
            let long = try self.listing(prepared, listOnly: false)
            return Self.regularFiles(names: names, longListing: long)
        }
    }

    private func listing(_ prepared: PreparedSource, listOnly: Bool) throws(FetchError) -> [String] {
        let url = prepared.url
        let handle = try readyHandle(for: prepared)
        let sink = FetchSink(handle: handle, checksHTTPStatus: false, partPath: nil)
        var unused = false
        let headers = try configure(
            handle, prepared, sink: sink, conditional: nil, sentConditional: &unused, listOnly: listOnly)
        defer { if let headers { curl_slist_free_all(headers) } }
        defer { Self.clearOptions(handle) }
        let rc = withExtendedLifetime(sink) { curl_easy_perform(handle) }
        if let ioError = sink.ioError {
            throw FetchError(.io, target: url.target, reason: ioError, isPermanent: true, curlCode: Int(rc.rawValue))
        }
        guard rc == CURLE_OK else { throw classify(rc, url: url, handle: handle) }
        var lines: [String] = []
        for raw in sink.memory.split(separator: 0x0A, omittingEmptySubsequences: true) {
            var bytes = raw[...]
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            lines.append(String(decoding: bytes, as: UTF8.self))
        }
        return lines
    }

    /// Keeps the names whose long-listing line describes a regular file (first character `-`), or whose line
    /// cannot be found. A long line belongs to the longest name it ends with (after " " or at the start).
    static func regularFiles(names: [String], longListing: [String]) -> [String] {
        let candidates = Set(names.filter { !$0.isEmpty && $0 != "." && $0 != ".." })
        var typeByName: [String: Character] = [:]
        for var line in longListing {
            guard let type = line.first else { continue }
            if type == "l", let arrow = line.range(of: " -> ") { line = String(line[..<arrow.lowerBound]) }
            var best: String? = nil
            for name in candidates where line == name || line.hasSuffix(" " + name) {
                if name.count > (best?.count ?? -1) { best = name }
            }
            if let best, typeByName[best] == nil { typeByName[best] = type }
        }
        return candidates.filter { (typeByName[$0] ?? "-") == "-" }.sorted()
    }

    // MARK: - upload

    /// How an upload reaches an HTTPS server.
    public enum UploadMethod: String, Sendable, CaseIterable {
        /// `PUT` to the folder URL (ending in `/`) plus the file name.
        case put
        /// `POST` to the URL as given, the file name in `Content-Disposition`.
        case post
    }

    /// Uploads the bytes as `name` to `source`: a folder URL (ending in `/`) for SFTP and HTTPS PUT, any
    /// https:// URL for POST. Returns the target (`scheme://host[:port]/path`, safe for logs).
    ///
    /// SFTP: written as `.NAME.part` in the folder (mode 0600), then renamed to `NAME` in the same session,
    /// so a collector never sees half a file; a rename onto an existing file fails (``FetchError/Code/upload``)
    /// rather than replace it. HTTPS: `Content-Type: text/csv; charset=utf-8`, no redirects followed, any
    /// 2xx is success. The same verification, credentials, time limits and retries as ``fetch(_:to:conditional:)``.
    /// `name` is letters, digits, `.`, `_` and `-` only, not starting with `.`.
    @discardableResult
    public func upload(
        _ bytes: [UInt8], as name: String, to source: RemoteSource, method: UploadMethod = .put
    )
        throws(FetchError) -> String
    {
        do throws(FetchError) {
            return try performUpload(bytes, as: name, to: source, method: method)
        } catch {
            var failure = error
            failure.operation = "deliver"
            throw failure
        }
    }

    private func performUpload(
        _ bytes: [UInt8], as name: String, to source: RemoteSource, method: UploadMethod
    )
        throws(FetchError) -> String
    {
        let url = try FetchURL.parse(source.url)
        func reject(_ reason: String) -> FetchError {
            FetchError(.unsupportedURL, target: url.target, reason: reason, isPermanent: true)
        }
        guard !name.isEmpty, !name.hasPrefix("."),
            name.utf8.allSatisfy({
                $0 == 0x2E || $0 == 0x5F || $0 == 0x2D || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0)
                    || (0x61...0x7A).contains($0)
            })
        else { throw reject("the upload's file name must be letters, digits, '.', '_' and '-'") }
        let prepared = try PreparedSource(source, url: url, credentialsDirectory: credentialsDirectory)
        var target = url.url
        var quote: [String] = []
        switch url.scheme {
        case .sftp:
            guard url.isDirectory else { throw reject("an sftp:// delivery URL names a folder ending in '/'") }
            var folder = url.decodedPath
            // libcurl's `/~/` (the login's home) is a relative path to the SFTP server.
            if folder.hasPrefix("/~/") { folder = String(folder.dropFirst(3)) }
            guard !folder.contains("\""), !folder.utf8.contains(where: { $0 < 0x20 }) else {
                throw reject("the folder path cannot be quoted for the rename")
            }
            target += "." + name + ".part"
            quote = ["rename \"\(folder).\(name).part\" \"\(folder)\(name)\""]
        case .https:
            if method == .put {
                guard url.isDirectory else { throw reject("an https:// PUT delivery URL names a folder ending in '/'") }
                target += name
            }
        }
        let safeTarget = url.target + (url.scheme == .sftp || method == .put ? name : "")

        return try withRetries(source, target: url.target) { () throws(FetchError) -> String in
            let handle = try self.readyHandle(for: prepared)
            let sink = FetchSink(handle: handle, checksHTTPStatus: false, partPath: nil)
            let reader = UploadReader(bytes)
            var unused = false
            let baseHeaders = try self.configure(
                handle, prepared, sink: sink, conditional: nil, sentConditional: &unused, listOnly: false)
            var headers = baseHeaders
            var commands: UnsafeMutablePointer<curl_slist>? = nil
            defer {
                if let headers { curl_slist_free_all(headers) }
                if let commands { curl_slist_free_all(commands) }
            }
            defer { Self.clearOptions(handle) }  // runs first: the handle stops pointing at the lists, sink and reader

            func check(_ rc: CURLcode, _ what: String) throws(FetchError) {
                guard rc == CURLE_OK else {
                    throw FetchError(
                        .connection, target: url.target, reason: "libcurl rejected \(what)", isPermanent: true,
                        curlCode: Int(rc.rawValue))
                }
            }
            try check(fc_curl_setopt_string(handle, CURLOPT_URL, target), "the upload URL")
            try check(fc_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0), "CURLOPT_FOLLOWLOCATION")
            try check(fc_curl_setopt_long(handle, CURLOPT_FILETIME, 0), "CURLOPT_FILETIME")
            try check(fc_curl_setopt_read_callback(handle, uploadReaderRead), "CURLOPT_READFUNCTION")
            try check(
                fc_curl_setopt_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(reader).toOpaque()),
                "CURLOPT_READDATA")
            switch url.scheme {
            case .sftp:
                try check(fc_curl_setopt_long(handle, CURLOPT_UPLOAD, 1), "CURLOPT_UPLOAD")
                try check(fc_curl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(bytes.count)), "the size")
                try check(fc_curl_setopt_long(handle, CURLOPT_NEW_FILE_PERMS, 0o600), "CURLOPT_NEW_FILE_PERMS")
                for command in quote { commands = curl_slist_append(commands, command) }
                try check(fc_curl_setopt_slist(handle, CURLOPT_POSTQUOTE, commands), "CURLOPT_POSTQUOTE")
            case .https:
                if method == .put {
                    try check(fc_curl_setopt_long(handle, CURLOPT_UPLOAD, 1), "CURLOPT_UPLOAD")
                    try check(
                        fc_curl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(bytes.count)), "the size")
                } else {
                    try check(fc_curl_setopt_long(handle, CURLOPT_POST, 1), "CURLOPT_POST")
                    try check(
                        fc_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count)), "the size")
                }
                headers = curl_slist_append(headers, "Content-Type: text/csv; charset=utf-8")
                headers = curl_slist_append(headers, "Content-Disposition: attachment; filename=\"\(name)\"")
                headers = curl_slist_append(headers, "Expect:")
                try check(fc_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headers), "CURLOPT_HTTPHEADER")
            }

            let rc = withExtendedLifetime((sink, reader)) { curl_easy_perform(handle) }
            guard rc == CURLE_OK else { throw self.classify(rc, url: url, handle: handle) }
            if url.scheme == .https {
                var status = 0
                _ = fc_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
                guard (200..<300).contains(status) else { throw self.statusError(status, url: url, handle: handle) }
            }
            guard reader.offset == bytes.count else {
                throw FetchError(
                    .upload, target: url.target, reason: "the server did not take the whole file", isPermanent: false)
            }
            return safeTarget
        }
    }

    // MARK: - Retries

    private func withRetries<T>(
        _ source: RemoteSource, target: String, _ attempt: () throws(FetchError) -> T
    ) throws(FetchError) -> T {
        let maximumAttempts = 1 + max(0, source.retries)
        var attempts = 0
        while true {
            attempts += 1
            do throws(FetchError) {
                return try attempt()
            } catch {
                let failure = error.withAttempts(attempts)
                if failure.isPermanent || attempts >= maximumAttempts { throw failure }
                var delay = Self.backoffDelay(retry: attempts, initialSeconds: source.initialBackoffSeconds)
                if let retryAfter = failure.retryAfterSeconds {
                    delay = max(delay, min(retryAfter, Self.maximumBackoffSeconds))
                }
                sleep(delay)
            }
        }
    }

    // MARK: - libcurl handle

    private func readyHandle(for prepared: PreparedSource) throws(FetchError) -> UnsafeMutableRawPointer {
        guard Self.globalInitResult == CURLE_OK.rawValue else {
            throw FetchError(
                .connection, target: prepared.url.target, reason: "curl_global_init failed", isPermanent: true)
        }
        if let handle, handleIdentity == prepared.connectionIdentity { return handle }
        if let handle { curl_easy_cleanup(handle) }
        handle = nil
        guard let fresh = curl_easy_init() else {
            throw FetchError(
                .connection, target: prepared.url.target, reason: "curl_easy_init failed", isPermanent: true)
        }
        handle = fresh
        handleIdentity = prepared.connectionIdentity
        return fresh
    }

    /// Resets the handle and applies every option for one request. Returns the header list to free after the
    /// transfer.
    private func configure(
        _ handle: UnsafeMutableRawPointer, _ prepared: PreparedSource, sink: FetchSink,
        conditional: ConditionalState?, sentConditional: inout Bool, listOnly: Bool
    ) throws(FetchError) -> UnsafeMutablePointer<curl_slist>? {
        Self.clearOptions(handle)
        errorBuffer[0] = 0
        let url = prepared.url
        let source = prepared.source

        func check(_ rc: CURLcode, _ what: String) throws(FetchError) {
            guard rc == CURLE_OK else {
                let text = String(cString: curl_easy_strerror(rc))
                throw FetchError(
                    rc == CURLE_UNKNOWN_OPTION || rc == CURLE_NOT_BUILT_IN ? .connection : .credentials,
                    target: url.target, reason: "libcurl rejected \(what): \(text)", isPermanent: true,
                    curlCode: Int(rc.rawValue))
            }
        }
        func set(_ option: CURLoption, _ value: Int, _ what: String) throws(FetchError) {
            try check(fc_curl_setopt_long(handle, option, value), what)
        }
        func set(_ option: CURLoption, _ value: String, _ what: String) throws(FetchError) {
            try check(fc_curl_setopt_string(handle, option, value), what)
        }

        try check(fc_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), "CURLOPT_ERRORBUFFER")
        try set(CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")
        try set(CURLOPT_URL, url.url, "the URL")
        try set(CURLOPT_PROTOCOLS_STR, url.scheme.rawValue, "CURLOPT_PROTOCOLS_STR")
        try set(CURLOPT_REDIR_PROTOCOLS_STR, "https", "CURLOPT_REDIR_PROTOCOLS_STR")
        try set(CURLOPT_CONNECTTIMEOUT, max(1, source.connectTimeoutSeconds), "CURLOPT_CONNECTTIMEOUT")
        try set(CURLOPT_TIMEOUT, max(1, source.totalTimeoutSeconds), "CURLOPT_TIMEOUT")
        try set(CURLOPT_NETRC, Int(CURL_NETRC_IGNORED.rawValue), "CURLOPT_NETRC")
        try set(CURLOPT_FILETIME, 1, "CURLOPT_FILETIME")
        try check(fc_curl_setopt_write_callback(handle, fetchSinkWrite), "CURLOPT_WRITEFUNCTION")
        try check(
            fc_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque()),
            "CURLOPT_WRITEDATA")

        var headers: UnsafeMutablePointer<curl_slist>? = nil
        switch url.scheme {
        case .https:
            try set(CURLOPT_SSL_VERIFYPEER, 1, "CURLOPT_SSL_VERIFYPEER")
            try set(CURLOPT_SSL_VERIFYHOST, 2, "CURLOPT_SSL_VERIFYHOST")
            try set(CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2), "CURLOPT_SSLVERSION")
            try set(CURLOPT_FOLLOWLOCATION, 1, "CURLOPT_FOLLOWLOCATION")
            try set(CURLOPT_MAXREDIRS, 5, "CURLOPT_MAXREDIRS")
            try set(CURLOPT_USERAGENT, "familyconnect-fetch/1", "CURLOPT_USERAGENT")
            if let caFile = prepared.caFile { try set(CURLOPT_CAINFO, caFile, "caFile") }
            if let certificate = prepared.clientCertificate {
                try set(CURLOPT_SSLCERT, certificate, "clientCertificateFile")
            }
            if let key = prepared.clientKey { try set(CURLOPT_SSLKEY, key, "clientKeyFile") }
            switch prepared.http {
            case .basic(let user, let password):
                try set(CURLOPT_HTTPAUTH, fc_curlauth_basic(), "CURLOPT_HTTPAUTH")
                try set(CURLOPT_USERNAME, user, "the user name")
                try set(CURLOPT_PASSWORD, password, "the password")
            case .bearer(let token):
                try set(CURLOPT_HTTPAUTH, fc_curlauth_bearer(), "CURLOPT_HTTPAUTH")
                try set(CURLOPT_XOAUTH2_BEARER, token, "the bearer token")
            case nil:
                break
            }
            if let etag = conditional?.etag, Self.isSafeHeaderValue(etag) {
                headers = curl_slist_append(headers, "If-None-Match: \(etag)")
                sentConditional = true
            }
            if let lastModified = conditional?.lastModified, Self.isSafeHeaderValue(lastModified) {
                headers = curl_slist_append(headers, "If-Modified-Since: \(lastModified)")
                sentConditional = true
            }
            if let headers {
                let rc = fc_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headers)
                if rc != CURLE_OK {
                    curl_slist_free_all(headers)
                    try check(rc, "CURLOPT_HTTPHEADER")
                }
            }
        case .sftp:
            try set(CURLOPT_FOLLOWLOCATION, 0, "CURLOPT_FOLLOWLOCATION")
            try set(CURLOPT_SSH_KNOWNHOSTS, prepared.knownHosts, "sshKnownHostsFile")
            var authTypes = 0
            if let key = prepared.privateKey {
                authTypes |= fc_curlssh_auth_publickey()
                try set(CURLOPT_SSH_PRIVATE_KEYFILE, key, "sshPrivateKeyFile")
                if let publicKey = prepared.publicKey {
                    try set(CURLOPT_SSH_PUBLIC_KEYFILE, publicKey, "the public key file")
                }
            }
            if let password = prepared.sftpPassword {
                authTypes |= fc_curlssh_auth_password()
                try set(CURLOPT_PASSWORD, password, "the password")
            }
            try set(CURLOPT_SSH_AUTH_TYPES, authTypes, "CURLOPT_SSH_AUTH_TYPES")
            try set(CURLOPT_USERNAME, url.user ?? "", "the user name")
            if listOnly { try set(CURLOPT_DIRLISTONLY, 1, "CURLOPT_DIRLISTONLY") }
        }
        return headers
    }

    /// Forgets every option of the last request (the password or token included, and the pointers to this
    /// request's sink and header list) while keeping open connections for reuse.
    private static func clearOptions(_ handle: UnsafeMutableRawPointer) {
        curl_easy_reset(handle)
    }

    private static func isSafeHeaderValue(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F }
    }

    private static func responseHeader(_ name: String, _ handle: UnsafeMutableRawPointer) -> String? {
        var header: UnsafeMutablePointer<curl_header>? = nil
        // request -1: the last request, i.e. the final response after redirects.
        guard curl_easy_header(handle, name, 0, fc_curlh_header(), -1, &header) == CURLHE_OK,
            let value = header?.pointee.value
        else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    private func checkDestination(_ destinationPath: String, target: String) throws(FetchError) {
        let folder: String
        if let slash = destinationPath.lastIndex(of: "/") {
            folder = slash == destinationPath.startIndex ? "/" : String(destinationPath[..<slash])
        } else {
            folder = "."
        }
        guard !destinationPath.hasSuffix("/"), access(folder, W_OK | X_OK) == 0 else {
            throw FetchError(
                .io, target: target,
                reason: "destination folder \(folder) is not writable: \(FetchFiles.errnoText(errno))",
                isPermanent: true)
        }
    }

    // MARK: - Error classification

    private func curlMessage() -> String? {
        let text = String(cString: errorBuffer)
        return text.isEmpty ? nil : fetchRedactQueries(text)
    }

    private func statusError(_ status: Int, url: FetchURL, handle: UnsafeMutableRawPointer) -> FetchError {
        let code: FetchError.Code
        let permanent: Bool
        let reason: String
        switch status {
        case 401, 403, 407:
            (code, permanent, reason) = (.authentication, true, "the server refused the credentials")
        case 408, 429:
            (code, permanent, reason) = (.httpStatus, false, "the server asked to retry later")
        case 400..<500:
            (code, permanent, reason) = (.httpStatus, true, "the server rejected the request")
        case 500..<600:
            (code, permanent, reason) = (.httpStatus, false, "server error")
        default:
            (code, permanent, reason) = (.httpStatus, true, "unexpected HTTP status")
        }
        var error = FetchError(
            code, target: url.target, reason: reason, isPermanent: permanent, httpStatus: status,
            curlMessage: curlMessage())
        var retryAfter: curl_off_t = 0
        if !permanent, fc_curl_getinfo_off_t(handle, CURLINFO_RETRY_AFTER, &retryAfter) == CURLE_OK, retryAfter > 0 {
            error.retryAfterSeconds = Double(retryAfter)
        }
        return error
    }

    private func classify(_ rc: CURLcode, url: FetchURL, handle: UnsafeMutableRawPointer) -> FetchError {
        var status = 0
        if url.scheme == .https { _ = fc_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status) }
        let code: FetchError.Code
        let permanent: Bool
        let reason: String
        switch rc {
        case CURLE_OPERATION_TIMEDOUT:
            (code, permanent, reason) = (.timeout, false, "timed out")
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            (code, permanent, reason) = (.connection, false, "host name could not be resolved")
        case CURLE_COULDNT_CONNECT:
            (code, permanent, reason) = (.connection, false, "could not connect")
        case CURLE_PEER_FAILED_VERIFICATION where url.scheme == .sftp:
            (code, permanent, reason) = (.hostKey, true, "the server's host key does not match sshKnownHostsFile")
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS:
            (code, permanent, reason) = (.tlsVerification, true, "the server's TLS certificate did not verify")
        case CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED:
            (code, permanent, reason) = (.credentials, true, "the client certificate or key could not be used")
        case CURLE_LOGIN_DENIED:
            (code, permanent, reason) = (.authentication, true, "the server refused the login")
        case CURLE_REMOTE_ACCESS_DENIED:
            (code, permanent, reason) = (.authentication, true, "the server denied access to the path")
        case CURLE_REMOTE_FILE_NOT_FOUND:
            (code, permanent, reason) = (.remoteFileNotFound, true, "the remote file does not exist")
        case CURLE_UNSUPPORTED_PROTOCOL:
            (code, permanent, reason) = (.unsupportedURL, true, "protocol not allowed (redirect to a non-https URL?)")
        case CURLE_URL_MALFORMAT:
            (code, permanent, reason) = (.unsupportedURL, true, "libcurl rejected the URL")
        case CURLE_TOO_MANY_REDIRECTS:
            (code, permanent, reason) = (.httpStatus, true, "too many redirects")
        case CURLE_WRITE_ERROR:
            (code, permanent, reason) = (.io, true, "writing the download failed")
        case CURLE_FILESIZE_EXCEEDED:
            (code, permanent, reason) = (.io, true, "the file is too large")
        case CURLE_HTTP_RETURNED_ERROR:
            return statusError(status, url: url, handle: handle)
        case CURLE_SSL_CONNECT_ERROR:
            (code, permanent, reason) = (.connection, false, "the TLS handshake failed")
        case CURLE_QUOTE_ERROR:
            (code, permanent, reason) = (
                .upload, true,
                "the uploaded file could not be renamed into place (does a file of that name already exist?)"
            )
        case CURLE_UPLOAD_FAILED, CURLE_SEND_ERROR, CURLE_READ_ERROR:
            (code, permanent, reason) = (.upload, false, "the upload did not complete")
        case CURLE_SSH:
            // libssh2 reports SFTP status errors this way too (for example a folder URL without the final '/').
            (code, permanent, reason) = (.connection, false, "SSH or SFTP protocol failure")
        default:
            (code, permanent, reason) = (.connection, false, String(cString: curl_easy_strerror(rc)))
        }
        return FetchError(
            code, target: url.target, reason: reason, isPermanent: permanent, httpStatus: status > 0 ? status : nil,
            curlCode: Int(rc.rawValue), curlMessage: curlMessage())
    }
}

@available(*, unavailable, message: "a RemoteFetcher owns a libcurl easy handle: use one per thread")
extension RemoteFetcher: Sendable {}

// MARK: - Prepared source

/// A source with its files resolved and secrets read, once per call (not per attempt).
private struct PreparedSource {
    let source: RemoteSource
    let url: FetchURL
    var http: FetchFiles.HTTPCredentials?
    var sftpPassword: String?
    var privateKey: String?
    var publicKey: String?
    var knownHosts = ""
    var caFile: String?
    var clientCertificate: String?
    var clientKey: String?

    /// Settings that decide whether a cached connection may be reused (see ``RemoteFetcher``).
    var connectionIdentity: [String?] {
        [
            url.scheme.rawValue, url.user, source.credentialsFile, privateKey, knownHosts, caFile, clientCertificate,
            clientKey,
        ]
    }

    init(_ source: RemoteSource, url: FetchURL, credentialsDirectory: String?) throws(FetchError) {
        self.source = source
        self.url = url
        let files = FetchFiles(credentialsDirectory: credentialsDirectory, target: url.target)
        let target = url.target
        switch url.scheme {
        case .https:
            if let file = source.credentialsFile {
                http = try files.httpCredentials(file, field: "credentialsFile")
            }
            if let file = source.caFile {
                caFile = try files.readablePath(file, field: "caFile", code: .tlsVerification)
            }
            if let file = source.clientCertificateFile {
                clientCertificate = try files.readablePath(file, field: "clientCertificateFile")
            }
            if let file = source.clientKeyFile {
                clientKey = try files.readablePath(file, field: "clientKeyFile")
            }
        case .sftp:
            guard let file = source.sshKnownHostsFile else {
                throw FetchError(
                    .hostKey, target: target,
                    reason: "sshKnownHostsFile is required: SFTP host keys are always verified", isPermanent: true)
            }
            knownHosts = try files.readablePath(file, field: "sshKnownHostsFile", code: .hostKey)
            if let file = source.sshPrivateKeyFile {
                let key = try files.readablePath(file, field: "sshPrivateKeyFile")
                privateKey = key
                if access(key + ".pub", R_OK) == 0 { publicKey = key + ".pub" }
            }
            if let file = source.credentialsFile {
                sftpPassword = try files.readSecret(file, field: "credentialsFile")
            }
            guard privateKey != nil || sftpPassword != nil else {
                throw FetchError(
                    .credentials, target: target, reason: "SFTP needs sshPrivateKeyFile or credentialsFile",
                    isPermanent: true)
            }
        }
    }
}

// MARK: - Write sink

/// Receives the body from libcurl's write callback: into `partPath` (opened on the first byte that belongs to
/// the file), or into memory for listings.
private final class FetchSink {
    let handle: UnsafeMutableRawPointer
    let checksHTTPStatus: Bool
    let partPath: String?
    /// SFTP: stop before writing anything when the remote modification time formats to this HTTP date.
    var stopIfRemoteModified: String?

    private var fd: Int32 = -1
    private var committed = false
    private var checkedUnchanged = false
    private(set) var bytes = 0
    private(set) var memory: [UInt8] = []
    private(set) var ioError: String?
    private(set) var stoppedUnchanged = false

    init(handle: UnsafeMutableRawPointer, checksHTTPStatus: Bool, partPath: String?) {
        self.handle = handle
        self.checksHTTPStatus = checksHTTPStatus
        self.partPath = partPath
    }

    /// Returns `count` to continue or anything else to abort the transfer (CURLE_WRITE_ERROR).
    func write(_ data: UnsafeRawPointer, _ count: Int) -> Int {
        if checksHTTPStatus {
            // Bodies of error responses and redirects are not the file.
            var status = 0
            _ = fc_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            if !(200..<300).contains(status) { return count }
        }
        if let expected = stopIfRemoteModified, !checkedUnchanged {
            checkedUnchanged = true
            var fileTime = -1
            _ = fc_curl_getinfo_long(handle, CURLINFO_FILETIME, &fileTime)
            if fileTime >= 0, FetchHTTPDate.format(fileTime) == expected {
                stoppedUnchanged = true
                return 0
            }
        }
        guard let partPath else {
            guard memory.count + count <= RemoteFetcher.maximumListingBytes else {
                ioError = "the listing is larger than \(RemoteFetcher.maximumListingBytes) bytes"
                return 0
            }
            memory.append(contentsOf: UnsafeRawBufferPointer(start: data, count: count))
            return count
        }
        if fd < 0 {
            guard openPart(partPath) else { return 0 }
        }
        var offset = 0
        while offset < count {
            let n = fetchPOSIXWrite(fd, data + offset, count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                ioError = FetchFiles.errnoText(errno)
                return 0
            }
            offset += n
        }
        bytes += count
        return count
    }

    private func openPart(_ path: String) -> Bool {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0 {
            ioError = FetchFiles.errnoText(errno)
            return false
        }
        return true
    }

    /// Flushes, closes and renames the part file into place. Returns a failure message, or nil.
    func commit(to destination: String) -> String? {
        guard let partPath else { return "no part file" }
        if fd < 0 {
            guard openPart(partPath) else { return "creating \(partPath) failed: \(ioError ?? "")" }  // empty file
        }
        if fsync(fd) != 0 { return "flushing \(partPath) failed: \(FetchFiles.errnoText(errno))" }
        let closed = close(fd)
        fd = -1
        if closed != 0 { return "closing \(partPath) failed: \(FetchFiles.errnoText(errno))" }
        if rename(partPath, destination) != 0 {
            return "renaming \(partPath) failed: \(FetchFiles.errnoText(errno))"
        }
        committed = true
        return nil
    }

    /// Closes and removes the part file unless it was committed. Safe to call more than once.
    func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if !committed, let partPath { unlink(partPath) }
    }

    deinit { discard() }
}

/// The bytes of one upload, handed to libcurl's read callback (one instance per attempt).
private final class UploadReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let n = min(capacity, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}

private func uploadReaderRead(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let buffer, let context else { return 0x1000_0000 }  // CURL_READFUNC_ABORT
    let reader = Unmanaged<UploadReader>.fromOpaque(context).takeUnretainedValue()
    return reader.read(into: buffer, capacity: size * count)
}

private func fetchSinkWrite(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let context else { return 0 }
    let sink = Unmanaged<FetchSink>.fromOpaque(context).takeUnretainedValue()
    return sink.write(UnsafeRawPointer(data), size * count)
}

private func fetchPOSIXWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.write(fd, buffer, count)
    #else
        return Darwin.write(fd, buffer, count)
    #endif
}
