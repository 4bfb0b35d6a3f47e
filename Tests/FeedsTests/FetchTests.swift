import Feeds
import Foundation
import LoopbackTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

// RemoteFetcher against real servers on 127.0.0.1 (see Tests/LoopbackTestSupport/LoopbackServers.swift): python3 https + a throwaway CA,
// and OpenSSH sshd with internal-sftp. No mocks. Every failure test also checks that no `.part` file remains.

/// Records the delays the fetcher asks for instead of sleeping.
private final class FetchDelayRecorder {
    var delays: [Double] = []
    func fetcher(credentialsDirectory: String? = nil) -> RemoteFetcher {
        RemoteFetcher(sleep: { self.delays.append($0) }, credentialsDirectory: credentialsDirectory)
    }
}

private func fetchRandomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

private func fetchFileBytes(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { Array($0) }
}

private func fetchExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// Short limits so that every test is bounded even when something hangs.
private func testSource(_ url: String, retries: Int = 0) -> RemoteSource {
    RemoteSource(url: url, connectTimeoutSeconds: 5, totalTimeoutSeconds: 20, retries: retries)
}

@Suite("RemoteFetcher over HTTPS (python3 loopback server)", .timeLimit(.minutes(1)))
struct FetchHTTPSTests {
    @Test("download with the test CA trusted is byte-identical, via .part and rename")
    func downloadWithTrustedCA() throws {
        let server = try LoopbackHTTPSServer()
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        let content = fetchRandomBytes(300_000)
        try server.put("feed.csv", content)

        var source = testSource(server.url("/files/feed.csv"))
        source.caFile = server.caFile
        let destination = output.file("feed.csv")
        let outcome = try RemoteFetcher().fetch(source, to: destination, conditional: nil)

        guard case .downloaded(let path, let bytes, let conditional) = outcome else {
            Issue.record("expected a download, got \(outcome)")
            return
        }
        #expect(path == destination)
        #expect(bytes == content.count)
        #expect(fetchFileBytes(destination) == content)
        #expect(conditional.etag?.hasPrefix("\"") == true)
        #expect(conditional.lastModified?.hasSuffix(" GMT") == true)
        #expect(!fetchExists(destination + ".part"))
        var mode = stat()
        #expect(stat(destination, &mode) == 0 && mode.st_mode & 0o777 == 0o600)

        // An empty file is a valid (empty) download, not an error.
        try server.put("empty.csv", [])
        source.url = server.url("/files/empty.csv")
        let empty = try RemoteFetcher().fetch(source, to: output.file("empty.csv"), conditional: nil)
        guard case .downloaded(_, 0, _) = empty else {
            Issue.record("expected an empty download, got \(empty)")
            return
        }
        #expect(fetchFileBytes(output.file("empty.csv")) == [])
    }

    @Test("the same server without trusting its CA is refused: .tlsVerification, permanent, nothing written")
    func untrustedCAIsRefused() throws {
        let server = try LoopbackHTTPSServer()
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        try server.put("feed.csv", Array("a,b\n".utf8))
        let recorder = FetchDelayRecorder()
        let destination = output.file("feed.csv")

        let error = try #require(throws: FetchError.self) {
            try recorder.fetcher().fetch(
                testSource(server.url("/files/feed.csv"), retries: 3), to: destination, conditional: nil)
        }
        #expect(error.code == .tlsVerification)
        #expect(error.isPermanent)
        #expect(error.attempts == 1)
        #expect(error.curlCode == 60)
        #expect(recorder.delays.isEmpty)
        #expect(error.description.contains("127.0.0.1"))
        #expect(!fetchExists(destination) && !fetchExists(destination + ".part"))
    }

    @Test("ETag round trip: second fetch is .notModified and leaves no file; a changed file downloads again")
    func etagRoundTrip() throws {
        let server = try LoopbackHTTPSServer()
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        try server.put("feed.csv", Array("first version\n".utf8), modified: Date(timeIntervalSince1970: 1_700_000_000))
        var source = testSource(server.url("/files/feed.csv"))
        source.caFile = server.caFile
        let fetcher = RemoteFetcher()

        guard case .downloaded(_, _, let state) = try fetcher.fetch(source, to: output.file("1"), conditional: nil)
        else {
            Issue.record("first fetch should download")
            return
        }
        #expect(state.etag != nil)
        #expect(state.lastModified == "Tue, 14 Nov 2023 22:13:20 GMT")

        let second = try fetcher.fetch(source, to: output.file("2"), conditional: state)
        #expect(second == .notModified)
        #expect(!output.exists("2") && !output.exists("2.part"))

        // Last-Modified alone is enough too.
        let byDate = try fetcher.fetch(
            source, to: output.file("3"), conditional: ConditionalState(etag: nil, lastModified: state.lastModified))
        #expect(byDate == .notModified)
        #expect(!output.exists("3") && !output.exists("3.part"))

        try server.put("feed.csv", Array("second version\n".utf8), modified: Date(timeIntervalSince1970: 1_700_000_600))
        guard case .downloaded(_, _, let newState) = try fetcher.fetch(source, to: output.file("4"), conditional: state)
        else {
            Issue.record("a changed file should download again")
            return
        }
        #expect(newState.etag != state.etag)
        #expect(fetchFileBytes(output.file("4")) == Array("second version\n".utf8))
        #expect(server.requestCount("/files/feed.csv") == 4)
    }

    @Test("basic auth from a credentials file works; wrong credentials give .authentication/401 without the secret")
    func basicAuthentication() throws {
        let password = "Pa55-w0rd-do-not-leak"
        let server = try LoopbackHTTPSServer(basicAuth: "feeduser:\(password)")
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        let secrets = try FetchTempFolder("secrets")
        let content = fetchRandomBytes(10_000)
        try server.put("private.csv", content)

        var source = testSource(server.url("/private/private.csv?session=query-secret-value"), retries: 2)
        source.caFile = server.caFile
        source.credentialsFile = try secrets.write("good", "feeduser:\(password)\n")
        _ = try RemoteFetcher().fetch(source, to: output.file("ok.csv"), conditional: nil)
        #expect(fetchFileBytes(output.file("ok.csv")) == content)

        let wrongPassword = "Wr0ng-password-do-not-leak"
        source.credentialsFile = try secrets.write("bad", "feeduser:\(wrongPassword)\n")
        let recorder = FetchDelayRecorder()
        let error = try #require(throws: FetchError.self) {
            try recorder.fetcher().fetch(source, to: output.file("bad.csv"), conditional: nil)
        }
        #expect(error.code == .authentication)
        #expect(error.httpStatus == 401)
        #expect(error.isPermanent)
        #expect(error.attempts == 1)
        #expect(recorder.delays.isEmpty)
        for text in [error.description, error.debugDescription, "\(error)", String(reflecting: error)] {
            #expect(!text.contains(wrongPassword))
            #expect(!text.contains(password))
            #expect(!text.contains("query-secret-value"))
            #expect(text.contains("127.0.0.1") && text.contains("/private/private.csv"))
        }
        #expect(!output.exists("bad.csv") && !output.exists("bad.csv.part"))
    }

    @Test("credential:NAME resolves in the credentials directory; bearer tokens work")
    func credentialDirectoryAndBearer() throws {
        let server = try LoopbackHTTPSServer(bearerToken: "tok-123.abc")
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        let credentials = try FetchTempFolder("creds")
        try credentials.write("partner-token", "Bearer tok-123.abc\n")
        try server.put("b.csv", Array("x\n".utf8))

        var source = testSource(server.url("/private/b.csv"))
        source.caFile = server.caFile
        source.credentialsFile = "credential:partner-token"
        _ = try RemoteFetcher(credentialsDirectory: credentials.path).fetch(
            source, to: output.file("b.csv"), conditional: nil)
        #expect(fetchFileBytes(output.file("b.csv")) == Array("x\n".utf8))

        // Without a credentials directory the reference cannot be resolved: permanent, no connection made.
        let missing = try #require(throws: FetchError.self) {
            try RemoteFetcher(credentialsDirectory: nil).fetch(source, to: output.file("c.csv"), conditional: nil)
        }
        #expect(missing.code == .credentials)
        #expect(missing.attempts == 0)
        #expect(missing.isPermanent)
        // A malformed file is reported without its content.
        try credentials.write("broken", "no-colon-here-secretish\n")
        source.credentialsFile = "credential:broken"
        let malformed = try #require(throws: FetchError.self) {
            try RemoteFetcher(credentialsDirectory: credentials.path).fetch(
                source, to: output.file("d.csv"), conditional: nil)
        }
        #expect(malformed.code == .credentials)
        #expect(!malformed.description.contains("secretish"))
        #expect(server.requestCount("/private/b.csv") == 1)
    }

    @Test("a path failing twice with 500 is retried with exponential delays and then succeeds")
    func retriesThenSucceeds() throws {
        let server = try LoopbackHTTPSServer()
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        let content = fetchRandomBytes(50_000)
        try server.put("flaky.csv", content)
        var source = testSource(server.url("/flaky/2/flaky.csv"), retries: 3)
        source.caFile = server.caFile
        source.initialBackoffSeconds = 0.5
        let recorder = FetchDelayRecorder()

        let outcome = try recorder.fetcher().fetch(source, to: output.file("flaky.csv"), conditional: nil)
        guard case .downloaded(_, let bytes, _) = outcome else {
            Issue.record("expected a download, got \(outcome)")
            return
        }
        #expect(bytes == content.count)
        #expect(fetchFileBytes(output.file("flaky.csv")) == content)
        #expect(recorder.delays == [0.5, 1.0])
        #expect(server.requestCount("/flaky/2/flaky.csv") == 3)
        #expect(!output.exists("flaky.csv.part"))
    }

    @Test("5xx until retries run out: .httpStatus, transient, retries+1 attempts; 404 is permanent at once")
    func statusErrors() throws {
        let server = try LoopbackHTTPSServer()
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        var source = testSource(server.url("/status/503"), retries: 2)
        source.caFile = server.caFile
        source.initialBackoffSeconds = 3
        let recorder = FetchDelayRecorder()
        let fetcher = recorder.fetcher()

        let unavailable = try #require(throws: FetchError.self) {
            try fetcher.fetch(source, to: output.file("x"), conditional: nil)
        }
        #expect(unavailable.code == .httpStatus)
        #expect(unavailable.httpStatus == 503)
        #expect(!unavailable.isPermanent)
        #expect(unavailable.attempts == 3)
        #expect(recorder.delays == [3, 6])
        #expect(server.requestCount("/status/503") == 3)

        recorder.delays = []
        source.url = server.url("/status/404")
        let notFound = try #require(throws: FetchError.self) {
            try fetcher.fetch(source, to: output.file("x"), conditional: nil)
        }
        #expect(notFound.code == .httpStatus && notFound.httpStatus == 404)
        #expect(notFound.isPermanent && notFound.attempts == 1)
        #expect(recorder.delays.isEmpty)

        source.url = server.url("/status/429")
        source.retries = 1
        let tooMany = try #require(throws: FetchError.self) {
            try fetcher.fetch(source, to: output.file("x"), conditional: nil)
        }
        #expect(tooMany.httpStatus == 429 && !tooMany.isPermanent && tooMany.attempts == 2)
        #expect(!output.exists("x") && !output.exists("x.part"))
    }

    @Test("a transfer cut off half-way is retried, and no .part file remains after the final failure")
    func truncatedTransferLeavesNoPartFile() throws {
        let server = try LoopbackHTTPSServer()
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        try server.put("big.bin", fetchRandomBytes(400_000))
        var source = testSource(server.url("/truncated/big.bin"), retries: 1)
        source.caFile = server.caFile
        let recorder = FetchDelayRecorder()

        let error = try #require(throws: FetchError.self) {
            try recorder.fetcher().fetch(source, to: output.file("big.bin"), conditional: nil)
        }
        #expect(error.code == .connection)
        #expect(!error.isPermanent)
        #expect(error.attempts == 2)
        #expect(recorder.delays == [2])
        #expect(!output.exists("big.bin") && !output.exists("big.bin.part"))
    }

    @Test("a server that does not answer in time gives .timeout")
    func timeout() throws {
        let server = try LoopbackHTTPSServer()
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        try server.put("slow.csv", Array("late\n".utf8))
        var source = testSource(server.url("/slow/slow.csv"))
        source.caFile = server.caFile
        source.totalTimeoutSeconds = 1

        let started = Date()
        let error = try #require(throws: FetchError.self) {
            try RemoteFetcher().fetch(source, to: output.file("slow.csv"), conditional: nil)
        }
        #expect(error.code == .timeout)
        #expect(error.curlCode == 28)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(!output.exists("slow.csv.part"))
    }

    @Test("redirects are followed over https only; a redirect to http:// is refused")
    func redirects() throws {
        let server = try LoopbackHTTPSServer()
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        try server.put("r.csv", Array("redirected\n".utf8))
        var source = testSource(server.url("/redirect/r.csv"))
        source.caFile = server.caFile
        let fetcher = RemoteFetcher()

        _ = try fetcher.fetch(source, to: output.file("r.csv"), conditional: nil)
        #expect(fetchFileBytes(output.file("r.csv")) == Array("redirected\n".utf8))

        source.url = server.url("/redirect-http/r.csv")
        let error = try #require(throws: FetchError.self) {
            try fetcher.fetch(source, to: output.file("h.csv"), conditional: nil)
        }
        #expect(error.code == .unsupportedURL)
        #expect(error.isPermanent)
        #expect(!output.exists("h.csv") && !output.exists("h.csv.part"))
    }

    @Test("mutual TLS: the client certificate is presented; without it the server refuses")
    func clientCertificate() throws {
        let server = try LoopbackHTTPSServer(requireClientCertificate: true)
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        try server.put("m.csv", Array("mtls\n".utf8))
        var source = testSource(server.url("/files/m.csv"))
        source.caFile = server.caFile
        source.clientCertificateFile = server.clientCertificateFile
        source.clientKeyFile = server.clientKeyFile

        _ = try RemoteFetcher().fetch(source, to: output.file("m.csv"), conditional: nil)
        #expect(fetchFileBytes(output.file("m.csv")) == Array("mtls\n".utf8))

        source.clientCertificateFile = nil
        source.clientKeyFile = nil
        #expect(throws: FetchError.self) {
            try RemoteFetcher().fetch(source, to: output.file("n.csv"), conditional: nil)
        }
        #expect(!output.exists("n.csv") && !output.exists("n.csv.part"))
    }
}

@Suite("RemoteFetcher connection failures and URL checks", .timeLimit(.minutes(1)))
struct FetchValidationTests {
    @Test("an unreachable port gives .connection after the configured retries, delays doubling up to the cap")
    func unreachablePort() throws {
        let port = try LoopbackTools.freePort()  // nothing listens there
        let output = try FetchTempFolder("out")
        var source = testSource("https://127.0.0.1:\(port)/files/feed.csv", retries: 3)
        source.initialBackoffSeconds = 40
        let recorder = FetchDelayRecorder()

        let error = try #require(throws: FetchError.self) {
            try recorder.fetcher().fetch(source, to: output.file("feed.csv"), conditional: nil)
        }
        #expect(error.code == .connection)
        #expect(error.curlCode == 7)
        #expect(!error.isPermanent)
        #expect(error.attempts == 4)
        #expect(recorder.delays == [40, 60, 60])
        #expect(!output.exists("feed.csv") && !output.exists("feed.csv.part"))
    }

    @Test(
        "only https:// and sftp:// are accepted",
        arguments: [
            "http://127.0.0.1/feed.csv", "file:///etc/passwd", "ftp://127.0.0.1/feed.csv", "HTTP://127.0.0.1/x",
            "not a url", "", "https://", "sftp:///no-host",
        ])
    func unsupportedURLs(url: String) throws {
        let output = try FetchTempFolder("out")
        let recorder = FetchDelayRecorder()
        let error = try #require(throws: FetchError.self) {
            try recorder.fetcher().fetch(testSource(url, retries: 3), to: output.file("x"), conditional: nil)
        }
        #expect(error.code == .unsupportedURL)
        #expect(error.isPermanent)
        #expect(error.attempts == 0)
        #expect(recorder.delays.isEmpty)
        #expect(!output.exists("x.part"))
    }

    @Test("secrets in URLs are refused and never echoed; query strings stay out of descriptions")
    func secretsInURLs() throws {
        let output = try FetchTempFolder("out")
        let fetcher = RemoteFetcher()
        for url in ["https://user:hunter2-secret@127.0.0.1/x", "sftp://user:hunter2-secret@127.0.0.1/x"] {
            let error = try #require(throws: FetchError.self) {
                try fetcher.fetch(testSource(url), to: output.file("x"), conditional: nil)
            }
            #expect(error.code == .credentials)
            #expect(!error.description.contains("hunter2") && !error.debugDescription.contains("hunter2"))
            #expect(!error.description.contains("user"))
        }
        let error = try #require(throws: FetchError.self) {
            try fetcher.fetch(testSource("http://127.0.0.1/x?token=abc-secret"), to: output.file("x"), conditional: nil)
        }
        #expect(!error.description.contains("abc-secret"))
    }

    @Test("SFTP without a known_hosts file is refused before connecting; list needs an sftp folder URL")
    func sftpNeedsKnownHosts() throws {
        let output = try FetchTempFolder("out")
        let key = try output.write("key", "not used")
        var source = testSource("sftp://someone@127.0.0.1:1/tmp/x")
        source.sshPrivateKeyFile = key
        let error = try #require(throws: FetchError.self) {
            try RemoteFetcher().fetch(source, to: output.file("x"), conditional: nil)
        }
        #expect(error.code == .hostKey && error.isPermanent && error.attempts == 0)

        let listing = try #require(throws: FetchError.self) {
            try RemoteFetcher().list(testSource("https://127.0.0.1/folder/"))
        }
        #expect(listing.code == .unsupportedURL)
        source.url = "sftp://someone@127.0.0.1:1/tmp/folder/"
        let folderFetch = try #require(throws: FetchError.self) {
            try RemoteFetcher().fetch(source, to: output.file("x"), conditional: nil)
        }
        #expect(folderFetch.code == .unsupportedURL)
    }

    @Test("backoff doubles from the initial delay and is capped at 60 s")
    func backoffSchedule() {
        let delays = (1...6).map { RemoteFetcher.backoffDelay(retry: $0, initialSeconds: 2) }
        #expect(delays == [2, 4, 8, 16, 32, 60])
        #expect(RemoteFetcher.backoffDelay(retry: 1, initialSeconds: 0) == 0)
        #expect(RemoteFetcher.backoffDelay(retry: 200, initialSeconds: 1) == 60)
    }

    @Test("globalInit is idempotent and safe from several threads")
    func globalInitIsIdempotent() {
        DispatchQueue.concurrentPerform(iterations: 8) { _ in RemoteFetcher.globalInit() }
        RemoteFetcher.globalInit()
    }
}

@Suite("RemoteFetcher over SFTP (OpenSSH sshd loopback server)", .timeLimit(.minutes(1)))
struct FetchSFTPTests {
    private func sftpSource(_ server: LoopbackSFTPServer, _ path: String) -> RemoteSource {
        var source = testSource(server.url(path))
        source.sshPrivateKeyFile = server.clientKeyFile
        source.sshKnownHostsFile = server.knownHostsFile
        return source
    }

    @Test("SFTP download is byte-identical; an unchanged file is .notModified by modification time")
    func download() throws {
        let server = try LoopbackSFTPServer()
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        let content = fetchRandomBytes(250_000)
        let remote = server.remoteRoot + "/feed.csv"
        try Data(content).write(to: URL(fileURLWithPath: remote))
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 1_700_000_000)], ofItemAtPath: remote)
        let fetcher = RemoteFetcher()

        let outcome = try fetcher.fetch(sftpSource(server, remote), to: output.file("feed.csv"), conditional: nil)
        guard case .downloaded(_, let bytes, let state) = outcome else {
            Issue.record("expected a download, got \(outcome); sshd log: \(server.log)")
            return
        }
        #expect(bytes == content.count)
        #expect(fetchFileBytes(output.file("feed.csv")) == content)
        #expect(state == ConditionalState(etag: nil, lastModified: "Tue, 14 Nov 2023 22:13:20 GMT"))
        #expect(!output.exists("feed.csv.part"))

        let again = try fetcher.fetch(sftpSource(server, remote), to: output.file("again.csv"), conditional: state)
        #expect(again == .notModified)
        #expect(!output.exists("again.csv") && !output.exists("again.csv.part"))
    }

    @Test("SFTP with a known_hosts file holding another key is refused with .hostKey")
    func wrongHostKey() throws {
        let server = try LoopbackSFTPServer()
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        let remote = server.remoteRoot + "/feed.csv"
        try Data("secret rows\n".utf8).write(to: URL(fileURLWithPath: remote))
        var source = sftpSource(server, remote)
        source.sshKnownHostsFile = server.wrongKnownHostsFile
        source.retries = 2
        let recorder = FetchDelayRecorder()

        let error = try #require(throws: FetchError.self) {
            try recorder.fetcher().fetch(source, to: output.file("feed.csv"), conditional: nil)
        }
        #expect(error.code == .hostKey)
        #expect(error.isPermanent)
        #expect(error.attempts == 1)
        #expect(recorder.delays.isEmpty)
        #expect(!output.exists("feed.csv") && !output.exists("feed.csv.part"))

        // A known_hosts file without this server at all is refused the same way.
        source.sshKnownHostsFile = try output.write("empty_known_hosts", "")
        let unknown = try #require(throws: FetchError.self) {
            try recorder.fetcher().fetch(source, to: output.file("feed.csv"), conditional: nil)
        }
        #expect(unknown.code == .hostKey)
    }

    @Test("SFTP listing returns the regular files of a folder, not subfolders")
    func listing() throws {
        let server = try LoopbackSFTPServer()
        defer { server.stop() }
        let folder = server.remoteRoot + "/drop"
        try FileManager.default.createDirectory(atPath: folder + "/archive", withIntermediateDirectories: true)
        for name in ["b.csv", "a.csv", "with space.csv", ".hidden"] {
            try Data(name.utf8).write(to: URL(fileURLWithPath: folder + "/" + name))
        }
        let names = try RemoteFetcher().list(sftpSource(server, folder + "/"))
        #expect(names == [".hidden", "a.csv", "b.csv", "with space.csv"])

        let empty = server.remoteRoot + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        #expect(try RemoteFetcher().list(sftpSource(server, empty + "/")) == [])
    }

    @Test("SFTP: an unauthorized key gives .authentication; a missing file gives .remoteFileNotFound")
    func authenticationAndMissingFile() throws {
        let server = try LoopbackSFTPServer()
        defer { server.stop() }
        let output = try FetchTempFolder("out")
        let remote = server.remoteRoot + "/feed.csv"
        try Data("rows\n".utf8).write(to: URL(fileURLWithPath: remote))

        var wrongKey = sftpSource(server, remote)
        wrongKey.sshPrivateKeyFile = server.unauthorizedKeyFile
        let denied = try #require(throws: FetchError.self) {
            try RemoteFetcher().fetch(wrongKey, to: output.file("feed.csv"), conditional: nil)
        }
        #expect(denied.code == .authentication)
        #expect(denied.isPermanent)

        let missing = try #require(throws: FetchError.self) {
            try RemoteFetcher().fetch(
                sftpSource(server, server.remoteRoot + "/nope.csv"), to: output.file("nope.csv"), conditional: nil)
        }
        #expect(missing.code == .remoteFileNotFound)
        #expect(missing.isPermanent)
        #expect(!output.exists("feed.csv.part") && !output.exists("nope.csv.part") && !output.exists("nope.csv"))
    }
}
