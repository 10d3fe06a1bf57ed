using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>
/// One refresher per connection for every -AsJob wait, so a hundred jobs waiting on one pipeline cost the server
/// what one Wait-DhubBatch on all of their batches costs. A round asked for while no round is gathering opens one;
/// it gathers until no job has asked for <see cref="GatherWindow"/> (jobs started in one loop all join), at most
/// <see cref="MaxGather"/>, and the union of the batches (each once) goes to the connection's refresher in one call.
/// Job waits pace their rounds from the answer (<see cref="BatchWaiter.PaceFromAnswer"/>), so jobs with the same
/// -PollingInterval stay in step after their first round.
/// </summary>
internal static class SharedRefreshers
{
    /// <summary>Long enough to catch jobs started in one loop, short against any polling interval (≥ 50 ms).</summary>
    internal static readonly TimeSpan GatherWindow = TimeSpan.FromMilliseconds(50);

    /// <summary>Jobs that keep arriving delay the round's start by no more than this.</summary>
    internal static readonly TimeSpan MaxGather = TimeSpan.FromSeconds(1);

    private static readonly ConditionalWeakTable<DhubConnection, GatheringRefresher> s_byConnection =
        new ConditionalWeakTable<DhubConnection, GatheringRefresher>();

    public static IBatchRefresher For(DhubConnection connection) =>
        s_byConnection.GetValue(connection, c => new GatheringRefresher(c));

    private sealed class GatheringRefresher : IBatchRefresher
    {
        private readonly DhubConnection _connection;
        private readonly object _gate = new object();
        // A refresher keeps per-batch state between rounds (Prefect's change tokens): one round at a time reads it.
        private readonly SemaphoreSlim _oneRound = new SemaphoreSlim(1, 1);
        private Round? _gathering;
        private IBatchEngine? _engine;
        private IBatchRefresher? _inner;

        public GatheringRefresher(DhubConnection connection) => _connection = connection;

        public Task<IReadOnlyList<RefreshResult>> RefreshAsync(IReadOnlyList<BatchKey> batches, CancellationToken cancellationToken)
        {
            Round round;
            bool opened = false;
            lock (_gate)
            {
                if (_gathering == null)
                {
                    _gathering = new Round();
                    opened = true;
                }
                round = _gathering;
                round.Participants++;
                round.LastJoin = Stopwatch.GetTimestamp();
            }
            if (opened)
            {
                _ = RunAsync(round);
            }
            return round.Join(batches, cancellationToken);
        }

        private async Task RunAsync(Round round)
        {
            var opened = Stopwatch.StartNew();
            var wait = GatherWindow;
            while (true)
            {
                await Task.Delay(wait).ConfigureAwait(false);
                lock (_gate)
                {
                    var quiet = TimeSpan.FromSeconds((Stopwatch.GetTimestamp() - round.LastJoin) / (double)Stopwatch.Frequency);
                    wait = GatherWindow - quiet;
                    if (wait <= TimeSpan.Zero || opened.Elapsed >= MaxGather)
                    {
                        _gathering = null;
                        break;
                    }
                }
            }
            IReadOnlyList<BatchKey> keys = round.Keys();
            try
            {
                await _oneRound.WaitAsync(round.Cancel.Token).ConfigureAwait(false);
                try
                {
                    round.Complete(await CurrentRefresher().RefreshAsync(keys, round.Cancel.Token).ConfigureAwait(false));
                }
                finally
                {
                    _oneRound.Release();
                }
            }
            catch (Exception ex)
            {
                round.Fail(ex);
            }
        }

        /// <summary>
        /// Connect-Dhub or Disconnect-Dhub closes the session's previous connection while its jobs still wait; the
        /// connection then makes a new engine on next use, and the jobs go on reading through that one.
        /// </summary>
        private IBatchRefresher CurrentRefresher()
        {
            var engine = _connection.Engine;
            if (!ReferenceEquals(engine, _engine) || _inner == null)
            {
                _inner = engine.CreateRefresher();
                _engine = engine;
            }
            return _inner;
        }
    }

    /// <summary>One shared call: the batches of every participant, and the answer each participant gets its part of.</summary>
    private sealed class Round
    {
        private readonly object _gate = new object();
        private readonly Dictionary<(string, string), BatchKey> _keys = new Dictionary<(string, string), BatchKey>();
        private readonly TaskCompletionSource<Dictionary<(string, string), RefreshResult>> _answer =
            new TaskCompletionSource<Dictionary<(string, string), RefreshResult>>(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _cancelled;

        public int Participants { get; set; }

        /// <summary>When the last participant joined (Stopwatch ticks); guarded by the refresher's gate.</summary>
        public long LastJoin { get; set; }

        // Never disposed: a late participant may still cancel it, and it holds no timer.
        /// <summary>Cancelled only when every participant has given up: one job's Stop-Job or deadline never cuts the others' round.</summary>
        public CancellationTokenSource Cancel { get; } = new CancellationTokenSource();

        public List<BatchKey> Keys()
        {
            lock (_gate)
            {
                return _keys.Values.ToList();
            }
        }

        public async Task<IReadOnlyList<RefreshResult>> Join(IReadOnlyList<BatchKey> batches, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                foreach (var key in batches)
                {
                    var id = (key.PipelineId, key.BatchId);
                    if (!_keys.ContainsKey(id))
                    {
                        _keys[id] = key;
                    }
                }
            }
            var gaveUp = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => gaveUp.TrySetResult(true)))
            {
                var first = await Task.WhenAny(_answer.Task, gaveUp.Task).ConfigureAwait(false);
                if (first != _answer.Task)
                {
                    if (Interlocked.Increment(ref _cancelled) >= Participants)
                    {
                        Cancel.Cancel();
                    }
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }
            var answer = await _answer.Task.ConfigureAwait(false);
            // Each participant gets results for its own BatchKey objects, as the refresher contract promises.
            var results = new List<RefreshResult>(batches.Count);
            foreach (var key in batches)
            {
                if (answer.TryGetValue((key.PipelineId, key.BatchId), out var result))
                {
                    results.Add(new RefreshResult(key, result.Snapshot, result.Error));
                }
            }
            return results;
        }

        public void Complete(IReadOnlyList<RefreshResult> results)
        {
            var byId = new Dictionary<(string, string), RefreshResult>();
            foreach (var result in results)
            {
                byId[(result.Key.PipelineId, result.Key.BatchId)] = result;
            }
            _answer.TrySetResult(byId);
        }

        public void Fail(Exception ex)
        {
            if (ex is OperationCanceledException)
            {
                _answer.TrySetCanceled();
            }
            else
            {
                _answer.TrySetException(ex);
            }
        }
    }
}
