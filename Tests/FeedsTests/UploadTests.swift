import Feeds
import Foundation
import LoopbackTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

// RemoteFetcher.upload (export delivery) against the same real loopback servers as the fetch tests.

private func uploadBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

private func uploadSource(_ url: String, retries: Int = 0) -> RemoteSource {
    RemoteSource(
        url: url, connectTimeoutSeconds: 5, totalTimeoutSeconds: 20, retries: retries, initialBackoffSeconds: 1)
}

@Suite("RemoteFetcher uploads over HTTPS (python3 loopback server)", .timeLimit(.minutes(1)))
struct UploadHTTPSTests {
    @Test(
        "PUT into a folder with basic auth from credential:NAME arrives byte-identical; wrong credentials are refused")
    func putWithCredentials() throws {
        let server = try LoopbackHTTPSServer(basicAuth: "outreach:s3cret-Pa55")
        defer { server.stop() }
        let credentials = try FetchTempFolder("creds")
        try credentials.write("upload-login", "outreach:s3cret-Pa55\n")
        try credentials.write("wrong-login", "outreach:not-the-password\n")
        let bytes = uploadBytes(200_000)
        var source = uploadSource(server.url("/private-upload/"))
        source.caFile = server.caFile
        source.credentialsFile = "credential:upload-login"
        let fetcher = RemoteFetcher(sleep: { _ in }, credentialsDirectory: credentials.path)

        let target = try fetcher.upload(bytes, as: "familyconnect-east-20260901-1.csv", to: source)
        #expect(target == "https://127.0.0.1:\(server.port)/private-upload/familyconnect-east-20260901-1.csv")
        #expect(server.received("familyconnect-east-20260901-1.csv") == bytes)

        source.credentialsFile = "credential:wrong-login"
        let error = try #require(throws: FetchError.self) { try fetcher.upload(bytes, as: "other.csv", to: source) }
        #expect(error.code == .authentication && error.isPermanent && error.httpStatus == 401)
        #expect(error.description.hasPrefix("deliver https://127.0.0.1:\(server.port)/private-upload/"))
        #expect(
            !error.description.contains("not-the-password") && !String(reflecting: error).contains("not-the-password"))
        #expect(server.received("other.csv") == nil)
    }

    @Test("POST sends the file name in Content-Disposition; a 500 is retried with backoff, then stored once")
    func postAndRetry() throws {
        let server = try LoopbackHTTPSServer()
        defer { server.stop() }
        var delays: [Double] = []
        let fetcher = RemoteFetcher(sleep: { delays.append($0) })
        var source = uploadSource(server.url("/inbox"))
        source.caFile = server.caFile
        let bytes = Array("\u{FEFF}Flag ID,Family ID\r\nG1,F1\r\n".utf8)
        try fetcher.upload(bytes, as: "familyconnect-west-20260901-2.csv", to: source, method: .post)
        #expect(server.received("familyconnect-west-20260901-2.csv") == bytes)

        source = uploadSource(server.url("/flaky-upload/2/"), retries: 2)
        source.caFile = server.caFile
        try fetcher.upload(bytes, as: "retried.csv", to: source)
        #expect(delays == [1, 2])
        #expect(server.requestCount("/flaky-upload/2/retried.csv") == 3)
        #expect(server.received("retried.csv") == bytes)

        // Retries run out: a transient failure, reported with the attempts made.
        source = uploadSource(server.url("/flaky-upload/5/"), retries: 1)
        source.caFile = server.caFile
        let error = try #require(throws: FetchError.self) { try fetcher.upload(bytes, as: "never.csv", to: source) }
        #expect(error.code == .httpStatus && !error.isPermanent && error.attempts == 2 && error.httpStatus == 500)
        #expect(server.received("never.csv") == nil)
    }

    @Test("refused before connecting: a PUT URL that is not a folder, an unsafe file name, an untrusted server")
    func refusals() throws {
        let server = try LoopbackHTTPSServer()
        defer { server.stop() }
        let fetcher = RemoteFetcher(sleep: { _ in })
        var source = uploadSource(server.url("/upload/file.csv"))
        source.caFile = server.caFile
        let notFolder = try #require(throws: FetchError.self) { try fetcher.upload([1], as: "a.csv", to: source) }
        #expect(notFolder.code == .unsupportedURL && notFolder.attempts == 0)
        source.url = server.url("/upload/")
        for name in ["../x.csv", ".hidden.csv", "a b.csv", ""] {
            let unsafe = try #require(throws: FetchError.self) { try fetcher.upload([1], as: name, to: source) }
            #expect(unsafe.code == .unsupportedURL && unsafe.attempts == 0)
        }
        source.caFile = nil  // the system CAs do not know the test CA: verification is always on
        let untrusted = try #require(throws: FetchError.self) { try fetcher.upload([1], as: "a.csv", to: source) }
        #expect(untrusted.code == .tlsVerification && untrusted.isPermanent)
        #expect(server.receivedNames.isEmpty)
    }
}

@Suite("RemoteFetcher uploads over SFTP (OpenSSH loopback server)", .timeLimit(.minutes(1)))
struct UploadSFTPTests {
    @Test(
        "written under a temporary name, renamed into place, mode 0600; an existing file is never replaced; host keys are checked"
    )
    func sftpUpload() throws {
        let server = try LoopbackSFTPServer()
        defer { server.stop() }
        let inbox = server.remoteRoot + "/inbox"
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: false)
        var source = uploadSource(server.url(inbox + "/"))
        source.sshPrivateKeyFile = server.clientKeyFile
        source.sshKnownHostsFile = server.knownHostsFile
        let fetcher = RemoteFetcher(sleep: { _ in })
        let bytes = uploadBytes(100_000)

        let target = try fetcher.upload(bytes, as: "familyconnect-north-20260901-3.csv", to: source)
        #expect(target.hasSuffix(inbox + "/familyconnect-north-20260901-3.csv"))
        let path = inbox + "/familyconnect-north-20260901-3.csv"
        #expect(FileManager.default.contents(atPath: path).map { [UInt8]($0) } == bytes)
        var mode = stat()
        #expect(stat(path, &mode) == 0 && mode.st_mode & 0o777 == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: inbox) == ["familyconnect-north-20260901-3.csv"])

        // The same name again: the rename is refused and the delivered file is left as it was.
        let again = try #require(throws: FetchError.self) {
            try fetcher.upload([1, 2, 3], as: "familyconnect-north-20260901-3.csv", to: source)
        }
        #expect(again.code == .upload && again.isPermanent)
        #expect(FileManager.default.contents(atPath: path).map { [UInt8]($0) } == bytes)

        // A host key that does not match: nothing is written.
        source.sshKnownHostsFile = server.wrongKnownHostsFile
        let hostKey = try #require(throws: FetchError.self) {
            try fetcher.upload(bytes, as: "wrong-host.csv", to: source)
        }
        #expect(hostKey.code == .hostKey && hostKey.isPermanent)
        #expect(!FileManager.default.fileExists(atPath: inbox + "/wrong-host.csv"))
        #expect(!FileManager.default.fileExists(atPath: inbox + "/.wrong-host.csv.part"))

        // A folder URL is required.
        source.sshKnownHostsFile = server.knownHostsFile
        source.url = server.url(inbox + "/file.csv")
        let notFolder = try #require(throws: FetchError.self) { try fetcher.upload(bytes, as: "x.csv", to: source) }
        #expect(notFolder.code == .unsupportedURL && notFolder.attempts == 0)
    }
}
