using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>
/// The wait loop of Wait-DhubBatch and of -Wait on Start-, Stop- and Restart-DhubBatch. One loop for all batches: each
/// round asks every connection's engine once for all of its unfinished batches (the engine reads them in as few
/// requests as its API allows); <see cref="WaitState"/> outputs each batch as it completes and shows progress. Runs on
/// the pipeline thread. (-AsJob waits share one loop instead: <see cref="WaitScheduler"/>.)
/// </summary>
internal sealed class BatchWaiter
{
    private readonly ICommandStreams _host;
    private readonly CommandPump _pump;
    private readonly WaitRules _rules;
    private readonly Dictionary<DhubConnection, IBatchRefresher> _refreshers = new Dictionary<DhubConnection, IBatchRefresher>();

    public BatchWaiter(DhubCmdlet host, WaitRules rules)
    {
        _host = host;
        _pump = host.Pump;
        _rules = rules;
    }

    /// <summary>Waits for the batches, writing each as it completes; writes DhubWaitTimeout for the rest.</summary>
    public void Run(IReadOnlyList<Batch> batches)
    {
        var state = new WaitState(_host, _rules, batches);
        var timeout = _rules.Timeout;
        var clock = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                var roundStarted = clock.Elapsed;
                Refresh(state, timeout - clock.Elapsed);
                if (state.EmitCompleted())
                {
                    return;
                }
                state.AfterRound(clock.Elapsed);

                var untilNextRound = roundStarted + _rules.Interval - clock.Elapsed;
                if (timeout.HasValue)
                {
                    var left = timeout.Value - clock.Elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        LastLook(state);
                        return;
                    }
                    if (left < untilNextRound)
                    {
                        untilNextRound = left;
                    }
                }
                if (untilNextRound > TimeSpan.Zero)
                {
                    _pump.Run(token => Task.Delay(untilNextRound, token));
                }
                if (timeout.HasValue && clock.Elapsed >= timeout.Value)
                {
                    LastLook(state);
                    return;
                }
            }
        }
        finally
        {
            state.Finish();
        }
    }

    /// <summary>-Timeout has passed: read the unfinished batches once more, so one that finished meanwhile is not reported late.</summary>
    private void LastLook(WaitState state)
    {
        Refresh(state, WaitState.LastLookBudget);
        if (!state.EmitCompleted())
        {
            state.TimeOut();
        }
    }

    /// <summary>One round: every connection's unfinished batches at once; a round cut short by -Timeout keeps the last known states.</summary>
    private void Refresh(WaitState state, TimeSpan? budget)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_pump.StopToken);
        if (budget.HasValue && budget.Value > TimeSpan.Zero)
        {
            deadline.CancelAfter(budget.Value);
        }
        var calls = new List<(DhubConnection Connection, Task<IReadOnlyList<RefreshResult>> Task)>();
        foreach (var (connection, keys) in state.KeysByConnection())
        {
            var refresher = RefresherOf(connection);
            calls.Add((connection, _pump.Start(token => refresher.RefreshAsync(keys, token), deadline.Token)));
        }
        _pump.Run(_ => Settled(calls.Select(c => (Task)c.Task)));
        if (_pump.StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        state.Apply(calls.Select(c => RoundAnswer.Of(c.Connection, c.Task)).ToList());
    }

    private IBatchRefresher RefresherOf(DhubConnection connection)
    {
        if (!_refreshers.TryGetValue(connection, out var refresher))
        {
            refresher = connection.Engine.CreateRefresher();
            _refreshers[connection] = refresher;
        }
        return refresher;
    }

    /// <summary>Completes when every task has, whatever their outcome (each is inspected afterwards).</summary>
    private static async Task<bool> Settled(IEnumerable<Task> tasks)
    {
        foreach (var task in tasks)
        {
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // inspected by the caller through the task itself
            }
        }
        return true;
    }
}
