import Dispatch
import Foundation
import Postgres
import Synchronization

/// Hands COPY rows from the thread that reads and normalises a file to the thread that owns the
/// database connection (a connection stays on one thread; the rows travel as `CopyTextBuffer`s).
///
/// One producer, one consumer. At most `capacity` buffers wait at a time, so memory stays bounded
/// however large the file: the producer blocks when the consumer (really the server) is behind.
/// Sent buffers come back through `recycle` so that their memory is reused, not reallocated.
final class RowHandoff<Summary: Sendable>: Sendable {
    enum Item: Sendable {
        case rows(CopyTextBuffer)
        /// The producer's last word: what it found besides the rows, or why it stopped.
        case end(Result<Summary, any Error>)
    }

    private struct State {
        var items: [Item] = []
        var head = 0
        var spare: [CopyTextBuffer] = []
        var cancelled = false
    }

    private let state = Mutex(State())
    /// Counts items waiting for the consumer.
    private let waiting = DispatchSemaphore(value: 0)
    /// Counts free places for the producer.
    private let places: DispatchSemaphore
    /// Signalled once, when the producer has returned.
    private let producerReturned = DispatchSemaphore(value: 0)
    let bufferCapacity: Int

    init(capacity: Int, bufferCapacity: Int) {
        places = DispatchSemaphore(value: capacity)
        self.bufferCapacity = bufferCapacity
    }

    /// Runs `produce` on a new thread; it sends rows with `send` and its result ends the stream.
    func start(_ produce: @escaping @Sendable (RowHandoff<Summary>) throws -> Summary) {
        let thread = Thread { [self] in
            let result = Result { try produce(self) }
            state.withLock { $0.items.append(.end(result)) }
            waiting.signal()
            producerReturned.signal()
        }
        thread.name = "familyconnect-feed-reader"
        thread.start()
    }

    // MARK: Producer side

    /// An empty buffer to fill: a recycled one when there is one.
    func emptyBuffer() -> CopyTextBuffer {
        state.withLock { $0.spare.popLast() } ?? CopyTextBuffer(capacity: bufferCapacity + bufferCapacity / 4)
    }

    /// Queues a buffer of whole rows, waiting for a free place. Throws when the consumer has given up.
    func send(_ rows: CopyTextBuffer) throws(HandoffCancelled) {
        places.wait()
        let cancelled = state.withLock { state in
            if !state.cancelled { state.items.append(.rows(rows)) }
            return state.cancelled
        }
        if cancelled {
            places.signal()  // wake nothing else up; leave the place for a later send, which fails too
            throw HandoffCancelled()
        }
        waiting.signal()
    }

    // MARK: Consumer side

    /// The next item, waiting for it.
    func receive() -> Item {
        waiting.wait()
        return state.withLock { state in
            let item = state.items[state.head]
            state.head += 1
            if state.head > 64 {
                state.items.removeFirst(state.head)
                state.head = 0
            }
            return item
        }
    }

    /// Gives a sent buffer back for reuse, and its place to the producer.
    func recycle(_ buffer: consuming CopyTextBuffer) {
        var buffer = buffer
        buffer.removeAll()
        state.withLock { $0.spare.append(buffer) }
        places.signal()
    }

    /// Stops the producer (its next `send` throws) and waits until it has returned. Safe to call
    /// after a normal end too; call it exactly once.
    func cancelAndWait() {
        state.withLock { $0.cancelled = true }
        places.signal()  // a producer blocked in send wakes and sees the flag
        producerReturned.wait()
    }
}

/// The consumer stopped taking rows (the COPY failed): the producer should stop reading.
struct HandoffCancelled: Error {}

/// A value computed on a thread of its own; `value()` waits for it.
final class BackgroundValue<Value: Sendable>: Sendable {
    private let result = Mutex<Result<Value, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ compute: @escaping @Sendable () throws -> Value) {
        Thread { [self] in
            let outcome = Result { try compute() }
            result.withLock { $0 = outcome }
            done.signal()
        }.start()
    }

    /// Waits until the value is computed.
    func wait() {
        done.wait()
        done.signal()  // later waits return at once
    }

    func value() throws -> Value {
        wait()
        return try result.withLock { $0! }.get()
    }
}
