import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The sd_notify datagram protocol, without libsystemd.
///
/// `$NOTIFY_SOCKET` names an `AF_UNIX` datagram socket: a file system path, or an abstract-namespace
/// name written with a leading `@` (sent as a NUL byte, and the address length does not count a
/// trailing NUL). Each message is newline-separated `KEY=VALUE` lines. systemd documents the
/// protocol as stable and recommends reimplementing it.
public struct SystemdNotifier: Sendable {
    /// The socket address as given in `$NOTIFY_SOCKET`; nil when not run by systemd (every call is then a no-op).
    public let socketPath: String?

    public init(socketPath: String?) {
        self.socketPath = (socketPath?.isEmpty ?? true) ? nil : socketPath
    }

    /// Reads `$NOTIFY_SOCKET`.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    )
        -> SystemdNotifier
    {
        SystemdNotifier(socketPath: environment["NOTIFY_SOCKET"])
    }

    public var isEnabled: Bool { socketPath != nil }

    /// Sends one datagram of `KEY=VALUE` lines. Returns false when there is no socket or the send failed.
    @discardableResult
    public func send(_ assignments: [String]) -> Bool {
        guard let socketPath, !assignments.isEmpty else { return false }
        let message = assignments.map(Self.oneLine).joined(separator: "\n")
        return Self.sendDatagram(Array(message.utf8), to: socketPath)
    }

    @discardableResult public func ready(status: String? = nil) -> Bool {
        send(["READY=1"] + (status.map { ["STATUS=" + $0] } ?? []))
    }

    @discardableResult public func status(_ text: String) -> Bool { send(["STATUS=" + text]) }

    @discardableResult public func watchdog() -> Bool { send(["WATCHDOG=1"]) }

    @discardableResult public func stopping(status: String? = nil) -> Bool {
        send(["STOPPING=1"] + (status.map { ["STATUS=" + $0] } ?? []))
    }

    /// `RELOADING=1` with `MONOTONIC_USEC`, as systemd expects at the start of a reload; follow with `ready()`.
    @discardableResult public func reloading() -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let usec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        return send(["RELOADING=1", "MONOTONIC_USEC=\(usec)"])
    }

    /// Half of `$WATCHDOG_USEC`, when the watchdog is on and meant for this process
    /// (`$WATCHDOG_PID` unset or equal to `pid`); nil otherwise.
    public static func watchdogPingInterval(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, pid: Int32 = getpid()
    ) -> TimeInterval? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"], !owner.isEmpty {
            guard let ownerPID = Int32(owner), ownerPID == pid else { return nil }
        }
        return Double(usec) / 2_000_000
    }

    /// A value is one line: newlines would start a new assignment.
    static func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
    }

    /// Builds the `sockaddr_un` for a `$NOTIFY_SOCKET` value; nil if it is not a usable address.
    /// Returns the address and the length to pass to `sendto`/`bind`.
    public static func address(for path: String) -> (sockaddr_un, socklen_t)? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract {
            bytes[0] = 0
            guard bytes.count >= 2, bytes.count <= capacity else { return nil }
        } else {
            guard bytes.first == UInt8(ascii: "/"), bytes.count < capacity, !bytes.contains(0) else { return nil }
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
            if !abstract { raw[bytes.count] = 0 }
        }
        // Abstract names are exactly their bytes (no trailing NUL); paths count their terminating NUL.
        let length = pathOffset + bytes.count + (abstract ? 0 : 1)
        return (address, socklen_t(length))
    }

    static func sendDatagram(_ bytes: [UInt8], to path: String) -> Bool {
        guard case (var address, let length)? = address(for: path) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let sent = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    // Never block: a full or stalled receiver must not hold up the service.
                    sendto(
                        fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), socketAddress, length)
                }
            }
        }
        return sent == bytes.count
    }
}
