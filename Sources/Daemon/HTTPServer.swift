import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One parsed HTTP/1.x request head (no body: the service only answers GET and HEAD).
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    public var target: String
    /// The target's path, without the query string.
    public var path: String
    public var version: String
    public var headers: [(name: String, value: String)]

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.version == rhs.version
            && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(
        status: Int, contentType: String = "text/plain; charset=utf-8", body: String, headers: [(String, String)] = []
    ) {
        self.status = status
        self.headers = [("Content-Type", contentType)] + headers.map { (name: $0.0, value: $0.1) }
        self.body = Array(body.utf8)
    }

    public static func text(_ status: Int, _ body: String) -> HTTPResponse {
        HTTPResponse(status: status, body: body.hasSuffix("\n") ? body : body + "\n")
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }

    /// The bytes on the wire: status line, headers (plus Content-Length, Connection: close and Date), body.
    public func serialised(includeBody: Bool = true, date: Date = Date()) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n"
        head += "Connection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
        head += "Date: \(HTTPDate.format(date))\r\n\r\n"
        return Array(head.utf8) + (includeBody ? body : [])
    }
}

/// A strict, small parser for an HTTP/1.x request head (RFC 9112), over bytes.
public enum HTTPRequestParser {
    public enum Result: Equatable {
        /// The head is not complete yet: read more.
        case incomplete
        case complete(HTTPRequest)
        /// Answer with this status and close.
        case invalid(status: Int, reason: String)
    }

    /// Parses the bytes received so far. `maximumBytes` bounds the head: beyond it, 431.
    public static func parse(_ bytes: [UInt8], maximumBytes: Int = 8192) -> Result {
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
        var start = 0
        while start < bytes.count, start < 4, bytes[start] == 0x0D || bytes[start] == 0x0A { start += 1 }
        guard let end = headEnd(bytes, from: start) else {
            return bytes.count > maximumBytes
                ? .invalid(status: 431, reason: "request head larger than \(maximumBytes) bytes") : .incomplete
        }
        if end > maximumBytes { return .invalid(status: 431, reason: "request head larger than \(maximumBytes) bytes") }
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = start
        var index = start
        while index < end {
            if bytes[index] == 0x0A {
                var line = bytes[lineStart..<index]
                if line.last == 0x0D { line = line.dropLast() }
                lines.append(line)
                lineStart = index + 1
            }
            index += 1
        }
        if lineStart < end {
            var line = bytes[lineStart..<end]
            if line.last == 0x0D { line = line.dropLast() }
            lines.append(line)
        }
        guard let requestLine = lines.first else { return .invalid(status: 400, reason: "empty request") }
        guard requestLine.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            return .invalid(status: 400, reason: "request line must be printable ASCII")
        }
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .invalid(status: 400, reason: "malformed request line") }
        let method = String(decoding: parts[0], as: UTF8.self)
        let target = String(decoding: parts[1], as: UTF8.self)
        let version = String(decoding: parts[2], as: UTF8.self)
        guard !method.isEmpty, method.utf8.allSatisfy(isTokenByte) else {
            return .invalid(status: 400, reason: "malformed method")
        }
        guard version.hasPrefix("HTTP/") else { return .invalid(status: 400, reason: "malformed HTTP version") }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            return .invalid(status: 505, reason: "only HTTP/1.0 and HTTP/1.1 are supported")
        }
        var path: String
        if target.hasPrefix("/") {
            path = target
        } else if target.lowercased().hasPrefix("http://") {
            // absolute-form: keep the path only.
            let rest = target.dropFirst(7)
            path = rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
        } else {
            return .invalid(status: 400, reason: "malformed request target")
        }
        if let query = path.firstIndex(of: "?") { path = String(path[..<query]) }
        if let fragment = path.firstIndex(of: "#") { path = String(path[..<fragment]) }

        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let first = line.first else { continue }
            if first == 0x20 || first == 0x09 { return .invalid(status: 400, reason: "obsolete header line folding") }
            guard let colon = line.firstIndex(of: 0x3A) else {
                return .invalid(status: 400, reason: "malformed header line")
            }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
                return .invalid(status: 400, reason: "malformed header name")
            }
            var value = line[(colon + 1)...]
            while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
            while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
            guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                return .invalid(status: 400, reason: "control character in a header value")
            }
            headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        let hosts = headers.filter { $0.name.lowercased() == "host" }.count
        if version == "HTTP/1.1" && hosts != 1 {
            return .invalid(status: 400, reason: "an HTTP/1.1 request needs exactly one Host header")
        }
        if hosts > 1 { return .invalid(status: 400, reason: "more than one Host header") }
        return .complete(HTTPRequest(method: method, target: target, path: path, version: version, headers: headers))
    }

    /// Index just past the blank line that ends the head (`\r\n\r\n` or a bare `\n\n`), or nil.
    static func headEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            if bytes[index] == 0x0A {
                if index + 1 < bytes.count, bytes[index + 1] == 0x0A { return index + 2 }
                if index + 2 < bytes.count, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A { return index + 3 }
            }
            index += 1
        }
        return nil
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}

/// A small HTTP/1.1 server over POSIX sockets for `/healthz` and `/metrics`: one request per
/// connection (`Connection: close`), a bounded request head, and each connection on its own
/// thread with its own deadlines, so a slow or hostile client holds up only itself.
///
/// At most `maximumConnections` are open at once. A new one past that makes room by dropping the
/// oldest connection still sending its request: a monitoring probe sends its request in one packet
/// and is answered in milliseconds, so the connections that are old and still incomplete are the
/// slow ones. If every open connection is already being answered, the new one gets a 503 at once.
public final class HTTPServer: Sendable {
    public struct Limits: Sendable {
        public var maximumRequestBytes = 8192
        /// From the connection's accept to the end of its request head.
        public var readTimeout: TimeInterval = 5
        public var writeTimeout: TimeInterval = 5
        /// Connections open at once (each one a thread while it lasts).
        public var maximumConnections = 32
        public init() {}
    }

    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    /// The bound address (with the real port when 0 was asked for).
    public let address: ListenAddress
    public let limits: Limits
    private let listenFD: Int32
    private let stopRead: Int32
    private let stopWrite: Int32
    private let stopped = Atomic<Bool>(false)
    private let connections = OpenConnections()

    /// Binds and listens at once, so a busy port is reported at start-up.
    public init(address requested: ListenAddress, limits: Limits = Limits()) throws(DaemonError) {
        self.limits = limits
        let family = requested.isIPv6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DaemonError(.listen, "cannot create a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var bound: Int32
        if requested.isIPv6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = in_port_t(UInt16(requested.port).bigEndian)
            inet_pton(AF_INET6, requested.host, &socketAddress.sin6_addr)
            bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = in_port_t(UInt16(requested.port).bigEndian)
            inet_pton(AF_INET, requested.host, &socketAddress.sin_addr)
            bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw DaemonError(.listen, "cannot listen on \(requested): \(reason)")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port: UInt16 =
            requested.isIPv6
            ? withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            : withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
        address = ListenAddress(host: requested.host, port: Int(port))
        listenFD = fd
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            close(fd)
            throw DaemonError(.listen, "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        for end in fds {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        stopRead = fds[0]
        stopWrite = fds[1]
    }

    /// Accepts connections on the calling thread until `stop()`, each served on a thread of its own;
    /// then ends the open ones and closes the listening socket. `handler` runs on those threads,
    /// several at once.
    public func serve(_ handler: @escaping Handler) {
        defer {
            close(listenFD)
            close(stopRead)
            close(stopWrite)
        }
        while !stopped.load(ordering: .relaxed) {
            var pollers = [
                pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stopRead, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&pollers, 2, 1000)
            if ready < 0 && errno != EINTR { usleep(100_000) }
            if pollers[1].revents != 0 || stopped.load(ordering: .relaxed) { break }
            guard ready > 0, pollers[0].revents & Int16(POLLIN) != 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            admit(client, handler)
        }
        connections.dropAll()
        _ = connections.waitUntilEmpty(timeout: 2)
    }

    public func stop() {
        stopped.store(true, ordering: .relaxed)
        var byte: UInt8 = 1
        _ = write(stopWrite, &byte, 1)
    }

    /// Connections open right now (for tests and metrics).
    public var openConnections: Int { connections.count }

    private func admit(_ fd: Int32, _ handler: @escaping Handler) {
        guard let id = connections.admit(fd, maximum: limits.maximumConnections) else {
            // Everything open is being answered: say so without waiting for this client at all.
            let bytes = HTTPResponse.text(503, "too many connections").serialised()
            _ = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            close(fd)
            return
        }
        let connection = ConnectionWorker(id: id, fd: fd, limits: limits, registry: connections)
        let thread = Thread { connection.run(handler) }
        thread.name = "http-connection"
        thread.start()
    }
}

/// The open connections, in the order they were accepted. A socket is closed only here, under the
/// lock, when its entry goes: so a descriptor dropped from the accepting thread is never one that
/// was already closed and reused.
final class OpenConnections: Sendable {
    private struct Entry {
        var fd: Int32
        var answering = false
        var dropped = false
    }

    private struct Table {
        var nextID = 0
        var entries: [Int: Entry] = [:]
    }

    private let table = Mutex(Table())

    var count: Int { table.withLock { $0.entries.count } }

    /// Registers a new connection, dropping the oldest one still reading its request when
    /// `maximum` are open. Nil when there is no room (all open ones are being answered, or the
    /// dropped ones have not finished yet).
    func admit(_ fd: Int32, maximum: Int) -> Int? {
        table.withLock { table in
            let live = table.entries.filter { !$0.value.dropped }
            if live.count >= maximum {
                guard table.entries.count < 2 * maximum,
                    let oldest = live.filter({ !$0.value.answering }).keys.min()
                else { return nil }
                // Its thread sees end of input at once, answers 503 and closes.
                shutdown(table.entries[oldest]!.fd, Int32(SHUT_RD))
                table.entries[oldest]!.dropped = true
            }
            let id = table.nextID
            table.nextID += 1
            table.entries[id] = Entry(fd: fd)
            return id
        }
    }

    /// The request is complete and is being answered: the connection may no longer be dropped for room.
    /// False when it was dropped already.
    func beginAnswer(_ id: Int) -> Bool {
        table.withLock { table in
            guard let entry = table.entries[id], !entry.dropped else { return false }
            table.entries[id]!.answering = true
            return true
        }
    }

    func wasDropped(_ id: Int) -> Bool { table.withLock { $0.entries[id]?.dropped ?? true } }

    func finish(_ id: Int) {
        table.withLock { table in
            if let entry = table.entries.removeValue(forKey: id) { close(entry.fd) }
        }
    }

    /// At stop: every connection sees end of input and its thread ends.
    func dropAll() {
        table.withLock { table in
            for id in table.entries.keys {
                shutdown(table.entries[id]!.fd, Int32(SHUT_RDWR))
                table.entries[id]!.dropped = true
            }
        }
    }

    func waitUntilEmpty(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while count > 0 {
            if Date() >= deadline { return false }
            usleep(10_000)
        }
        return true
    }
}

/// One connection, on its own thread: read the head within the read deadline, answer, close.
struct ConnectionWorker: Sendable {
    let id: Int
    let fd: Int32
    let limits: HTTPServer.Limits
    let registry: OpenConnections

    func run(_ handler: HTTPServer.Handler) {
        defer { registry.finish(id) }
        switch readRequest() {
        case .request(let request):
            guard registry.beginAnswer(id) else { return droppedForRoom() }
            send(handler(request), head: request.method == "HEAD", within: limits.writeTimeout)
        case .refuse(let status, let reason):
            send(.text(status, reason), head: false, within: limits.writeTimeout)
        case .gone:
            if registry.wasDropped(id) { droppedForRoom() }
        }
    }

    enum Received {
        case request(HTTPRequest)
        case refuse(status: Int, reason: String)
        /// The client went away, or the socket was shut down (dropped for room, or the server stops).
        case gone
    }

    func readRequest() -> Received {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(limits.readTimeout)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return .refuse(status: 408, reason: "request not received in time") }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining, 60) * 1000) + 1)
            if ready < 0 {
                if errno == EINTR { continue }
                return .gone
            }
            if ready == 0 { continue }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return .gone }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                return .gone
            }
            buffer.append(contentsOf: chunk[0..<count])
            switch HTTPRequestParser.parse(buffer, maximumBytes: limits.maximumRequestBytes) {
            case .incomplete: continue
            case .invalid(let status, let reason): return .refuse(status: status, reason: reason)
            case .complete(let request): return .request(request)
            }
        }
    }

    func droppedForRoom() {
        send(.text(503, "too many connections; this one was the oldest incomplete request"), head: false, within: 1)
    }

    func send(_ response: HTTPResponse, head: Bool, within seconds: TimeInterval) {
        let bytes = response.serialised(includeBody: !head)
        let deadline = Date().addingTimeInterval(seconds)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                offset += sent
                continue
            }
            if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                let remaining = deadline.timeIntervalSinceNow
                if remaining <= 0 { return }
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&poller, 1, Int32(remaining * 1000) + 1)
                continue
            }
            return
        }
        shutdown(fd, Int32(SHUT_WR))
    }
}

/// IMF-fixdate for the Date header, independent of the process locale.
enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
