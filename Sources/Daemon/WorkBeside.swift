import Foundation
import Postgres
import Synchronization

/// Work run on a second connection to the same database, on a thread of its own, while the stage
/// that started it works on its own connection: for two parts of a cycle that both read only what
/// earlier stages committed and write different tables, so neither waits for the other. Each part
/// keeps its own transaction, advisory lock and idempotence, exactly as when they run one after the
/// other; on two cores the shorter one then costs no wall time.
///
/// The second connection is opened with the stage connection's parameters (so the same role and
/// password file) and closed when the work returns. The stage waits for the work (`result()`) before
/// it returns or throws: no thread or connection outlives the stage.
public final class WorkBeside<Value: Sendable>: Sendable {
    private let outcome = Mutex<Result<Value, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    /// Starts `work` at once on a new thread.
    public init(
        besides connection: PostgresConnection, _ work: @escaping @Sendable (PostgresConnection) throws -> Value
    ) {
        // Read here, on the stage's thread: a connection belongs to one thread at a time.
        let parameters: Result<String, any Error> = Result { try connection.connectionParameters() }
        Thread { [self] in
            let result: Result<Value, any Error> = Result {
                let sibling = try PostgresConnection.connect(try parameters.get())
                defer { sibling.close() }
                return try work(sibling)
            }
            outcome.withLock { $0 = result }
            done.signal()
        }.start()
    }

    /// Waits for the work and returns what it returned or threw.
    public func result() -> Result<Value, any Error> {
        done.wait()
        done.signal()  // later calls return at once
        return outcome.withLock { $0! }
    }
}
