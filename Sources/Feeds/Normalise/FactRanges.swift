import Identifiers

/// The values of partner facts a data officer would believe, relative to the day a batch is loaded.
/// A fact outside its range is quarantined with its field and the rule it broke (never the value);
/// the ranges are listed in schemas/feeds/README.md. Ranges are deliberately wide: they exist to
/// stop impossible and corrupt values (a year 0001 or 9999, an overflowing count) from becoming
/// evidence, not to second-guess plausible data.
public enum FactRanges {
    /// Dates of one fact: from `yearsBefore` years before the load date to `yearsAfter` after it,
    /// both days included.
    public struct Window: Sendable, Equatable {
        public var yearsBefore: Int
        public var yearsAfter: Int

        public func earliest(loadedOn today: CalendarDate) -> CalendarDate { today.adding(years: -yearsBefore) }
        public func latest(loadedOn today: CalendarDate) -> CalendarDate { today.adding(years: yearsAfter) }

        /// Why a date before `earliest` is refused.
        public var tooEarly: String { "date is more than \(yearsBefore) years before the load date" }
        /// Why a date after `latest` is refused.
        public var tooLate: String {
            switch yearsAfter {
            case 0: "date is in the future"
            case 1: "date is more than a year after the load date"
            default: "date is more than \(yearsAfter) years after the load date"
            }
        }
    }

    /// Facts about children go back at most 25 years: the longest retention councils set (25 years
    /// from birth), beyond which a record would already be purged. How far ahead depends on the fact.
    static let childFactYears = 25

    /// The window of every date and date-time fact in `KnownFacts` (a test checks none is missing).
    public static let dateWindows: [String: Window] = [
        // Attendance is counted over a period that has begun; a term may end after the extract.
        "period_start": Window(yearsBefore: childFactYears, yearsAfter: 0),
        "period_end": Window(yearsBefore: childFactYears, yearsAfter: 1),
        // A newborn's 2–2½ year review is due up to 2½ years ahead.
        "review_due": Window(yearsBefore: childFactYears, yearsAfter: 3),
        // A review took place, or is booked (weeks, not years, ahead).
        "review_date": Window(yearsBefore: childFactYears, yearsAfter: 1),
        // An award may start next term; transitional protection can run to the end of a phase of
        // education, years ahead. An open eligibility is sent blank, not as 31/12/9999.
        "eligible_from": Window(yearsBefore: childFactYears, yearsAfter: 1),
        "eligible_to": Window(yearsBefore: childFactYears, yearsAfter: 10),
        // Police notify incidents that have happened.
        "incident_at": Window(yearsBefore: childFactYears, yearsAfter: 0),
    ]

    /// A school records two sessions a day, morning and afternoon.
    public static let sessionsPerDay = 2

    /// The most sessions possible over a period, its first and last days included; over a school
    /// year (366 days) when the row gives no usable period.
    public static func maximumSessions(from start: CalendarDate?, to end: CalendarDate?) -> Int {
        guard let start, let end, start <= end else { return sessionsPerDay * 366 }
        return sessionsPerDay * (start.days(until: end) + 1)
    }

    /// More sessions than any row within the windows can carry (two a day for 27 years): a count
    /// above it can only have reached the database around the loader, and is not measured.
    public static let sessionsCeiling = sessionsPerDay * 366 * (childFactYears + 2)
}
