import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Write end of the self-pipe the signal handler writes to. Set once, before any handler is installed,
/// and never changed afterwards; the handler only reads it.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// The handler: async-signal-safe, it only writes the signal number to a non-blocking pipe.
private func familyconnectSignalHandler(_ signal: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(signalPipeWriteEnd, &byte, 1)
    errno = saved
}

/// Turns SIGTERM, SIGINT and SIGHUP into bytes on a pipe that a dedicated thread reads.
///
/// Why not a Dispatch signal source: a handler that only writes to a pipe works whichever thread the
/// kernel picks, needs no registration round trip before `READY=1`, and is easy to reason about.
///
/// A process started from a thread that blocks these signals inherits the blocked mask (Foundation's
/// `Process` from a Swift Testing worker does exactly that), and a blocked signal is never delivered.
/// `install` therefore unblocks them on the calling thread; call it first thing on the main thread,
/// before other threads exist, so every thread started later inherits the unblocked mask.
public final class SignalPipe: Sendable {
    public let readEnd: Int32
    public static let handled: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    private init(readEnd: Int32) { self.readEnd = readEnd }

    private static let installed: SignalPipe? = {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let flags = fcntl(fds[1], F_GETFL)
        _ = fcntl(fds[1], F_SETFL, flags | O_NONBLOCK)
        signalPipeWriteEnd = fds[1]

        var action = sigaction()
        action.__sigaction_handler.sa_handler = familyconnectSignalHandler
        sigfillset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        for signal in handled { sigaction(signal, &action, nil) }
        // Writing to a closed socket must be an error (EPIPE), not death.
        signal(SIGPIPE, SIG_IGN)

        var set = sigset_t()
        sigemptyset(&set)
        for signal in handled { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        return SignalPipe(readEnd: fds[0])
    }()

    /// Installs the handlers (once per process) and unblocks the signals on this thread.
    public static func install() -> SignalPipe? {
        let pipe = installed
        // Unblock again in case a different thread calls this than the one that installed.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in handled { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        return pipe
    }

    /// Waits up to `timeout` seconds (nil: forever) for the next signal; nil on timeout.
    public func next(timeout: TimeInterval?) -> Int32? {
        var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
        let milliseconds: Int32 = timeout.map { Int32(max(0, min($0, 86_400)) * 1000) } ?? -1
        let ready = poll(&poller, 1, milliseconds)
        guard ready > 0 else { return nil }
        var byte: UInt8 = 0
        let count = read(readEnd, &byte, 1)
        return count == 1 ? Int32(byte) : nil
    }

    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }
}
