using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Cmdlets;
using DhubBatches.Contract;

namespace DhubBatches.Jobs;

/// <summary>
/// The one poll loop of every -AsJob wait in the process. Jobs own no thread: this loop keeps their schedule, runs one
/// shared round for all that are due (one call per connection, with the union of their batches, so a thousand jobs
/// on one pipeline cost the server what one Wait-DhubBatch on their batches costs), and hands each job its part of the
/// answer, in one pass on the thread the answer arrived on. It is driven by a single timer, armed for the earliest
/// moment anything is due: a round to open or close, or a wait's deadline.
/// </summary>
/// <remarks>
/// A round opens when the first wait is due; it takes every wait that comes due (or is started) while it gathers,
/// until none has for <see cref="GatherWindow"/> (jobs started in one loop all join), at most <see cref="MaxGather"/>.
/// Each wait paces its next round from its answer, so waits with one interval stay in step. Finding what is due scans
/// the waits (a few scans a round; a thousand waits scan in microseconds), which keeps the schedule simple to trust.
/// One lock guards all of it; job states change, and calls are cancelled, only after it is released, since both run
/// other code (Wait-Job's handlers, HTTP cancellation).
/// </remarks>
internal sealed class WaitScheduler
{
    /// <summary>Long enough to catch jobs started in one loop, short against any polling interval (≥ 50 ms).</summary>
    internal static readonly TimeSpan GatherWindow = TimeSpan.FromMilliseconds(50);

    /// <summary>Jobs that keep arriving delay the round's start by no more than this.</summary>
    internal static readonly TimeSpan MaxGather = TimeSpan.FromSeconds(1);

    /// <summary>A timer may fire a little early; what is due this soon counts as due, rather than arming it again for a few ticks.</summary>
    private static readonly long s_slack = Stopwatch.Frequency / 500;

    private readonly object _gate = new object();
    private readonly List<JobWait> _waits = new List<JobWait>();
    private readonly Timer _timer;
    private readonly List<(DhubJob Job, JobState State, Exception? Failure)> _toFinish = new List<(DhubJob, JobState, Exception?)>();
    private readonly List<RoundCall> _toCancel = new List<RoundCall>();
    private long _armedFor = long.MaxValue;
    private List<JobWait>? _gathering;
    private long _gatherOpened;
    private long _lastJoin;
    private long _rounds;

    private WaitScheduler()
    {
        // The timer must not carry the ambient state of whichever command made it (its engine log, above all).
        using (ExecutionContext.SuppressFlow())
        {
            _timer = new Timer(_ => OnTimer(), null, Timeout.Infinite, Timeout.Infinite);
        }
    }

    public static WaitScheduler Shared { get; } = new WaitScheduler();

    private static long Now => Stopwatch.GetTimestamp();

    /// <summary>
    /// -AsJob: <paramref name="job"/> waits for <paramref name="batches"/> by <paramref name="rules"/>; its first round
    /// joins the one gathering now. Returns at once.
    /// </summary>
    public void Start(DhubJob job, Guid runspace, WaitRules rules, IReadOnlyList<Batch> batches)
    {
        var wait = new JobWait(this, job, rules, batches);
        job.Start(runspace, () =>
        {
            Stop(wait);
            return Task.CompletedTask;
        });
        lock (_gate)
        {
            _waits.Add(wait);
            Join(wait, Now);
        }
    }

    /// <summary>Called by a wait (under the lock) that is due again at <paramref name="at"/>.</summary>
    internal void Reschedule(long at) => Arm(at);

    /// <summary>Called by a wait (under the lock) that ended: it leaves the schedule, and its job finishes once the lock is released.</summary>
    internal void Ended(JobWait wait, JobState state, Exception? failure)
    {
        _waits.Remove(wait);
        _gathering?.Remove(wait);
        if (state != JobState.Stopped)
        {
            _toFinish.Add((wait.Job, state, failure)); // Stop finishes its own job, before Stop-Job returns
        }
    }

    /// <summary>Called by a wait (under the lock) that was the last to leave a call: cancelled once the lock is released.</summary>
    internal void CancelLater(RoundCall call) => _toCancel.Add(call);

    /// <summary>Stop-Job: the wait ends at once, its job is Stopped when this returns, and its round goes on for the others.</summary>
    private void Stop(JobWait wait)
    {
        lock (_gate)
        {
            wait.Stop();
        }
        Flush(); // cancels its round's requests, if it was the last one waiting on them
        wait.Job.Finish(JobState.Stopped);
    }

    private void Join(JobWait wait, long askedAt)
    {
        wait.Phase = WaitPhase.Gathering;
        if (_gathering == null)
        {
            _gathering = new List<JobWait>();
            _gatherOpened = askedAt;
            _lastJoin = askedAt;
        }
        _gathering.Add(wait);
        _lastJoin = Math.Max(_lastJoin, askedAt);
        Arm(GatherCloses());
    }

    private long GatherCloses() =>
        Math.Min(_lastJoin + Ticks(GatherWindow), _gatherOpened + Ticks(MaxGather));

    private void OnTimer()
    {
        try
        {
            Dictionary<DhubConnection, RoundCall>? calls = null;
            lock (_gate)
            {
                _armedFor = long.MaxValue;
                var now = Now;
                var next = long.MaxValue;
                List<JobWait>? givingUp = null;
                foreach (var wait in _waits)
                {
                    if (wait.Phase == WaitPhase.Idle)
                    {
                        if (wait.DueAt - s_slack <= now)
                        {
                            Join(wait, Math.Min(wait.DueAt, now));
                        }
                        else
                        {
                            next = Math.Min(next, wait.DueAt);
                        }
                    }
                    else if (wait.Phase == WaitPhase.InRound)
                    {
                        if (wait.BudgetEnd - s_slack <= now)
                        {
                            (givingUp ??= new List<JobWait>()).Add(wait);
                        }
                        else
                        {
                            next = Math.Min(next, wait.BudgetEnd);
                        }
                    }
                }
                if (givingUp != null)
                {
                    foreach (var wait in givingUp)
                    {
                        wait.GiveUp(now); // may end it (leaving _waits), or reschedule it (arming the timer)
                    }
                }
                if (_gathering != null)
                {
                    var closes = GatherCloses();
                    if (closes - s_slack <= now)
                    {
                        calls = OpenRound(_gathering, now);
                        _gathering = null;
                    }
                    else
                    {
                        next = Math.Min(next, closes);
                    }
                }
                Arm(next);
            }
            if (calls != null)
            {
                foreach (var call in calls.Values)
                {
                    call.Start(Answered);
                }
            }
        }
        catch (Exception ex)
        {
            FailAll(ex);
        }
        Flush();
    }

    /// <summary>The gathered waits enter one round: one call per connection, each batch once.</summary>
    private Dictionary<DhubConnection, RoundCall> OpenRound(List<JobWait> participants, long now)
    {
        var round = ++_rounds;
        var calls = new Dictionary<DhubConnection, RoundCall>();
        RoundCall CallFor(DhubConnection connection)
        {
            if (!calls.TryGetValue(connection, out var call))
            {
                call = new RoundCall(connection, round);
                calls[connection] = call;
            }
            return call;
        }
        foreach (var wait in participants)
        {
            wait.EnterRound(round, now, CallFor);
            if (wait.BudgetEnd != long.MaxValue)
            {
                Arm(wait.BudgetEnd);
            }
        }
        return calls;
    }

    /// <summary>A call's outcome: every wait in it takes its part, in one pass, on this pool thread.</summary>
    private void Answered(RoundCall call, Task<IReadOnlyList<RefreshResult>> outcome)
    {
        try
        {
            var answer = RoundAnswer.Of(call.Connection, outcome); // one answer for all of them, built outside the lock
            lock (_gate)
            {
                var now = Now;
                foreach (var wait in call.Waits)
                {
                    wait.Deliver(call.Round, answer, now);
                }
            }
        }
        catch (Exception ex)
        {
            FailAll(ex);
        }
        Flush();
    }

    /// <summary>A fault in the loop itself would leave every wait hanging: each job fails with it instead.</summary>
    private void FailAll(Exception ex)
    {
        lock (_gate)
        {
            foreach (var wait in _waits.ToArray())
            {
                _toFinish.Add((wait.Job, JobState.Failed, ex));
                wait.Abandon();
            }
            _waits.Clear();
            _gathering = null;
        }
    }

    /// <summary>Job states and cancellations the lock held back, on the thread that released it.</summary>
    private void Flush()
    {
        (DhubJob Job, JobState State, Exception? Failure)[] finish;
        RoundCall[] cancel;
        lock (_gate)
        {
            if (_toFinish.Count == 0 && _toCancel.Count == 0)
            {
                return;
            }
            finish = _toFinish.ToArray();
            cancel = _toCancel.ToArray();
            _toFinish.Clear();
            _toCancel.Clear();
        }
        foreach (var call in cancel)
        {
            call.Cancel();
        }
        foreach (var (job, state, failure) in finish)
        {
            if (failure != null)
            {
                job.Fail(failure);
            }
            else
            {
                job.Finish(state);
            }
        }
    }

    /// <summary>Makes the timer fire by <paramref name="at"/> (Stopwatch ticks); under the lock.</summary>
    private void Arm(long at)
    {
        if (at == long.MaxValue || at >= _armedFor)
        {
            return;
        }
        _armedFor = at;
        var ms = Math.Max(0, (long)Math.Ceiling((at - Now) * 1000.0 / Stopwatch.Frequency));
        _timer.Change(ms, Timeout.Infinite);
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
