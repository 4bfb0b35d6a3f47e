import Dispatch
import Foundation

/// Work split into one contiguous slice per core; results come back in order.
package enum ParallelSlices {
    package static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// `body` over each slice of `0..<count`, the results concatenated in order.
    package static func map<T: Sendable>(
        _ count: Int, minimumSlice: Int = 4_096, _ body: @Sendable (Range<Int>) -> [T]
    ) -> [T] {
        collect(count, minimumSlice: minimumSlice, body).flatMap { $0 }
    }

    /// `body`'s result for each slice of `0..<count`, in slice order.
    package static func collect<R: Sendable>(
        _ count: Int, minimumSlice: Int = 4_096, _ body: @Sendable (Range<Int>) -> R
    ) -> [R] {
        let slices = max(1, min(cores, count / minimumSlice))
        if slices == 1 { return [body(0..<count)] }
        let size = (count + slices - 1) / slices
        let results = SliceResults<R>(count: slices)
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            let range = (slice * size)..<min(count, (slice + 1) * size)
            results.store(body(range), at: slice)
        }
        return results.values()
    }
}

/// One slot per slice; each worker writes only its own, and the caller reads them all after
/// `concurrentPerform` returns, which orders the writes before the reads.
private final class SliceResults<R>: @unchecked Sendable {
    private var slots: [R?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func store(_ value: R, at index: Int) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    func values() -> [R] { slots.map { $0! } }
}
