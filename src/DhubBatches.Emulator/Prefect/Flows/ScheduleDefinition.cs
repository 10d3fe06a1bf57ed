using System;
using System.Linq;

namespace DhubBatches.Emulator.Prefect.Flows;

/// <summary>
/// A deployment's schedule. An interval one (the positional form) keeps <see cref="FutureRuns"/> upcoming runs and
/// starts with <see cref="PastRuns"/> finished ones; a cron or rrule one (<see cref="Cron"/>, <see cref="RRule"/>)
/// is shown on the deployment but the emulator's scheduler makes no runs for it. An inactive one makes none either.
/// </summary>
public sealed record ScheduleDefinition(TimeSpan Interval, int FutureRuns = 3, int PastRuns = 3)
{
    /// <summary>A cron string (five fields, or six with seconds, as croniter takes them).</summary>
    public string? Cron { get; init; }

    /// <summary>Cron's <c>day_or</c>: day-of-month and day-of-week combine with OR (Prefect's default) or AND.</summary>
    public bool DayOr { get; init; } = true;

    /// <summary>An RFC 5545 recurrence rule, e.g. <c>FREQ=DAILY;BYHOUR=2</c>.</summary>
    public string? RRule { get; init; }

    /// <summary>
    /// An IANA time zone. Null takes Prefect's default for the kind: an interval schedule's is inferred from its
    /// anchor date (UTC here), an rrule's is "UTC", and a cron schedule keeps null.
    /// </summary>
    public string? Timezone { get; init; }

    /// <summary>The schedule's <c>active</c> flag (Prefect's default: true).</summary>
    public bool Active { get; init; } = true;

    public ScheduleKind Kind => Cron is not null ? ScheduleKind.Cron : RRule is not null ? ScheduleKind.RRule : ScheduleKind.Interval;

    /// <summary>Throws <see cref="ArgumentException"/> for what Prefect's schedule models would refuse.</summary>
    public void Validate()
    {
        if (Cron is not null && RRule is not null)
        {
            throw new ArgumentException("schedule takes one of intervalSeconds, cron and rrule.");
        }

        switch (Kind)
        {
            case ScheduleKind.Interval when Interval <= TimeSpan.Zero || FutureRuns < 0 || PastRuns < 0:
                throw new ArgumentException("schedule needs a positive interval and non-negative run counts.");
            case ScheduleKind.Cron:
                var fields = Cron!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // croniter takes 5 or 6 fields; Prefect refuses its random (R) and hashed (H) expressions.
                if (fields.Length is < 5 or > 6 || fields.Any(f => f.Equals("R", StringComparison.OrdinalIgnoreCase) || f.Equals("H", StringComparison.OrdinalIgnoreCase)))
                {
                    throw new ArgumentException($"Invalid cron string: \"{Cron}\"");
                }

                break;
            case ScheduleKind.RRule when !RRule!.Contains("FREQ=", StringComparison.OrdinalIgnoreCase):
                throw new ArgumentException($"Invalid RRule string \"{RRule}\": it needs a FREQ.");
        }

        if (Timezone is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(Timezone, out _))
        {
            throw new ArgumentException($"Invalid timezone: \"{Timezone}\" (specify in IANA tzdata format, for example, America/New_York)");
        }
    }
}
