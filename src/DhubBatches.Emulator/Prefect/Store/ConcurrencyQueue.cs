using System;
using System.Collections.Generic;
using System.Linq;
using DhubBatches.Emulator.Prefect.Runs;

namespace DhubBatches.Emulator.Prefect.Store;

/// <summary>
/// A deployment's concurrency limit (<c>SecureFlowConcurrencySlots</c>): runs take a slot when a worker claims them
/// and give it back on reaching a terminal state; a run that finds every slot taken waits and is tried again at
/// each worker poll (one step). When each run gets its slot follows from the others' timelines, so it is worked
/// out in creation order, from stored facts only, and recomputed when a member changes.
/// </summary>
internal sealed class ConcurrencyQueue
{
    private readonly List<StoredFlowRun> _members = new();
    private readonly Dictionary<Guid, DateTimeOffset?> _free = new();
    private int _computedFor = -1;

    public ConcurrencyQueue(int limit) => Limit = limit;

    public int Limit { get; }

    /// <summary>Changes whenever a member joins, leaves or gets an intervention.</summary>
    public int Version { get; private set; }

    public void Join(StoredFlowRun run)
    {
        _members.Add(run);
        run.Queue = this;
        Version++;
    }

    public void Leave(StoredFlowRun run)
    {
        if (_members.Remove(run))
        {
            Version++;
        }
    }

    public void Changed() => Version++;

    /// <summary>When a worker poll finds a slot for <paramref name="run"/>; null when none ever frees up.</summary>
    /// <param name="run">A member of this queue.</param>
    /// <param name="terminalAt">The first time a member is terminal once it got its slot at the given time (null: never).</param>
    public DateTimeOffset? SlotFree(StoredFlowRun run, Func<StoredFlowRun, DateTimeOffset, DateTimeOffset?> terminalAt)
    {
        if (_computedFor != Version)
        {
            Compute(terminalAt);
        }

        return _free.TryGetValue(run.Id, out var free) ? free : run.Created;
    }

    private void Compute(Func<StoredFlowRun, DateTimeOffset, DateTimeOffset?> terminalAt)
    {
        _free.Clear();
        var holders = new List<(DateTimeOffset Acquired, DateTimeOffset? Released)>();
        foreach (var run in _members)
        {
            var d = run.Step < ScriptWriter.MinimumStep ? ScriptWriter.MinimumStep : run.Step;
            var firstPoll = run.Created + d;
            var t = firstPoll;
            DateTimeOffset? acquired = null;
            while (true)
            {
                // A run cancelled (or otherwise changed) while it waited never takes a slot.
                if (run.Interventions.Any(i => i.At <= t))
                {
                    break;
                }

                var active = holders.Where(h => h.Acquired <= t && (h.Released is null || h.Released > t)).ToList();
                if (active.Count < Limit)
                {
                    acquired = t;
                    break;
                }

                var next = active.Where(h => h.Released is not null).Select(h => h.Released!.Value).DefaultIfEmpty().Min();
                if (next == default)
                {
                    break;
                }

                // The next worker poll at or after the slot is released.
                var polls = Math.Max(0, (long)Math.Ceiling((next - firstPoll).Ticks / (double)d.Ticks));
                t = firstPoll + (d * polls);
            }

            _free[run.Id] = acquired;
            if (acquired is { } at)
            {
                holders.Add((at, terminalAt(run, at)));
            }
        }

        _computedFor = Version;
    }
}
