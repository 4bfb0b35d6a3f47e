import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Real servers on 127.0.0.1 for the fetch and delivery tests: an HTTPS server (python3 http.server + ssl, with a throwaway CA
// made by openssl) and OpenSSH's sshd with internal-sftp. Each runs under a small python supervisor that stops it
// when the test process goes away, so even a crashed test run leaves nothing behind; `stop()` (also called from
// deinit) ends it normally and removes its temporary folder.

public struct LoopbackError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// A temporary folder removed on `remove()` or deinit.
public final class FetchTempFolder {
    public let path: String
    private var removed = false

    public init(_ label: String = "fetch") throws {
        var template = Array("/tmp/fc-fetchtest-\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw LoopbackError(description: "mkdtemp failed: \(errno)") }
        path = String(cString: made)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        try write(name, Array(text.utf8))
    }

    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let target = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    public func exists(_ name: String) -> Bool { access(file(name), F_OK) == 0 }

    public func remove() {
        guard !removed else { return }
        removed = true
        try? FileManager.default.removeItem(atPath: path)
    }

    deinit { remove() }
}

public enum LoopbackTools {
    /// Runs a tool to completion, failing with its output when it exits non-zero.
    public static func run(_ executable: String, _ arguments: [String], in folder: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        let logPath = folder + "/tool.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw LoopbackError(description: "\(executable) \(arguments.joined(separator: " ")) failed: \(output)")
        }
    }

    public static func python3() throws -> String {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] where access(candidate, X_OK) == 0 {
            return candidate
        }
        throw LoopbackError(description: "python3 not found: apt-get install -y python3")
    }

    /// A port that was free a moment ago (for servers that cannot bind port 0 themselves).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoopbackError(description: "socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw LoopbackError(description: "bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Polls `condition` every 20 ms for up to `seconds`.
    public static func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// Stops its child when the test process dies (parent pid changes) or on SIGTERM.
    public static let supervisorScript = #"""
        import os, signal, subprocess, sys, time
        child = None
        def stop(*_):
            if child is not None:
                child.terminate()
                try:
                    child.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    child.kill()
            os._exit(0)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # Swift's worker threads block most signals and a spawned process inherits that mask: without this,
        # SIGTERM would stay pending forever (here and in the child, which inherits our mask).
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        parent = os.getppid()
        child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)
        while True:
            if child.poll() is not None:
                os._exit(child.returncode or 0)
            if os.getppid() != parent:
                stop()
            time.sleep(0.2)
        """#
}

/// A supervised background process writing its output to `<folder>/server.log`.
public final class LoopbackProcess {
    private let process = Process()
    private var stopped = false
    public let logPath: String

    public init(_ arguments: [String], folder: String) throws {
        let supervisor = folder + "/supervise.py"
        try LoopbackTools.supervisorScript.write(toFile: supervisor, atomically: true, encoding: .utf8)
        logPath = folder + "/server.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }
        process.executableURL = URL(fileURLWithPath: try LoopbackTools.python3())
        process.arguments = [supervisor] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var isRunning: Bool { process.isRunning }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func stop() {
        guard !stopped else { return }
        stopped = true
        if process.isRunning { process.terminate() }
        // Bounded: the supervisor stops its child within 5 s of SIGTERM; after 10 s, force it.
        if !LoopbackTools.wait(seconds: 10, { !process.isRunning }) {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// HTTPS server on 127.0.0.1 with its own CA. Routes (all GET):
/// - `/files/NAME`: the file `NAME` from `root`, with `ETag` and `Last-Modified`; 304 on a matching
///   `If-None-Match`, or (without one) on `If-Modified-Since` not older than the file.
/// - `/private/NAME`: the same, behind basic auth (`basicAuth`) or a bearer token (`bearerToken`).
/// - `/flaky/N/NAME`: 500 the first N times (per full path), then as `/files/NAME`.
/// - `/status/CODE`: that status with a small body.
/// - `/slow/NAME`: waits 10 s first.
/// - `/truncated/NAME`: announces the full length, sends half of the file, closes.
/// - `/redirect/NAME`: 302 to `/files/NAME`; `/redirect-http/NAME`: 302 to `http://…/files/NAME`.
/// Uploads (export delivery), saved under `received/` (see `received(_:)`):
/// - `PUT /upload/NAME`: 201; `PUT /private-upload/NAME`: the same behind the credentials above;
///   `PUT /flaky-upload/N/NAME`: 500 the first N times (per full path), then 201.
/// - `POST /inbox`: 201, saved under the `filename` of its `Content-Disposition`.
/// Every request is appended to `requests.log` as `PATH STATUS`.
public final class LoopbackHTTPSServer {
    public let folder: FetchTempFolder
    public let root: String
    public let port: Int
    /// PEM of the throwaway CA that signed the server (and client) certificates.
    public let caFile: String
    public let clientCertificateFile: String
    public let clientKeyFile: String
    private let server: LoopbackProcess

    public init(basicAuth: String? = nil, bearerToken: String? = nil, requireClientCertificate: Bool = false) throws {
        folder = try FetchTempFolder("https")
        root = folder.file("root")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: folder.file("received"), withIntermediateDirectories: false)
        let dir = folder.path
        try folder.write("openssl.cnf", Self.opensslConfig)
        let openssl = "/usr/bin/openssl"
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try LoopbackTools.run(
            openssl,
            [
                "req", "-x509", "-config", "openssl.cnf", "-extensions", "v3_ca", "-subj", "/CN=familyconnect test CA",
                "-days", "2", "-keyout", "ca.key", "-out", "ca.pem",
            ] + ec, in: dir)
        for (name, extensions) in [("server", "v3_server"), ("client", "v3_client")] {
            try LoopbackTools.run(
                openssl,
                [
                    "req", "-new", "-config", "openssl.cnf", "-subj",
                    "/CN=\(name == "server" ? "localhost" : "feed-client")",
                    "-keyout", "\(name).key", "-out", "\(name).csr",
                ] + ec, in: dir)
            try LoopbackTools.run(
                openssl,
                [
                    "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                    "-set_serial", name == "server" ? "2" : "3", "-days", "2", "-extfile", "openssl.cnf",
                    "-extensions", extensions, "-out", "\(name).pem",
                ], in: dir)
        }
        caFile = folder.file("ca.pem")
        clientCertificateFile = folder.file("client.pem")
        clientKeyFile = folder.file("client.key")

        var config: [String: String] = [
            "root": root, "cert": folder.file("server.pem"), "key": folder.file("server.key"),
            "portFile": folder.file("port"), "requestLog": folder.file("requests.log"),
            "received": folder.file("received"),
        ]
        if let basicAuth { config["basic"] = basicAuth }
        if let bearerToken { config["bearer"] = bearerToken }
        if requireClientCertificate { config["clientCA"] = caFile }
        let configData = try JSONSerialization.data(withJSONObject: config)
        try folder.write("config.json", Array(configData))
        try folder.write("server.py", Self.serverScript)

        let process = try LoopbackProcess(
            [try LoopbackTools.python3(), folder.file("server.py"), folder.file("config.json")], folder: dir)
        let portFile = folder.file("port")
        var port = 0
        let started = LoopbackTools.wait(seconds: 15) {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let value = Int(text) {
                port = value
                return LoopbackTools.accepts(port: value)
            }
            return !process.isRunning
        }
        guard started, port > 0, process.isRunning else {
            let log = process.log
            process.stop()
            throw LoopbackError(description: "HTTPS test server did not start: \(log)")
        }
        self.server = process
        self.port = port
    }

    public func url(_ path: String) -> String { "https://127.0.0.1:\(port)\(path)" }

    /// Writes a file into the served folder.
    @discardableResult
    public func put(_ name: String, _ bytes: [UInt8], modified: Date? = nil) throws -> String {
        let path = root + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        if let modified {
            try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
        }
        return path
    }

    /// The bytes of an uploaded file, nil when none of that name arrived.
    public func received(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: folder.file("received") + "/" + name).map { [UInt8]($0) }
    }

    /// The names of the uploaded files, sorted.
    public var receivedNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.file("received"))) ?? []).sorted()
    }

    /// How many requests for `path` (without query) the server saw.
    public func requestCount(_ path: String) -> Int {
        let log = (try? String(contentsOfFile: folder.file("requests.log"), encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter { $0.split(separator: " ").first.map(String.init) == path }.count
    }

    public var log: String { server.log }

    public func stop() {
        server.stop()
        folder.remove()
    }

    deinit { stop() }

    public static let opensslConfig = """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = unused
        [v3_ca]
        basicConstraints = critical,CA:TRUE
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        [v3_server]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = serverAuth
        subjectAltName = IP:127.0.0.1,DNS:localhost
        [v3_client]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = clientAuth

        """

    public static let serverScript = #"""
        import base64, email.utils, hashlib, json, os, ssl, sys, threading, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        config = json.load(open(sys.argv[1]))
        root = config["root"]
        failures = {}
        lock = threading.Lock()

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(config["cert"], config["key"])
        if config.get("clientCA"):
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(config["clientCA"])

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30

            def log_message(self, *args):
                pass

            def record(self, status):
                with lock:
                    with open(config["requestLog"], "a") as log:
                        log.write("%s %d\n" % (self.path.split("?")[0], status))

            def reply(self, status, body=b"", headers=()):
                self.record(status)
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body and self.command != "HEAD":
                    self.wfile.write(body)

            def serve_file(self, name):
                path = os.path.join(root, os.path.basename(name))
                if not os.path.isfile(path):
                    return self.reply(404, b"not found\n")
                data = open(path, "rb").read()
                mtime = int(os.path.getmtime(path))
                etag = '"%s"' % hashlib.sha256(data).hexdigest()[:20]
                modified = email.utils.formatdate(mtime, usegmt=True)
                validators = [("ETag", etag), ("Last-Modified", modified)]
                inm = self.headers.get("If-None-Match")
                ims = self.headers.get("If-Modified-Since")
                if inm is not None:
                    if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
                        return self.reply(304, headers=validators)
                elif ims is not None:
                    try:
                        since = email.utils.parsedate_to_datetime(ims).timestamp()
                        if mtime <= since:
                            return self.reply(304, headers=validators)
                    except (TypeError, ValueError):
                        pass
                self.reply(200, data, headers=validators + [("Content-Type", "application/octet-stream")])

            def authorized(self):
                given = self.headers.get("Authorization", "")
                if config.get("basic"):
                    expected = "Basic " + base64.b64encode(config["basic"].encode()).decode()
                    if given == expected:
                        return True
                if config.get("bearer") and given == "Bearer " + config["bearer"]:
                    return True
                return False

            def do_GET(self):
                path = self.path.split("?")[0]
                parts = path.strip("/").split("/")
                kind = parts[0]
                if kind == "files" and len(parts) == 2:
                    return self.serve_file(parts[1])
                if kind == "private" and len(parts) == 2:
                    if not self.authorized():
                        return self.reply(401, b"authorization required\n",
                                          headers=[("WWW-Authenticate", 'Basic realm="feeds"')])
                    return self.serve_file(parts[1])
                if kind == "flaky" and len(parts) == 3:
                    with lock:
                        seen = failures.get(path, 0)
                        failures[path] = seen + 1
                    if seen < int(parts[1]):
                        return self.reply(500, b"try again\n")
                    return self.serve_file(parts[2])
                if kind == "status" and len(parts) == 2:
                    return self.reply(int(parts[1]), b"status body\n")
                if kind == "slow" and len(parts) == 2:
                    time.sleep(10)
                    return self.serve_file(parts[1])
                if kind == "truncated" and len(parts) == 2:
                    data = open(os.path.join(root, os.path.basename(parts[1])), "rb").read()
                    self.record(200)
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if kind == "redirect" and len(parts) == 2:
                    return self.reply(302, headers=[("Location", "/files/" + parts[1])])
                if kind == "redirect-http" and len(parts) == 2:
                    location = "http://127.0.0.1:%d/files/%s" % (self.server.server_address[1], parts[1])
                    return self.reply(302, headers=[("Location", location)])
                self.reply(404, b"no route\n")

            def save(self, name):
                length = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(length)
                name = os.path.basename(name)
                if not name or name.startswith("."):
                    return self.reply(400, b"bad name\n")
                with open(os.path.join(config["received"], name), "wb") as f:
                    f.write(data)
                self.reply(201, b"stored\n")

            def do_PUT(self):
                path = self.path.split("?")[0]
                parts = path.strip("/").split("/")
                kind = parts[0]
                if kind == "upload" and len(parts) == 2:
                    return self.save(parts[1])
                if kind == "private-upload" and len(parts) == 2:
                    if not self.authorized():
                        self.rfile.read(int(self.headers.get("Content-Length", "0")))
                        return self.reply(401, b"authorization required\n",
                                          headers=[("WWW-Authenticate", 'Basic realm="uploads"')])
                    return self.save(parts[1])
                if kind == "flaky-upload" and len(parts) == 3:
                    with lock:
                        seen = failures.get(path, 0)
                        failures[path] = seen + 1
                    if seen < int(parts[1]):
                        self.rfile.read(int(self.headers.get("Content-Length", "0")))
                        return self.reply(500, b"try again\n")
                    return self.save(parts[2])
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.reply(404, b"no route\n")

            def do_POST(self):
                path = self.path.split("?")[0]
                disposition = self.headers.get("Content-Disposition", "")
                name = disposition.split("filename=")[-1].strip('"') if "filename=" in disposition else ""
                if path == "/inbox" and self.headers.get("Content-Type", "").startswith("text/csv"):
                    return self.save(name)
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.reply(400, b"expected a CSV\n")

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request, client_address):
                # TLS handshake in the connection's own thread, so one bad client cannot block accept().
                try:
                    request.settimeout(30)
                    connection = context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    request.close()
                    return
                self.RequestHandlerClass(connection, client_address, self)

            def handle_error(self, request, client_address):
                pass

        server = Server(("127.0.0.1", 0), Handler)
        with open(config["portFile"] + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(config["portFile"] + ".tmp", config["portFile"])
        server.serve_forever()
        """#
}

/// OpenSSH sshd on 127.0.0.1 with internal-sftp, its own host key, and one authorized client key, for the
/// current user.
public final class LoopbackSFTPServer {
    public let folder: FetchTempFolder
    /// A folder to put remote files in (absolute path, also the path in sftp:// URLs).
    public let remoteRoot: String
    public let port: Int
    public let user: String
    public let clientKeyFile: String
    /// known_hosts naming this server's host key as `[127.0.0.1]:PORT`.
    public let knownHostsFile: String
    /// known_hosts with the right host name but a different key.
    public let wrongKnownHostsFile: String
    /// A valid key pair that the server does not authorize.
    public let unauthorizedKeyFile: String
    private var server: LoopbackProcess?

    public init() throws {
        folder = try FetchTempFolder("sftp")
        let dir = folder.path
        remoteRoot = folder.file("remote")
        try FileManager.default.createDirectory(atPath: remoteRoot, withIntermediateDirectories: false)
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else {
            throw LoopbackError(description: "no passwd entry for uid \(geteuid())")
        }
        user = String(cString: name)

        let keygen = "/usr/bin/ssh-keygen"
        for key in ["host_key", "client_key", "other_host_key", "unauthorized_key"] {
            try LoopbackTools.run(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key], in: dir)
        }
        clientKeyFile = folder.file("client_key")
        unauthorizedKeyFile = folder.file("unauthorized_key")
        try FileManager.default.copyItem(atPath: folder.file("client_key.pub"), toPath: folder.file("authorized_keys"))
        // sshd's privilege-separation directory (tests run as root in CI); if this fails, sshd's log says why.
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)

        let sshd = "/usr/sbin/sshd"
        guard access(sshd, X_OK) == 0 else {
            throw LoopbackError(description: "\(sshd) not found: apt-get install -y openssh-server")
        }
        func publicKey(_ file: String) throws -> String {
            let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            return text.split(separator: " ").prefix(2).joined(separator: " ")
        }

        var lastLog = ""
        var running: (process: LoopbackProcess, port: Int)? = nil
        for _ in 0..<3 where running == nil {  // a "free" port can be taken before sshd binds it: try another
            let port = try LoopbackTools.freePort()
            let config = """
                ListenAddress 127.0.0.1
                HostKey \(folder.file("host_key"))
                PidFile \(folder.file("sshd.pid"))
                AuthorizedKeysFile \(folder.file("authorized_keys"))
                AllowUsers \(user)
                StrictModes no
                UsePAM no
                PermitRootLogin prohibit-password
                PubkeyAuthentication yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UseDNS no
                PrintMotd no
                X11Forwarding no
                AllowTcpForwarding no
                MaxStartups 50
                LogLevel VERBOSE
                Subsystem sftp internal-sftp

                """
            try folder.write("sshd_config", config)
            let process = try LoopbackProcess(
                [sshd, "-D", "-e", "-f", folder.file("sshd_config"), "-p", String(port)], folder: dir)
            let started = LoopbackTools.wait(seconds: 15) {
                LoopbackTools.accepts(port: port) || !process.isRunning
            }
            if started && process.isRunning {
                running = (process, port)
            } else {
                lastLog = process.log
                process.stop()
            }
        }
        guard let running else { throw LoopbackError(description: "sshd did not start: \(lastLog)") }
        server = running.process
        port = running.port
        knownHostsFile = try folder.write("known_hosts", "[127.0.0.1]:\(port) \(try publicKey("host_key.pub"))\n")
        wrongKnownHostsFile = try folder.write(
            "wrong_known_hosts", "[127.0.0.1]:\(port) \(try publicKey("other_host_key.pub"))\n")
    }

    /// `sftp://USER@127.0.0.1:PORT` + `path` (an absolute path on this machine).
    public func url(_ path: String) -> String { "sftp://\(user)@127.0.0.1:\(port)\(path)" }

    public var log: String { server?.log ?? "" }

    public func stop() {
        server?.stop()
        server = nil
        folder.remove()
    }

    deinit { stop() }
}
