import Feeds
import Foundation

/// When feeds run, and how long a feed may go without a successful cycle before it counts as overdue.
public enum ScheduleMath {
    /// Whether the service runs the feed by itself (`manual` feeds are loaded by hand with `familyconnect ingest`).
    public static func isScheduled(_ schedule: FeedSchedule) -> Bool {
        if case .manual = schedule { return false }
        return true
    }

    /// The next run after a cycle that started at `lastStart`, no earlier than `now`.
    /// A feed that never ran runs at once: after a start or restart each feed catches up immediately.
    public static func nextRun(
        _ schedule: FeedSchedule, lastStart: Date?, now: Date, calendar: Calendar = .current
    ) -> Date? {
        switch schedule {
        case .manual:
            return nil
        case .every(let seconds):
            guard let lastStart else { return now }
            return max(now, lastStart.addingTimeInterval(TimeInterval(seconds)))
        case .daily(let minutes):
            guard lastStart != nil else { return now }
            return nextDailyTime(minutes, after: now, calendar: calendar)
        }
    }

    /// The first of the day's times strictly after `date`, in the calendar's time zone (local time).
    public static func nextDailyTime(_ minutes: [Int], after date: Date, calendar: Calendar = .current) -> Date? {
        guard !minutes.isEmpty else { return nil }
        var best: Date?
        let today = calendar.startOfDay(for: date)
        for dayOffset in 0...2 {
            guard let day = calendar.date(byAdding: .day, value: dayOffset, to: today) else { continue }
            for minute in minutes {
                // In a DST gap the time does not exist: take the next valid moment.
                guard
                    let candidate = calendar.date(
                        bySettingHour: minute / 60, minute: minute % 60, second: 0, of: day,
                        matchingPolicy: .nextTime, repeatedTimePolicy: .first, direction: .forward)
                else { continue }
                if candidate > date, best == nil || candidate < best! { best = candidate }
            }
            if best != nil { return best }
        }
        return best
    }

    /// The longest normal gap between two runs: the interval, or for daily times the largest gap
    /// between consecutive times (24 h for one time a day).
    public static func expectedInterval(_ schedule: FeedSchedule) -> TimeInterval? {
        switch schedule {
        case .manual:
            return nil
        case .every(let seconds):
            return TimeInterval(seconds)
        case .daily(let minutes):
            let sorted = minutes.sorted()
            guard let first = sorted.first else { return nil }
            var largest = 0
            for (a, b) in zip(sorted, sorted.dropFirst()) { largest = max(largest, b - a) }
            largest = max(largest, first + 1440 - sorted.last!)
            return TimeInterval(largest * 60)
        }
    }

    /// How long after a success the feed still counts as healthy: its expected interval plus half
    /// of it again (at least five minutes) for the cycle itself and its retries.
    public static func healthWindow(_ schedule: FeedSchedule) -> TimeInterval? {
        guard let interval = expectedInterval(schedule) else { return nil }
        return interval + max(interval / 2, 300)
    }

    /// How a schedule is shown in health output and logs.
    public static func describe(_ schedule: FeedSchedule) -> String {
        switch schedule {
        case .manual: return "manual"
        case .every(let seconds):
            if seconds % 86400 == 0 { return "every \(seconds / 86400)d" }
            if seconds % 3600 == 0 { return "every \(seconds / 3600)h" }
            if seconds % 60 == 0 { return "every \(seconds / 60)m" }
            return "every \(seconds)s"
        case .daily(let minutes):
            return "daily " + minutes.map { String(format: "%02d:%02d", $0 / 60, $0 % 60) }.joined(separator: ", ")
        }
    }
}
