import Dispatch
import Foundation
import Postgres
import Synchronization

/// Hands COPY rows from the thread that reads and normalises a file to the thread that owns the
/// database connection (a connection stays on one thread; the rows travel as `CopyTextBuffer`s).
///
/// One producer, one consumer. At most `capacity` buffers are out at a time (queued, or taken by
/// the consumer and not yet recycled), so memory stays bounded however large the file: the
/// producer blocks when the consumer (really the server) is behind. Sent buffers come back
/// through `recycle` so that their memory is reused, not reallocated.
///
/// Shutting down: the consumer may stop at any point (the server refused the COPY, the connection
/// was lost) with buffers queued or in its hands. `cancelAndWait` wakes a blocked producer, waits
/// for its thread to return, and only then may the handoff be released. The free places are a
/// count under the mutex, not a semaphore's value, so nothing depends on every buffer coming back
/// (libdispatch traps when a semaphore is freed below the value it was created with).
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
        /// Buffers the producer may still send before it must wait for one to be recycled.
        var places: Int
        var cancelled = false
        var producerWaiting = false
        var consumerWaiting = false
        var producerReturned = false
    }

    private let state: Mutex<State>
    /// Wakes the producer when a place comes free or the consumer gives up. Created at 0 and only
    /// ever signalled for a waiter that is registered under the mutex, so it is back at 0 (its
    /// initial value) whenever no thread waits on it: safe to free at any time after the join.
    private let producerWake = DispatchSemaphore(value: 0)
    /// Wakes the consumer when an item is queued (same rule as `producerWake`).
    private let consumerWake = DispatchSemaphore(value: 0)
    /// Signalled once, when the producer's thread has returned; waited for once, in `cancelAndWait`.
    private let producerJoined = DispatchSemaphore(value: 0)
    let bufferCapacity: Int

    init(capacity: Int, bufferCapacity: Int) {
        precondition(capacity > 0)
        state = Mutex(State(places: capacity))
        self.bufferCapacity = bufferCapacity
    }

    /// Runs `produce` on a new thread; it sends rows with `send` and its result ends the stream.
    func start(_ produce: @escaping @Sendable (RowHandoff<Summary>) throws -> Summary) {
        let thread = Thread { [self] in
            let result = Result { try produce(self) }
            let wakeConsumer = state.withLock { state in
                state.items.append(.end(result))
                state.producerReturned = true
                let wake = state.consumerWaiting
                state.consumerWaiting = false
                return wake
            }
            if wakeConsumer { consumerWake.signal() }
            producerJoined.signal()
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
        while true {
            let step = state.withLock { state -> SendStep in
                if state.cancelled { return .cancelled }
                if state.places > 0 {
                    state.places -= 1
                    state.items.append(.rows(rows))
                    let wake = state.consumerWaiting
                    state.consumerWaiting = false
                    return .queued(wakeConsumer: wake)
                }
                state.producerWaiting = true
                return .wait
            }
            switch step {
            case .queued(let wakeConsumer):
                if wakeConsumer { consumerWake.signal() }
                return
            case .cancelled:
                throw HandoffCancelled()
            case .wait:
                producerWake.wait()
            }
        }
    }

    private enum SendStep { case queued(wakeConsumer: Bool), wait, cancelled }

    // MARK: Consumer side

    /// The next item, waiting for it.
    func receive() -> Item {
        while true {
            let item = state.withLock { state -> Item? in
                guard state.head < state.items.count else {
                    state.consumerWaiting = true
                    return nil
                }
                let item = state.items[state.head]
                state.head += 1
                if state.head > 64 {
                    state.items.removeFirst(state.head)
                    state.head = 0
                }
                return item
            }
            if let item { return item }
            consumerWake.wait()
        }
    }

    /// Gives a sent buffer back for reuse, and its place to the producer.
    func recycle(_ buffer: consuming CopyTextBuffer) {
        var buffer = buffer
        buffer.removeAll()
        let wakeProducer = state.withLock { state in
            state.spare.append(buffer)
            state.places += 1
            let wake = state.producerWaiting
            state.producerWaiting = false
            return wake
        }
        if wakeProducer { producerWake.signal() }
    }

    /// Stops the producer (its next `send` throws, a `send` waiting for a place wakes and throws)
    /// and waits until its thread has returned. Safe at any point, with buffers still queued or in
    /// the consumer's hands, and after a normal end too; call it exactly once.
    func cancelAndWait() {
        let wakeProducer = state.withLock { state in
            state.cancelled = true
            let wake = state.producerWaiting
            state.producerWaiting = false
            return wake
        }
        if wakeProducer { producerWake.signal() }
        producerJoined.wait()
        // Queued buffers are dropped with the handoff; nothing waits on anything any more.
        state.withLock { state in
            precondition(state.producerReturned && !state.producerWaiting, "the feed reader thread is still running")
            state.items.removeAll()
            state.head = 0
        }
    }
}

/// The consumer stopped taking rows (the COPY failed): the producer should stop reading.
struct HandoffCancelled: Error {}

/// A value computed on a thread of its own; `value()` waits for it. `cancel()` tells the
/// computation it is no longer wanted (it sees `isCancelled` and may stop early); `wait()` joins it.
final class BackgroundValue<Value: Sendable>: Sendable {
    private let result = Mutex<Result<Value, any Error>?>(nil)
    private let cancelled = Mutex(false)
    private let done = DispatchSemaphore(value: 0)

    init(_ compute: @escaping @Sendable (_ isCancelled: @escaping @Sendable () -> Bool) throws -> Value) {
        Thread { [self] in
            let outcome = Result { try compute { self.cancelled.withLock { $0 } } }
            result.withLock { $0 = outcome }
            done.signal()
        }.start()
    }

    func cancel() { cancelled.withLock { $0 = true } }

    /// Waits until the computation has returned.
    func wait() {
        done.wait()
        done.signal()  // later waits return at once
    }

    func value() throws -> Value {
        wait()
        return try result.withLock { $0! }.get()
    }
}
