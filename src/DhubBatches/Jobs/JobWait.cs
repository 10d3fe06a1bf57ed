using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Management.Automation;
using DhubBatches.Cmdlets;

namespace DhubBatches.Jobs;

/// <summary>
/// One -AsJob wait as the shared loop sees it: passive state (its <see cref="WaitState"/>, its schedule, the round it
/// is in) that <see cref="WaitScheduler"/> moves on from one round to the next. It has no thread and no timer of its
/// own; it runs only when the loop hands it its round's answers, and then does what one round of
/// <see cref="BatchWaiter"/> does, writing into its job. Every member is called under the scheduler's lock.
/// </summary>
internal sealed class JobWait
{
    private readonly WaitScheduler _scheduler;
    private readonly WaitState _state;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly long _interval;
    /// <summary>When -Timeout passes (Stopwatch ticks); long.MaxValue without one.</summary>
    private readonly long _deadline;
    private readonly List<RoundCall> _calls = new List<RoundCall>(1);
    private readonly List<RoundAnswer> _answers = new List<RoundAnswer>(1);
    private long _round;
    private int _awaiting;
    private int _roundsDone;
    /// <summary>The round it is due for (or in) is the last look after -Timeout.</summary>
    private bool _lastLook;
    private volatile bool _ended;

    public JobWait(WaitScheduler scheduler, DhubJob job, WaitRules rules, IReadOnlyList<Batch> batches)
    {
        _scheduler = scheduler;
        Job = job;
        _state = new WaitState(job, rules, batches);
        _interval = Ticks(rules.Interval);
        _deadline = rules.Timeout.HasValue ? _started + Ticks(rules.Timeout.Value) : long.MaxValue;
    }

    public DhubJob Job { get; }

    public JobLog Log => Job.Log;

    /// <summary>Read without the lock by a round's engine log, which then writes nothing more to the job.</summary>
    public bool IsEnded => _ended;

    public WaitPhase Phase { get; set; } = WaitPhase.Idle;

    /// <summary>When its next round is due (Stopwatch ticks), while <see cref="WaitPhase.Idle"/>.</summary>
    public long DueAt { get; private set; }

    /// <summary>When it gives up on the round it is in (Stopwatch ticks): its deadline, or the last look's budget.</summary>
    public long BudgetEnd { get; private set; } = long.MaxValue;

    /// <summary>The round it is in; 0 when none.</summary>
    public long Round => _round;

    /// <summary>Joins round <paramref name="round"/>: its unfinished batches go into that round's call for their connection.</summary>
    public void EnterRound(long round, long now, Func<DhubConnection, RoundCall> callFor)
    {
        _round = round;
        _calls.Clear();
        _answers.Clear();
        Phase = WaitPhase.InRound;
        // As in BatchWaiter: a round gets what is left of -Timeout, except a first round that starts with none left
        // (-Timeout 0), which reads in full; the last look gets its own short budget.
        BudgetEnd = _lastLook ? now + Ticks(WaitState.LastLookBudget)
            : _deadline > now || _roundsDone > 0 ? _deadline
            : long.MaxValue;
        foreach (var entry in _state.Pending)
        {
            var call = callFor(entry.Connection);
            call.Add(entry.Key, this);
            if (!_calls.Contains(call))
            {
                _calls.Add(call);
            }
        }
        _awaiting = _calls.Count;
        if (_awaiting == 0)
        {
            Process(now); // nothing left to read (cannot happen while batches are pending, but must not hang)
        }
    }

    /// <summary>One connection's answer to a round; the last one this wait waits for runs its round.</summary>
    public void Deliver(long round, RoundAnswer answer, long now)
    {
        if (_ended || round != _round || Phase != WaitPhase.InRound)
        {
            return; // an answer to a round it gave up on
        }
        _answers.Add(answer);
        if (--_awaiting <= 0)
        {
            Process(now);
        }
    }

    /// <summary>
    /// Its budget for the round passed with answers missing (-Timeout during a round, or a last look that got no
    /// answer in time): those batches keep their last known state, as a wait's round cut short by -Timeout does.
    /// </summary>
    public void GiveUp(long now)
    {
        if (_ended || Phase != WaitPhase.InRound)
        {
            return;
        }
        LeaveCalls();
        Process(now);
    }

    /// <summary>Stop-Job: no more rounds and no more writes; the bars it showed are closed.</summary>
    public void Stop()
    {
        if (_ended)
        {
            return;
        }
        if (Phase == WaitPhase.InRound)
        {
            LeaveCalls();
        }
        End();
    }

    /// <summary>The loop itself failed (<see cref="WaitScheduler"/> fails the job): nothing more is written.</summary>
    public void Abandon()
    {
        _ended = true;
        Phase = WaitPhase.Ended;
        _round = 0;
    }

    /// <summary>What one round of <see cref="BatchWaiter.Run"/> does after its refresh, then the next round's schedule.</summary>
    private void Process(long now)
    {
        _round = 0;
        _roundsDone++;
        try
        {
            _state.Apply(_answers);
            _answers.Clear();
            if (_lastLook)
            {
                if (!_state.EmitCompleted())
                {
                    _state.TimeOut();
                }
                End(JobState.Completed);
                return;
            }
            if (_state.EmitCompleted())
            {
                End(JobState.Completed);
                return;
            }
            _state.AfterRound(TimeSpan.FromSeconds((now - _started) / (double)Stopwatch.Frequency));

            // Paced from the answer, so waits with one interval that shared this round ask together for the next.
            var next = now + _interval;
            if (_deadline <= next)
            {
                next = Math.Max(now, _deadline);
                _lastLook = true;
            }
            Phase = WaitPhase.Idle;
            DueAt = next;
            BudgetEnd = long.MaxValue;
            _scheduler.Reschedule(next);
        }
        catch (Exception ex)
        {
            // A fault in the wait's own handling (not the server's: those are its errors and warnings) fails this job only.
            End(JobState.Failed, ex);
        }
    }

    private void LeaveCalls()
    {
        foreach (var call in _calls)
        {
            if (call.Leave())
            {
                _scheduler.CancelLater(call);
            }
        }
        _calls.Clear();
    }

    private void End(JobState state = JobState.Stopped, Exception? failure = null)
    {
        _ended = true;
        Phase = WaitPhase.Ended;
        _round = 0;
        try
        {
            _state.Finish();
        }
        catch (Exception ex) when (failure == null)
        {
            failure = ex;
            state = JobState.Failed;
        }
        _scheduler.Ended(this, state, failure);
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
