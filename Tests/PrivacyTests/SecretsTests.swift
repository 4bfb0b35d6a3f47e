import Foundation
import LoopbackTestSupport
import Postgres
import PostgresTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Transport and secrets: a private PostgreSQL cluster that accepts only TLS with a password
/// (scram-sha-256), a throwaway CA, and a planted password that must never show in argv, the
/// environment, output, logs or errors.
@Suite("TLS and secrets")
struct SecretsTests {
    /// A cluster of its own (the shared test cluster trusts loopback and has no TLS).
    final class TLSCluster {
        let directory: String
        private(set) var port = 0
        let password = "Plant3d-\(UUID().uuidString.prefix(12))-pw"
        var passfile: String { directory + "/pgpass" }
        var caFile: String { directory + "/ca.crt" }
        var rogueCAFile: String { directory + "/rogue.crt" }
        let bin: String

        init() throws {
            let root = "/tmp/fc-tls-\(UUID().uuidString.prefix(8).lowercased())"
            directory = root
            let versions = try FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql").sorted {
                $0.compare($1, options: .numeric) == .orderedAscending
            }
            bin = "/usr/lib/postgresql/\(try #require(versions.last))/bin"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            // A throwaway CA, a server certificate for "localhost" signed by it, and a second (rogue) CA.
            try Self.sh(
                """
                cd \(root) && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj '/CN=familyconnect test CA' \
                && openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.crt -days 2 -subj '/CN=rogue CA' \
                && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost' \
                && printf 'subjectAltName=DNS:localhost\\n' > san.ext \
                && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext
                """)
            let owner = getuid() == 0 ? "runuser -u postgres -- " : ""
            try "\(password)\n".write(toFile: root + "/superpw", atomically: true, encoding: .utf8)
            if getuid() == 0 { try Self.sh("chown -R postgres: \(root) && chmod 700 \(root)") }
            try Self.sh(
                "\(owner)\(bin)/initdb -D \(root)/data -U postgres --pwfile=\(root)/superpw --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null"
            )
            try Self.sh("rm -f \(root)/superpw")
            // TLS with a password, or nothing: plain TCP is refused.
            try """
            hostssl all all 127.0.0.1/32 scram-sha-256
            host    all all 127.0.0.1/32 reject
            """.write(toFile: root + "/data/pg_hba.conf", atomically: true, encoding: .utf8)
            try Self.sh("cp \(root)/server.crt \(root)/server.key \(root)/data/ && chmod 600 \(root)/data/server.key")
            if getuid() == 0 { try Self.sh("chown -R postgres: \(root)/data") }
            try start(owner: owner)
            try "localhost:\(port):*:postgres:\(password)\n127.0.0.1:\(port):*:postgres:\(password)\n"
                .write(toFile: passfile, atomically: true, encoding: .utf8)
            chmod(passfile, 0o600)
            if getuid() == 0 { chown(passfile, 0, 0) }
        }

        /// Starts the server on a port the kernel just handed out. That port lies in the ephemeral
        /// range, so another test's outgoing connection can take it before the server binds it:
        /// a start that fails is tried again on a new port, and the last failure carries the log.
        private func start(owner: String) throws {
            var lastFailure: Error?
            for _ in 0..<5 {
                port = try LoopbackTools.freePort()
                do {
                    try Self.sh(
                        "\(owner)\(bin)/pg_ctl -D \(directory)/data -l \(directory)/server.log -w -t 60 start -o "
                            + "\"-c port=\(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c ssl=on "
                            + "-c ssl_cert_file=server.crt -c ssl_key_file=server.key -c fsync=off\" </dev/null")
                    return
                } catch {
                    let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
                    lastFailure = TestDatabase.Unavailable(description: "\(error)\nserver.log:\n\(log.suffix(2000))")
                    _ = try? Self.sh("\(owner)\(bin)/pg_ctl -D \(directory)/data -m immediate stop")
                }
            }
            throw lastFailure!
        }

        /// A connection string that verifies the server's certificate and name; no password in it.
        func conninfo(
            host: String = "localhost", sslmode: String = "verify-full", ca: String? = nil, dbname: String = "postgres"
        )
            -> String
        {
            "host=\(host) port=\(port) user=postgres dbname=\(dbname) sslmode=\(sslmode) sslrootcert=\(ca ?? caFile) connect_timeout=10"
        }

        func stop() {
            let owner = getuid() == 0 ? "runuser -u postgres -- " : ""
            _ = try? Self.sh("\(owner)\(bin)/pg_ctl -D \(directory)/data -m immediate stop >/dev/null 2>&1")
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// Runs a shell command, its output in a file. posix_spawn and waitpid rather than
        /// Foundation's Process: `pg_ctl start` leaves a daemon behind, and Process did not always
        /// notice its shell had ended.
        @discardableResult
        static func sh(_ command: String) throws -> String {
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("fc-sh-\(UUID().uuidString).log")
                .path
            defer { unlink(log) }
            let script = "(\(command)) >'\(log)' 2>&1 </dev/null"
            var pid: pid_t = 0
            let arguments = ["/bin/sh", "-c", script]
            var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ)
            guard spawned == 0 else { throw TestDatabase.Unavailable(description: "posix_spawn failed: \(spawned)") }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            guard status == 0 else {
                throw TestDatabase.Unavailable(description: "`\(command.prefix(80))…` failed (\(status)): \(text)")
            }
            return text
        }
    }

    @Test("sslmode=verify-full: the right CA and name connect over TLS; a wrong CA, a wrong name or no TLS are refused")
    func verifyFull() throws {
        let cluster = try TLSCluster()
        defer { cluster.stop() }
        let good = try PostgresConnection.connect(cluster.conninfo() + " passfile=\(cluster.passfile)")
        #expect(try good.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").scalar(Bool.self))
        good.close()

        func refusal(_ conninfo: String) -> String? {
            do {
                _ = try PostgresConnection.connect(conninfo)
                return nil
            } catch {
                return "\(error)"
            }
        }
        let rogue = refusal(cluster.conninfo(ca: cluster.rogueCAFile) + " passfile=\(cluster.passfile)")
        #expect(rogue?.contains("certificate verify failed") == true, "\(rogue ?? "connected")")
        let wrongName = refusal(cluster.conninfo(host: "127.0.0.1") + " passfile=\(cluster.passfile)")
        #expect(wrongName?.contains("does not match host name") == true, "\(wrongName ?? "connected")")
        // verify-ca checks the chain only: the same address connects.
        #expect(
            refusal(cluster.conninfo(host: "127.0.0.1", sslmode: "verify-ca") + " passfile=\(cluster.passfile)") == nil)
        let plain = refusal(
            "host=localhost port=\(cluster.port) user=postgres dbname=postgres sslmode=disable passfile=\(cluster.passfile)"
        )
        #expect(
            plain?.contains("no encryption") == true || plain?.contains("pg_hba.conf") == true,
            "\(plain ?? "connected")")

        // A wrong password: refused, and neither password is in the error.
        let wrongFile = cluster.directory + "/wrong-pgpass"
        let wrongPassword = "Wr0ng-\(UUID().uuidString.prefix(8))"
        try "localhost:\(cluster.port):*:postgres:\(wrongPassword)\n".write(
            toFile: wrongFile, atomically: true, encoding: .utf8)
        chmod(wrongFile, 0o600)
        let wrong = refusal(cluster.conninfo() + " passfile=\(wrongFile)")
        #expect(wrong?.contains("password authentication failed") == true, "\(wrong ?? "connected")")
        #expect(wrong?.contains(wrongPassword) == false && wrong?.contains(cluster.password) == false)
    }

    @Test(
        "a planted password never appears in argv, the environment, output, logs or errors of the command line and the daemon"
    )
    func plantedPassword() throws {
        let cluster = try TLSCluster()
        defer { cluster.stop() }
        let secret = cluster.password
        var transcript = ""
        func run(
            _ arguments: [String], environment: [String: String] = [:]
        ) throws -> (status: Int32, stdout: String, stderr: String) {
            let result = try FamilyConnectBinary.run(arguments, environment: environment)
            transcript += result.stdout + result.stderr
            return result
        }
        try PostgresConnection.connect(cluster.conninfo() + " passfile=\(cluster.passfile)").execute(
            "CREATE DATABASE familyconnect")
        let conninfo = cluster.conninfo(dbname: "familyconnect")

        // The password in a file: migrations and commands work over verified TLS.
        let migrate = try run([
            "migrate", "--database", conninfo, "--passfile", cluster.passfile, "--schemas",
            TestDatabase.schemasDirectory,
        ])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        let audit = try run(
            ["audit", "--database", conninfo], environment: ["FAMILYCONNECT_PASSFILE": cluster.passfile])
        #expect(audit.status == 0, "\(audit.stderr)")
        // systemd credentials: credential:NAME under $CREDENTIALS_DIRECTORY.
        let credentials = cluster.directory + "/credentials"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: cluster.passfile, toPath: credentials + "/pgpass")
        chmod(credentials + "/pgpass", 0o600)
        let credential = try run(
            ["audit", "--database", conninfo, "--passfile", "credential:pgpass"],
            environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(credential.status == 0, "\(credential.stderr)")

        // A password anywhere else is refused, without being repeated.
        for refused in [
            try run(["audit", "--database", conninfo + " password=\(secret)"]),
            try run([
                "audit", "--database",
                "postgresql://postgres:\(secret)@localhost:\(cluster.port)/familyconnect?sslmode=verify-full",
            ]),
            try run([
                "audit", "--database",
                "postgresql://postgres@localhost:\(cluster.port)/familyconnect?password=\(secret)",
            ]),
            try run(["audit"], environment: ["FAMILYCONNECT_DATABASE": conninfo + " password='\(secret)'"]),
            try run(["audit", "--database", conninfo], environment: ["PGPASSWORD": secret]),
        ] {
            #expect(refused.status == 2, "\(refused.stderr)")
            #expect(refused.stderr.contains("password file") || refused.stderr.contains("PGPASSWORD"))
        }
        // Failures that involve the password file: no password in the error.
        let wrongFile = cluster.directory + "/wrong-pgpass"
        try "localhost:\(cluster.port):*:postgres:not-\(secret)\n".write(
            toFile: wrongFile, atomically: true, encoding: .utf8)
        chmod(wrongFile, 0o600)
        let wrong = try run(["audit", "--database", conninfo, "--passfile", wrongFile])
        #expect(wrong.status == 1 && wrong.stderr.contains("password authentication failed"), "\(wrong.stderr)")
        let closed = try run([
            "audit", "--database", "host=localhost port=1 user=postgres dbname=x sslmode=verify-full", "--passfile",
            cluster.passfile,
        ])
        #expect(closed.status == 1)

        // The daemon: configuration names the password file; its log, argv and environment never hold the password.
        let config = cluster.directory + "/familyconnect.conf"
        try FileManager.default.createDirectory(atPath: cluster.directory + "/drop", withIntermediateDirectories: true)
        try """
        [database]
        conninfo = "\(conninfo)"
        passfile = \(cluster.passfile)
        [paths]
        schemas = \(TestDatabase.schemasDirectory)
        drop_root = \(cluster.directory)/drop
        staging = \(cluster.directory)/staging
        [http]
        listen = off
        [service]
        shutdown_grace_seconds = 5
        log_level = debug
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FamilyConnectBinary.path)
        process.arguments = ["serve", "--config", config]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let collected = LockedText()
        output.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !collected.text.contains("database_connected") && process.isRunning {
            usleep(100_000)
        }
        #expect(collected.text.contains("database_connected"), "\(collected.text.suffix(2000))")
        let pid = process.processIdentifier
        let argv = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
        #expect(!argv.isEmpty && !environ.isEmpty)
        #expect(!String(decoding: argv, as: UTF8.self).contains(secret))
        #expect(!String(decoding: environ, as: UTF8.self).contains(secret))
        kill(pid, SIGTERM)
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        collected.append(output.fileHandleForReading.readDataToEndOfFile())
        transcript += collected.text
        #expect(process.terminationStatus == 0)

        // The server's own log too (connection errors are logged there).
        transcript += (try? String(contentsOfFile: cluster.directory + "/server.log", encoding: .utf8)) ?? ""
        #expect(transcript.count > 500)
        #expect(!transcript.contains(secret), "the planted password leaked")
    }
}

/// Output collected from a child process's pipe on another thread.
final class LockedText: Sendable {
    private let data = Mutex(Data())
    func append(_ more: Data) { data.withLock { $0.append(more) } }
    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}
