import Foundation
import Testing

@testable import Daemon

#if canImport(Glibc)
    import Glibc
#endif

@Suite("HTTP request parser")
struct HTTPRequestParserTests {
    func parse(_ text: String, maximum: Int = 8192) -> HTTPRequestParser.Result {
        HTTPRequestParser.parse(Array(text.utf8), maximumBytes: maximum)
    }

    @Test("a complete GET with headers and a query")
    func complete() throws {
        guard
            case .complete(let request) = parse(
                "GET /metrics?x=1 HTTP/1.1\r\nHost: localhost:9464\r\nAccept: */*\r\n\r\n")
        else {
            Issue.record("not parsed")
            return
        }
        #expect(request.method == "GET")
        #expect(request.path == "/metrics")
        #expect(request.target == "/metrics?x=1")
        #expect(request.header("host") == "localhost:9464")
        #expect(request.header("ACCEPT") == "*/*")
    }

    @Test("incomplete until the blank line; bare LF accepted; a leading empty line ignored")
    func incomplete() {
        #expect(parse("GET /healthz HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(parse("GET /healthz HTTP/1.1\r\nHo") == .incomplete)
        guard case .complete(let request) = parse("\r\nGET /healthz HTTP/1.0\n\n") else {
            Issue.record("not parsed")
            return
        }
        #expect(request.version == "HTTP/1.0")
    }

    @Test(
        "malformed requests are refused with the right status",
        arguments: [
            ("GARBAGE\r\n\r\n", 400),
            ("GET /x HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            ("GET /x FTP/1.0\r\n\r\n", 400),
            ("GET  /x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET /x HTTP/1.1\r\n\r\n", 400),
            ("GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("GET /x HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
            ("GET /x HTTP/1.1\r\nBad Header: a\r\nHost: a\r\n\r\n", 400),
            ("G(T /x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ])
    func malformed(text: String, status: Int) {
        guard case .invalid(let got, _) = parse(text) else {
            Issue.record("accepted: \(text.debugDescription)")
            return
        }
        #expect(got == status, "\(text.debugDescription)")
    }

    @Test("the request head is bounded")
    func bounded() {
        let big = "GET /x HTTP/1.1\r\nHost: x\r\nX-Fill: " + String(repeating: "a", count: 9000)
        #expect(parse(big) == .invalid(status: 431, reason: "request head larger than 8192 bytes"))
        #expect(parse(big + "\r\n\r\n") == .invalid(status: 431, reason: "request head larger than 8192 bytes"))
    }
}

@Suite("HTTP server")
struct HTTPServerTests {
    /// A server on an ephemeral port, serving on its own thread until the body returns.
    func withServer(limits: HTTPServer.Limits = HTTPServer.Limits(), _ body: (Int) throws -> Void) throws {
        let server = try HTTPServer(address: ListenAddress(host: "127.0.0.1", port: 0), limits: limits)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            server.serve { request in
                switch request.path {
                case "/hello": HTTPResponse(status: 200, body: "hello \(request.method)\n")
                default: .text(404, "no")
                }
            }
            done.signal()
        }
        thread.start()
        defer {
            server.stop()
            _ = done.wait(timeout: .now() + 5)
        }
        #expect(server.address.port > 0)
        try body(server.address.port)
    }

    /// Sends raw bytes and reads the whole answer.
    func raw(_ port: Int, _ bytes: String, wait: Double = 0) -> String {
        guard let fd = connectLoopback(port) else { return "" }
        defer { close(fd) }
        if !bytes.isEmpty { _ = bytes.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            out.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test("answers curl: 200 with Content-Length, 404, HEAD without a body")
    func curlAnswers() throws {
        try withServer { (port: Int) throws in
            let hello = try curl("http://127.0.0.1:\(port)/hello")
            #expect(hello.status == 200)
            #expect(hello.body == "hello GET\n")
            #expect(try curl("http://127.0.0.1:\(port)/other").status == 404)
            let head = raw(port, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(head.contains("Content-Length: 11\r\n"))
            #expect(head.contains("Connection: close\r\n"))
            #expect(head.hasSuffix("\r\n\r\n"), "HEAD has no body")
        }
    }

    @Test("garbage gets 400, an oversized head 431, a silent client 408 — and the server goes on")
    func hostileClients() throws {
        var limits = HTTPServer.Limits()
        limits.readTimeout = 0.5
        try withServer(limits: limits) { (port: Int) throws in
            #expect(raw(port, "\u{1}\u{2}garbage\r\n\r\n").hasPrefix("HTTP/1.1 400 "))
            #expect(
                raw(port, "GET /hello HTTP/1.1\r\nX: " + String(repeating: "a", count: 10000)).hasPrefix(
                    "HTTP/1.1 431 "))
            #expect(raw(port, "GET /hello HTTP/1.1\r\n").hasPrefix("HTTP/1.1 408 "))
            #expect(raw(port, "").hasPrefix("HTTP/1.1 408 "))
            #expect(try curl("http://127.0.0.1:\(port)/hello").status == 200)
        }
    }

    /// Connects and sends `bytes` without reading: a client that holds its connection half-sent.
    func halfSent(_ port: Int, _ bytes: String = "GET /healthz HTTP/1.1\r\n") -> Int32 {
        let connected = connectLoopback(port)
        #expect(connected != nil, "connect failed: \(errno)")
        let fd = connected ?? -1
        _ = bytes.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        return fd
    }

    /// Whether the server has closed `fd` (or answered on it) within `timeout`; what it sent.
    func closedByServer(_ fd: Int32, timeout: Double) -> (closed: Bool, received: String) {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (true, String(decoding: out, as: UTF8.self)) }
            out.append(contentsOf: chunk[0..<count])
        }
        return (false, String(decoding: out, as: UTF8.self))
    }

    @Test("16 connections holding half-sent requests: a health check is still answered within 1 s")
    func slowClientsDoNotBlind() throws {
        try withServer { (port: Int) throws in
            let held = (0..<16).map { _ in halfSent(port) }
            defer { for fd in held { close(fd) } }
            usleep(200_000)  // let the server accept them all
            for attempt in 1...3 {
                let started = Date()
                let answer = try curl("http://127.0.0.1:\(port)/hello")
                let seconds = Date().timeIntervalSince(started)
                #expect(answer.status == 200, "attempt \(attempt)")
                #expect(seconds < 1, "attempt \(attempt) took \(seconds) s with 16 slow clients")
            }
            // The slow ones are still open (their deadline is 5 s): they were not simply dropped.
            #expect(held.allSatisfy { !closedByServer($0, timeout: 0.05).closed })
        }
    }

    @Test("slow clients are timed out concurrently, each by its own deadline")
    func deadlinesRunConcurrently() throws {
        var limits = HTTPServer.Limits()
        limits.readTimeout = 0.6
        try withServer(limits: limits) { (port: Int) throws in
            let started = Date()
            let held = (0..<6).map { _ in halfSent(port) }
            defer { for fd in held { close(fd) } }
            for fd in held {
                let (closed, received) = closedByServer(fd, timeout: 3)
                #expect(closed)
                #expect(received.hasPrefix("HTTP/1.1 408 "), "\(received)")
            }
            let seconds = Date().timeIntervalSince(started)
            // One at a time this takes 6 × 0.6 s; side by side a little over 0.6 s.
            #expect(seconds < 1.8, "six slow clients took \(seconds) s to time out")
        }
    }

    @Test("at the connection cap the oldest slow connection is dropped and new requests are answered")
    func connectionCap() throws {
        var limits = HTTPServer.Limits()
        limits.maximumConnections = 4
        limits.readTimeout = 30
        try withServer(limits: limits) { (port: Int) throws in
            var held: [Int32] = []
            defer { for fd in held { close(fd) } }
            for _ in 0..<4 {
                held.append(halfSent(port))
                usleep(50_000)  // accepted in this order
            }
            for round in 0..<8 {
                let started = Date()
                let answer = try curl("http://127.0.0.1:\(port)/hello")
                #expect(answer.status == 200, "round \(round)")
                #expect(Date().timeIntervalSince(started) < 1, "round \(round)")
                held.append(halfSent(port))
                usleep(50_000)
            }
            // 12 slow clients came, at most 4 may stay open: the oldest were dropped, the newest kept.
            let closed = held.map { closedByServer($0, timeout: 0.3) }
            let open = closed.filter { !$0.closed }.count
            #expect(open <= 4 && open >= 3, "\(open) slow connections still open")
            #expect(closed.prefix(8).allSatisfy { $0.closed }, "the oldest are the ones dropped")
            #expect(!closed.last!.closed, "the newest is kept")
            for dropped in closed where dropped.closed {
                #expect(dropped.received.isEmpty || dropped.received.hasPrefix("HTTP/1.1 503 "), "\(dropped.received)")
            }
        }
    }

    @Test("a port in use is reported at start")
    func portInUse() throws {
        let first = try HTTPServer(address: ListenAddress(host: "127.0.0.1", port: 0))
        #expect(throws: DaemonError.self) {
            try HTTPServer(address: ListenAddress(host: "127.0.0.1", port: first.address.port))
        }
        first.stop()
        first.serve { _ in .text(200, "") }
    }
}
