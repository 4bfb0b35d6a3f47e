import Identifiers
import Postgres

/// Conversions between the database's dates and day numbers, used by grouping and flags.
public enum DayNumber {
    public static func from(_ date: PostgresDate) -> Int {
        (CalendarDate(year: date.year, month: date.month, day: date.day) ?? CalendarDate(dayNumber: 0)).dayNumber
    }

    public static func from(_ date: CalendarDate) -> Int { date.dayNumber }

    public static func postgresDate(_ day: Int) -> PostgresDate {
        let date = CalendarDate(dayNumber: day)
        return PostgresDate(year: date.year, month: date.month, day: date.day)
    }

    public static func calendarDate(_ day: Int) -> CalendarDate { CalendarDate(dayNumber: day) }

    public static func calendarDate(_ date: PostgresDate) -> CalendarDate { CalendarDate(dayNumber: from(date)) }
}
