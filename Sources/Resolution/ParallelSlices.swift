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
    /// (one extra copy of the array at a time). `less` must be a strict total order up to values
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
            var merged: [T] = []
            merged.reserveCapacity(count)
            var next: [Range<Int>] = []
            for pair in stride(from: 0, to: runs.count, by: 2) {
                let start = merged.count
                if pair + 1 == runs.count {
                    merged += values[runs[pair]]
                } else {
                    var (i, j) = (runs[pair].lowerBound, runs[pair + 1].lowerBound)
                    let (iEnd, jEnd) = (runs[pair].upperBound, runs[pair + 1].upperBound)
                    while i < iEnd && j < jEnd {
                        // Ties take the left run first, as a stable sort would.
                        if less(values[j], values[i]) {
                            merged.append(values[j])
                            j += 1
                        } else {
                            merged.append(values[i])
                            i += 1
                        }
                    }
                    merged += values[i..<iEnd]
                    merged += values[j..<jEnd]
                }
                next.append(start..<merged.count)
            }
            values = merged
            runs = next
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
