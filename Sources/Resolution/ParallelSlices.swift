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

    /// Sorts `values`: each slice in place on its own core, then the sorted slices merged pairwise
    /// in place (a copy of one slice at a time). `less` must be a strict total order up to values
    /// that are equal in every respect; the result is then exactly what `sort(by: less)` gives.
    package static func sort<T: Sendable>(
        _ values: inout [T], minimumSlice: Int = 65_536, by less: @Sendable (T, T) -> Bool
    ) {
        let count = values.count
        let slices = max(1, min(cores, count / minimumSlice))
        if slices == 1 {
            values.sort(by: less)
            return
        }
        let size = (count + slices - 1) / slices
        values.withUnsafeMutableBufferPointer { buffer in
            let shared = SharedBuffer(buffer: buffer)
            DispatchQueue.concurrentPerform(iterations: slices) { slice in
                let range = (slice * size)..<min(count, (slice + 1) * size)
                // Each worker sorts only its own slice of the buffer.
                var own = UnsafeMutableBufferPointer(rebasing: shared.buffer[range])
                own.sort(by: less)
            }
        }
        var runs = (0..<slices).map { ($0 * size)..<min(count, ($0 + 1) * size) }
        while runs.count > 1 {
            var next: [Range<Int>] = []
            for pair in stride(from: 0, to: runs.count, by: 2) {
                guard pair + 1 < runs.count else {
                    next.append(runs[pair])
                    continue
                }
                mergeAdjacent(&values, left: runs[pair], right: runs[pair + 1], by: less)
                next.append(runs[pair].lowerBound..<runs[pair + 1].upperBound)
            }
            runs = next
        }
    }

    /// Merges two adjacent sorted runs in place, with a copy of the left run only (half the extra
    /// memory of merging into a new array): the write position never passes the right run's read
    /// position. Ties take the left run first, as a stable sort would.
    private static func mergeAdjacent<T>(
        _ values: inout [T], left: Range<Int>, right: Range<Int>, by less: (T, T) -> Bool
    ) {
        let head = Array(values[left])
        var (i, j, write) = (0, right.lowerBound, left.lowerBound)
        while i < head.count && j < right.upperBound {
            if less(values[j], head[i]) {
                values[write] = values[j]
                j += 1
            } else {
                values[write] = head[i]
                i += 1
            }
            write += 1
        }
        while i < head.count {
            values[write] = head[i]
            i += 1
            write += 1
        }
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

/// A buffer that concurrent workers write in disjoint slices.
private struct SharedBuffer<T>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<T>
}
