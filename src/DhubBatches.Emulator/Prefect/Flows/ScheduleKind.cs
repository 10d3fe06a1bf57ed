namespace DhubBatches.Emulator.Prefect.Flows;

/// <summary>The three schedule types Prefect knows (<c>src/prefect/server/schemas/schedules.py</c>).</summary>
public enum ScheduleKind
{
    /// <summary><c>IntervalSchedule</c>: <c>interval</c> seconds from <c>anchor_date</c>.</summary>
    Interval,

    /// <summary><c>CronSchedule</c>: <c>cron</c>, <c>timezone</c>, <c>day_or</c>.</summary>
    Cron,

    /// <summary><c>RRuleSchedule</c>: an RFC 5545 <c>rrule</c> string and <c>timezone</c>.</summary>
    RRule,
}
